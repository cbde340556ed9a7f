//! Synthetic records of the key-only categories (vehicle, phone, identity)
//! behind `hitdex generate vehicle|phone|identity`, and query sets whose
//! hits are written differently from the records, so that searching them
//! exercises the normalisation as well as the index.
//!
//! - **vehicle**: German-style plates (`B-AB 123`); 60 % also have a VIN,
//!   half European (no check digit), half North American (with one); a
//!   few have a VIN only.
//! - **phone**: German, French and Dutch mobile numbers written nationally
//!   with a `region` column; every one valid by libphonenumber's metadata.
//! - **identity**: family and given names of several European languages,
//!   with diacritics, and dates of birth from 1940 to 2005. The space is
//!   small enough that large sets hold the same person twice, as real
//!   registers do.
//!
//! Queries: half are records written another way (plates in lower case
//! without hyphens, VINs spaced, numbers in international form, names in
//! capitals with hyphens for spaces), half are new values (mostly no hit).
//! Record `i` depends on the seed and `i` only (its own ChaCha8 stream).

use std::io::{self, Write};

use hitdex_engine::index::container::Category;
use hitdex_formats::keyed::{self, csv::cell};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
const DISTRICTS: [&str; 16] = ["B", "M", "HH", "K", "F", "S", "D", "HB", "DO", "E", "L", "DD", "H", "N", "KA", "MZ"];
const FAMILY: [&str; 24] = [
    "Müller", "Schmidt", "Schäfer", "Weiß", "García", "Fernández", "Nowak", "Kowalczyk", "Łukasiewicz", "Dubois", "Lefèvre",
    "O'Brien", "Jensen", "Sørensen", "Rossi", "Esposito", "De Vries", "van der Berg", "Novák", "Dvořák", "Horváth", "Nagy",
    "Papadopoulos", "Öztürk",
];
const GIVEN: [&str; 24] = [
    "Hans", "Peter", "José", "María", "Anna", "Zoë", "Łucja", "François", "Jean-Pierre", "Søren", "Giulia", "Marco", "Jiří",
    "Zoltán", "Ayşe", "Mehmet", "Sophie", "Thomas", "Eva", "Lars", "Ingrid", "Renée", "Dániel", "Ana",
];

/// The random stream of record `i` (queries use streams above 2^63).
fn stream(seed: u64, i: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i);
    rng
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &[&'a str]) -> &'a str {
    from[rng.gen_range(0..from.len())]
}

fn letters(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n).map(|_| char::from(LETTERS[rng.gen_range(0..LETTERS.len())])).collect()
}

