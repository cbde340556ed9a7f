//! Normalising the values of the key-only categories (SPEC section 2) into
//! the engine's [`Value`]s, so that the ways one plate, number or name is
//! written give one key; and [`csv`], their CSV files.
//!
//! The node (or any caller holding JSON strings) normalises one query with
//! [`vehicle_values`], [`phone_value`] or [`identity_value`], then asks the
//! index for the keys: `index.key(&value)?` and `index.search_any(&keys)`.
//!
//! The rules, and why:
//!
//! - **Plate** ([`plate`]): compatibility forms folded (NFKC: full-width
//!   letters), diacritics removed (Croatian `ČK` is `CK`: operators often
//!   cannot type them, and a false hit costs a demand, a miss a case),
//!   uppercase, Cyrillic and Greek letters that look like Latin ones and
//!   are used on plates for them (`А В Е К М Н О Р С Т У Х`, `Α Β Ε Ζ Η Ι Κ
//!   Μ Ν Ο Ρ Τ Υ Χ`) read as those, spaces, hyphens, dots and middle dots
//!   removed (`B-AB 123` = `BAB123`). What is left must be 1–15 letters A–Z
//!   and digits; anything else is an error rather than a key that can
//!   never hit. The plate carries no country: the index answers on the
//!   plate's text as an operator types it, and the rare equal plates of two
//!   countries are told apart by the information demand. A country code
//!   written into the plate (`D AB 123`) stays part of it.
//! - **VIN** ([`vin`]): uppercase, spaces and hyphens removed, exactly 17
//!   characters of ISO 3779's alphabet (no I, O or Q: an error, not a
//!   guess). The check digit (position 9, weights 8 7 6 5 4 3 2 10 · 9 8 7
//!   6 5 4 3 2, `X` for 10) is checked only for VINs of North America
//!   (world manufacturer code starting 1–5), where 49 CFR 565 requires it:
//!   European and most other makers put something else there, so checking
//!   all VINs would refuse real ones, while a North American VIN failing
//!   it is a typing error that would otherwise never hit.
//! - **Phone** ([`phone`]): parsed by the `phonenumber` crate (Google's
//!   libphonenumber metadata) with a default region for national numbers
//!   (`030 1234567` with region `DE`); `00` before the country code counts
//!   as `+` when no region is given. The number must be valid for its
//!   country; the key is its E.164 form (`+49301234567`), extensions left
//!   out.
//! - **Names** ([`name`]): compatibility decomposition (NFKD), combining
//!   marks removed (`José` = `Jose`, `Müller` = `Muller`), lowercase,
//!   letters without a decomposition spelled out (`ß` → `ss`, `æ` → `ae`,
//!   `œ` → `oe`, `ø` → `o`, `ł` → `l`, `đ`/`ð` → `d`, `þ` → `th`, dotless
//!   `ı` → `i`, final `ς` → `σ`), and spaces, hyphens, apostrophes, dots
//!   and commas removed (`Jean-Pierre` = `Jean Pierre`, `O'Brien` =
//!   `OBrien`). Any other character (a digit, `@`) is an error. Not
//!   equated: transliterations (`Mueller` ≠ `Müller`, `Иванов` ≠
//!   `Ivanov`), the order of given names, and a subset of them.
//! - **Date of birth** ([`date_of_birth`]): ISO 8601 `YYYY-MM-DD`, a real
//!   calendar date from 1850 to today; partial dates are refused.
//!
//! An identity's key covers family name, given names (may be empty) and
//! date of birth together; a vehicle has a key per plate and per VIN and
//! is found by either.

pub mod csv;

use hitdex_engine::keyed::{Field, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Why a value cannot be normalised: the field (its CSV column name) and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{column}: {problem}")]
pub struct KeyError {
    /// The field at fault, named as its CSV column (`plate`, `vin`,
    /// `number`, `region`, `family_name`, `given_names`, `date_of_birth`).
    pub column: &'static str,
    /// What is wrong.
    pub problem: String,
}

fn err<T>(column: &'static str, problem: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError { column, problem: problem.into() })
}

/// Separators removed from plates and VINs.
fn is_plate_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '·' | '‐' | '‑' | '‒' | '–' | '—' | '・')
}