fn vin(rng: &mut ChaCha8Rng) -> String {
    let chars: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
    let european = rng.gen_bool(0.5);
    let mut any = |n: usize| -> String { (0..n).map(|_| char::from(chars[rng.gen_range(0..chars.len())])).collect() };
    if european {
        format!("WVWZZZ{}", any(11))
    } else {
        let mut v: [u8; 17] = format!("1G1{}0{}", any(5), any(8)).into_bytes().try_into().expect("17 characters");
        v[8] = keyed::vin_check_digit(&v) as u8;
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// A valid mobile number of DE, FR or NL, written nationally, and its region.
fn phone(rng: &mut ChaCha8Rng) -> (String, &'static str) {
    loop {
        let (number, region) = match rng.gen_range(0..3) {
            0 => (format!("015{} {:08}", rng.gen_range(1..=2), rng.gen_range(0..100_000_000u32)), "DE"),
            1 => (format!("06 {:02} {:02} {:02} {:02}", rng.gen_range(0..100), rng.gen_range(0..100), rng.gen_range(0..100), rng.gen_range(0..100)), "FR"),
            _ => (format!("06-{:08}", rng.gen_range(10_000_000..100_000_000u32)), "NL"),
        };
        if keyed::phone(&number, Some(region)).is_ok() {
            return (number, region);
        }
    }
}

/// The category's value cells of record stream `rng` (as the CSV writes
/// them after `reference,authority,kind`), and a differently written form
/// of the same values for a query.
fn values(category: Category, rng: &mut ChaCha8Rng) -> (Vec<String>, Vec<String>) {
    match category {
        Category::Vehicle => {
            let n = rng.gen_range(1..=2);
            let plate = format!("{}-{} {}", pick(rng, &DISTRICTS), letters(rng, n), rng.gen_range(1..10_000));
            let vin = if rng.gen_bool(0.6) { vin(rng) } else { String::new() };
            let plate = if !vin.is_empty() && rng.gen_bool(0.1) { String::new() } else { plate };
            let spaced_vin = if vin.len() == 17 { format!("{} {} {}", &vin[..3], &vin[3..9], &vin[9..]).to_lowercase() } else { String::new() };
            let query = if rng.gen_bool(0.5) && !spaced_vin.is_empty() { vec![String::new(), spaced_vin] } else { vec![plate.replace('-', " ").to_lowercase(), String::new()] };
            let query = if query.iter().all(String::is_empty) { vec![String::new(), vin.clone()] } else { query };
            (vec![plate, vin], query)
        }
        Category::Phone => {
            let (number, region) = phone(rng);
            let international = keyed::phone(&number, Some(region)).unwrap_or_default();
            let spaced = format!("{} {}", &international[..3], &international[3..]);
            (vec![number, region.into()], vec![spaced, String::new()])
        }
        _ => {
            let family = pick(rng, &FAMILY);
            let given = if rng.gen_bool(0.3) { format!("{} {}", pick(rng, &GIVEN), pick(rng, &GIVEN)) } else { pick(rng, &GIVEN).to_string() };
            let day: i64 = rng.gen_range(0..66 * 365);
            let date = civil(day - 30 * 365 + 1);
            let query = vec![family.to_uppercase(), given.to_uppercase().replace(' ', "-"), date.clone()];
            (vec![family.to_string(), given, date], query)
        }
    }
}

/// The date `days` after 1970-01-01 as `YYYY-MM-DD` (Howard Hinnant's algorithm).
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn row(w: &mut impl Write, first: [&str; 3], values: &[String]) -> io::Result<()> {
    write!(w, "{},{},{}", cell(first[0]), cell(first[1]), first[2])?;
    for v in values {
        write!(w, ",{}", cell(v))?;
    }
    writeln!(w)
}

/// Writes `n` records of `category` as CSV (header first).
///
/// # Errors
/// I/O errors of `w`.
pub fn write_records(w: &mut impl Write, category: Category, n: usize, seed: u64) -> io::Result<()> {
    writeln!(w, "{}", keyed::csv::header(category))?;
    let authorities = match category {
        Category::Vehicle => ["DE-KBA", "DE-BKA"],
        Category::Phone => ["DE-BKA", "DE-LKA-NW"],
        _ => ["DE-BKA", "DE-LKA-BY"],
    };
    for i in 0..n {
        let mut rng = stream(seed, i as u64);
        let (values, _) = values(category, &mut rng);
        let kind = if rng.gen_bool(0.2) { "trace" } else { "person" };
        let authority = authorities[usize::from(rng.gen_bool(0.3))];
        row(w, [&format!("{}{i:09}", &category.name()[..1].to_uppercase()), authority, kind], &values)?;
    }
    Ok(())
}

/// Writes `m` queries for a set of `records` records made with `seed`:
/// half of them records written another way, half new values.
///
/// # Errors
/// I/O errors of `w`.
pub fn write_queries(w: &mut impl Write, category: Category, records: usize, m: usize, seed: u64) -> io::Result<()> {
    writeln!(w, "{}", keyed::csv::header(category))?;
    let mut pick = stream(seed, u64::MAX);
    for j in 0..m {
        let known = records > 0 && pick.gen_bool(0.5);
        let i = if known { pick.gen_range(0..records) as u64 } else { (1 << 63) + j as u64 };
        let (_, query) = values(category, &mut stream(seed, i));
        row(w, [&format!("Q{j:08}"), "", ""], &query)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hitdex_formats::keyed::csv::read_bytes;
    use hitdex_formats::Mode;

    use super::*;

    #[test]
    fn records_and_queries_read_back_and_known_queries_equal_their_record() {
        for category in [Category::Vehicle, Category::Phone, Category::Identity] {
            let (mut db, mut q) = (Vec::new(), Vec::new());
            write_records(&mut db, category, 300, 7).unwrap();
            write_queries(&mut q, category, 300, 200, 7).unwrap();
            let records = read_bytes(&db, Path::new("db"), category, Mode::Store, None).unwrap();
            let queries = read_bytes(&q, Path::new("q"), category, Mode::Query, None).unwrap();
            assert_eq!((records.len(), queries.len()), (300, 200));
            let stored: std::collections::HashSet<_> = records.iter().flat_map(|r| r.values.clone()).collect();
            let hits = queries.iter().filter(|q| q.values.iter().any(|v| stored.contains(v))).count();
            assert!((60..=160).contains(&hits), "{}: {hits} of 200 queries hit", category.name());
            let mut again = Vec::new();
            write_records(&mut again, category, 300, 7).unwrap();
            assert_eq!(db, again, "same seed, same file");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(-1), "1969-12-31");
        assert_eq!(civil(11_016), "2000-02-29");
    }
}