/// The Latin letter a Cyrillic or Greek capital stands for on a plate.
fn latin_look_alike(c: char) -> char {
    match c {
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'Е' | 'Ε' => 'E',
        'Ζ' => 'Z',
        'Н' | 'Η' => 'H',
        'І' | 'Ι' => 'I',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'Ν' => 'N',
        'О' | 'Ο' => 'O',
        'Р' | 'Ρ' => 'P',
        'С' => 'C',
        'Т' | 'Τ' => 'T',
        'У' | 'Υ' => 'Y',
        'Х' | 'Χ' => 'X',
        _ => c,
    }
}

/// A registration plate in its canonical form (see the module
/// documentation): `b-ab 123` → `BAB123`.
///
/// # Errors
/// Empty, longer than 15 characters, or a character that is not a letter
/// A–Z or a digit after folding.
pub fn plate(text: &str) -> Result<String, KeyError> {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().collect::<String>().nfd() {
        if is_combining_mark(c) || is_plate_separator(c) {
            continue;
        }
        for u in c.to_uppercase() {
            let u = match latin_look_alike(u) {
                'Đ' => 'D',
                u => u,
            };
            if !u.is_ascii_alphanumeric() {
                return err("plate", format!("{c:?} cannot be on a registration plate (letters A-Z and digits)"));
            }
            out.push(u);
        }
    }
    match out.len() {
        0 => err("plate", "empty plate"),
        16.. => err("plate", format!("{} characters, more than a plate has (15)", out.len())),
        _ => Ok(out),
    }
}

/// ISO 3779 transliteration of a VIN character for the check digit.
fn vin_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'H' => u32::from(c - b'A') + 1,
        b'J'..=b'N' => u32::from(c - b'J') + 1,
        b'P' => 7,
        b'R' => 9,
        b'S'..=b'Z' => u32::from(c - b'S') + 2,
        _ => 0,
    }
}

/// The check digit a 17-character VIN should carry at position 9.
pub fn vin_check_digit(vin: &[u8; 17]) -> char {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum: u32 = vin.iter().zip(WEIGHTS).map(|(&c, w)| vin_value(c) * w).sum();
    match sum % 11 {
        10 => 'X',
        d => char::from(b'0' + d as u8),
    }
}

/// A vehicle identification number in its canonical form (see the module
/// documentation).
///
/// # Errors
/// Not 17 characters of ISO 3779's alphabet, or a North American VIN whose
/// check digit is wrong.
pub fn vin(text: &str) -> Result<String, KeyError> {
    let out: String = text.chars().filter(|&c| !is_plate_separator(c)).flat_map(char::to_uppercase).collect();
    if let Some(c) = out.chars().find(|c| matches!(c, 'I' | 'O' | 'Q')) {
        return err("vin", format!("a VIN never holds {c} (ISO 3779 leaves out I, O and Q; was it 1 or 0?)"));
    }
    if let Some(c) = out.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return err("vin", format!("{c:?} cannot be in a VIN (letters and digits only)"));
    }
    let Ok(bytes) = <[u8; 17]>::try_from(out.as_bytes()) else {
        return err("vin", format!("{} characters; a VIN has 17", out.chars().count()));
    };
    if matches!(bytes[0], b'1'..=b'5') {
        let expected = vin_check_digit(&bytes);
        if char::from(bytes[8]) != expected {
            return err(
                "vin",
                format!("check digit (9th character) is {}, expected {expected} for this North American VIN: a typing error?", char::from(bytes[8])),
            );
        }
    }
    Ok(out)
}

/// A telephone number in E.164 (`+49301234567`); `region` (ISO 3166
/// alpha-2, `DE`) is the country of a number written nationally.
///
/// # Errors
/// An unknown region, a national number without a region, text that is
/// not a phone number, or a number not valid for its country.
pub fn phone(text: &str, region: Option<&str>) -> Result<String, KeyError> {
    let region = match region.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            r.to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .or_else(|_| err("region", format!("{r:?} is not a region code (ISO 3166 alpha-2, as DE or FR)")))?,
        ),
    };
    let trimmed = text.trim();
    let owned;
    let text = match trimmed.strip_prefix("00") {
        Some(rest) if region.is_none() => {
            owned = format!("+{rest}");
            owned.as_str()
        }
        _ => trimmed,
    };
    if region.is_none() && !text.contains(['+', '＋']) {
        return err("number", "a number without a country code (+49, 0049) needs a region (the region column or --region)");
    }
    let number = match phonenumber::parse(region, text) {
        Ok(n) => n,
        Err(e) => return err("number", format!("not a phone number: {e}")),
    };
    if !phonenumber::is_valid(&number) {
        return err("number", format!("not a valid number of country code +{}", number.code().value()));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Characters that separate the parts of a name and are dropped.
fn is_name_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | '\'' | '’' | '‘' | 'ʼ' | 'ʻ' | '`' | '´' | '.' | ',' | '‐' | '‑' | '‒' | '–' | '—' | '·')
}

/// A name (family name or given names) in its canonical form (see the
/// module documentation): `Müller-Lüdenscheidt` → `mullerludenscheidt`.
/// May be empty (a person without given names).
///
/// # Errors
/// A character that is neither a letter nor a separator.
pub fn name(text: &str, column: &'static str) -> Result<String, KeyError> {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if is_combining_mark(c) || is_name_separator(c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' | 'ð' => out.push('d'),
                'ı' => out.push('i'),
                'ς' => out.push('σ'),
                l if l.is_alphabetic() => out.push(l),
                _ => return err(column, format!("{c:?} cannot be in a name (letters, spaces, hyphens, apostrophes)")),
            }
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A date of birth, checked: `YYYY-MM-DD`, a real date from 1850-01-01 to
/// today (a day ahead allowed, for time zones).
///
/// # Errors
/// Another form, an impossible date, or one outside that range.
pub fn date_of_birth(text: &str) -> Result<String, KeyError> {
    use crate::date::{calendar_date, DateProblem};
    let t = text.trim();
    let (y, m, d) = match calendar_date(t) {
        Ok((y, m, d)) => (i64::from(y), m, d),
        Err(DateProblem::Shape) => return err("date_of_birth", format!("{t:?} is not a date as YYYY-MM-DD (ISO 8601)")),
        Err(DateProblem::Month(m)) => return err("date_of_birth", format!("{t}: no month {m}")),
        Err(DateProblem::Day(d)) => return err("date_of_birth", format!("{t}: no day {d} in that month")),
    };
    let today = (hitdex_engine::index::now() / 86_400) as i64;
    let days = days_from_civil(y, m, d);
    if y < 1850 || days > today + 1 {
        return err("date_of_birth", format!("{t} is not a possible date of birth (1850 to today)"));
    }
    Ok(t.to_string())
}

/// The values a vehicle is found by: its plate's and its VIN's (at least
/// one must be given; empty strings count as not given).
///
/// # Errors
/// Neither given, or one that cannot be normalised.
pub fn vehicle_values(plate_text: Option<&str>, vin_text: Option<&str>) -> Result<Vec<Value>, KeyError> {
    fn given(t: Option<&str>) -> Option<&str> {
        t.map(str::trim).filter(|t| !t.is_empty())
    }
    let mut values = Vec::with_capacity(2);
    if let Some(p) = given(plate_text) {
        values.push(Value { field: Field::Plate, text: plate(p)? });
    }
    if let Some(v) = given(vin_text) {
        values.push(Value { field: Field::Vin, text: vin(v)? });
    }
    if values.is_empty() {
        return err("plate", "a vehicle needs a plate or a VIN");
    }
    Ok(values)
}

/// The value of a telephone number (see [`phone`]).
///
/// # Errors
/// As [`phone`].
pub fn phone_value(number: &str, region: Option<&str>) -> Result<Value, KeyError> {
    Ok(Value { field: Field::Phone, text: phone(number, region)? })
}

/// The value of a person: family name, given names and date of birth
/// together (see [`name`] and [`date_of_birth`]).
///
/// # Errors
/// An empty family name, or a part that cannot be normalised.
pub fn identity_value(family_name: &str, given_names: &str, date: &str) -> Result<Value, KeyError> {
    let family = name(family_name, "family_name")?;
    if family.is_empty() {
        return err("family_name", "empty family name");
    }
    let given = name(given_names, "given_names")?;
    let date = date_of_birth(date)?;
    // Names keep letters only, so `|` cannot be in them: the parts cannot
    // shift into one another.
    Ok(Value { field: Field::Identity, text: format!("{family}|{given}|{date}") })
}

#[cfg(test)]
mod tests;
