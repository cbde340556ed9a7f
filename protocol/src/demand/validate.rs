//! Field-by-field checks of the demand messages, before anything is stored.
//!
//! Serde already refuses what is not the message's shape (a missing field, an
//! unknown field or category). What passes serde is checked here: required
//! text present, sizes bounded so one demand cannot fill the database,
//! no control characters where a line is expected, and the shapes of a
//! country code, a telephone number, an e-mail address and a date. Every
//! fault is reported, each naming its field as a path into the message
//! (`requesting_authority.email`, `offences[2]`), so a form can show them all
//! at once.

use std::fmt;

use crate::message::demand::{
    AuthorisationDecision, AuthorisationSubmission, DemandFilter, DemandForm, DemandReply,
};

use super::MAX_LIST_LIMIT;

// Sizes in bytes of UTF-8. Generous for what the fields hold, small enough
// that a demand stays a few hundred kilobytes at worst.
const ID_BYTES: usize = 100;
const NAME_BYTES: usize = 200;
const ADDRESS_BYTES: usize = 500;
const REFERENCE_BYTES: usize = 200;
const PURPOSE_BYTES: usize = 2000;
const EXPLANATION_BYTES: usize = 4000;
const CONDITION_BYTES: usize = 2000;
const ATTACHMENT_REFERENCE_BYTES: usize = 1000;
const ANSWER_TEXT_BYTES: usize = 64 * 1024;
const EMAIL_BYTES: usize = 254;
const MAX_OFFENCES: usize = 50;
const MAX_PERSONS: usize = 50;
const MAX_CONDITIONS: usize = 20;

/// One field that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Its path in the message: `purpose`, `requesting_authority.email`,
    /// `persons_concerned[1].date_of_birth`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Every field of a message that is not acceptable, in message order; never
/// empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput(pub Vec<FieldError>);

impl InvalidInput {
    /// The faulty fields' paths.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", e.field, e.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidInput {}

/// Checks a demand form.
///
/// # Errors
///
/// Every field that is empty where required, too long, contains control
/// characters where one line is expected, or has the wrong shape.
pub fn validate_form(form: &DemandForm) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    c.line("case_reference", &form.case_reference, REFERENCE_BYTES);
    if let Some(hit) = &form.hit {
        c.line("hit.reference", &hit.reference, REFERENCE_BYTES);
    }
    if form.data_categories.is_empty() {
        c.fail("data_categories", "is empty: name at least one category");
    }
    for (i, category) in form.data_categories.iter().enumerate() {
        if form.data_categories[..i].contains(category) {
            c.fail(format!("data_categories[{i}]"), format!("repeats {category}"));
        }
    }
    let a = &form.requesting_authority;
    c.line("requesting_authority.name", &a.name, NAME_BYTES);
    c.text("requesting_authority.address", &a.address, ADDRESS_BYTES);
    c.country("requesting_authority.country", &a.country);
    c.shaped("requesting_authority.phone", &a.phone, phone_problem);
    c.shaped("requesting_authority.email", &a.email, email_problem);
    c.line("designated_authority", &form.designated_authority, ID_BYTES);
    if form.offences.is_empty() {
        c.fail("offences", "is empty: name at least one offence");
    } else if form.offences.len() > MAX_OFFENCES {
        c.fail("offences", format!("lists {}, at most {MAX_OFFENCES} are accepted", form.offences.len()));
    }
    for (i, offence) in form.offences.iter().enumerate().take(MAX_OFFENCES) {
        c.line(&format!("offences[{i}]"), offence, NAME_BYTES);
    }
    c.text("purpose", &form.purpose, PURPOSE_BYTES);
    if form.persons_concerned.len() > MAX_PERSONS {
        c.fail(
            "persons_concerned",
            format!("lists {}, at most {MAX_PERSONS} are accepted", form.persons_concerned.len()),
        );
    }
    for (i, p) in form.persons_concerned.iter().enumerate().take(MAX_PERSONS) {
        c.line(&format!("persons_concerned[{i}].family_name"), &p.family_name, NAME_BYTES);
        c.opt_line(&format!("persons_concerned[{i}].given_names"), p.given_names.as_deref(), NAME_BYTES);
        if let Some(date) = &p.date_of_birth {
            c.shaped(&format!("persons_concerned[{i}].date_of_birth"), date, date_problem);
        }
    }
    c.finish()
}

/// Checks a designated authority's reply.
///
/// # Errors
///
/// Every faulty field; released data must give its text, its attachment
/// reference, or both.
pub fn validate_reply(reply: &DemandReply) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    match reply {
        DemandReply::Data { data, conditions, released_for_evidence: _ } => {
            if data.text.is_none() && data.attachment_reference.is_none() {
                c.fail("data", "gives neither text nor attachment_reference");
            }
            c.opt_text("data.text", data.text.as_deref(), ANSWER_TEXT_BYTES);
            c.opt_line(
                "data.attachment_reference",
                data.attachment_reference.as_deref(),
                ATTACHMENT_REFERENCE_BYTES,
            );
            if conditions.len() > MAX_CONDITIONS {
                c.fail(
                    "conditions",
                    format!("lists {}, at most {MAX_CONDITIONS} are accepted", conditions.len()),
                );
            }
            for (i, cond) in conditions.iter().enumerate().take(MAX_CONDITIONS) {
                c.text(&format!("conditions[{i}].condition"), &cond.condition, CONDITION_BYTES);
            }
        }
        DemandReply::Refusal { ground: _, explanation } => {
            c.opt_text("explanation", explanation.as_deref(), EXPLANATION_BYTES);
        }
        DemandReply::Forward { competent_authority, note } => {
            c.line("competent_authority", competent_authority, NAME_BYTES);
            c.opt_text("note", note.as_deref(), EXPLANATION_BYTES);
        }
    }
    c.finish()
}

/// Checks a submission for authorisation.
///
/// # Errors
///
/// An empty, too long or multi-line `authorising_body`.
pub fn validate_submission(submission: &AuthorisationSubmission) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    c.line("authorising_body", &submission.authorising_body, NAME_BYTES);
    c.finish()
}

/// Checks an authorising body's decision.
///
/// # Errors
///
/// A faulty `reference` or `explanation`.
pub fn validate_decision(decision: &AuthorisationDecision) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    match decision {
        AuthorisationDecision::Granted { reference } => {
            c.opt_line("reference", reference.as_deref(), REFERENCE_BYTES);
        }
        AuthorisationDecision::Denied { ground: _, explanation } => {
            c.opt_text("explanation", explanation.as_deref(), EXPLANATION_BYTES);
        }
    }
    c.finish()
}

/// Checks a list filter.
///
/// # Errors
///
/// A `limit` outside 1 to 1,000, a time range that ends before it starts, a
/// country that is not an alpha-2 code, or faulty text.
pub fn validate_filter(filter: &DemandFilter) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    c.opt_line("designated_authority", filter.designated_authority.as_deref(), ID_BYTES);
    c.opt_line("requesting_authority", filter.requesting_authority.as_deref(), NAME_BYTES);
    if let Some(country) = &filter.requesting_country {
        c.country("requesting_country", country);
    }
    c.opt_line("received_from", filter.received_from.as_deref(), NAME_BYTES);
    if let (Some(since), Some(until)) = (filter.received_since_ms, filter.received_until_ms) {
        if until < since {
            c.fail("received_until_ms", "is before received_since_ms");
        }
    }
    if let Some(limit) = filter.limit {
        if limit == 0 || limit > MAX_LIST_LIMIT {
            c.fail("limit", format!("is {limit}, it must be 1 to {MAX_LIST_LIMIT}"));
        }
    }
    c.finish()
}

/// Checks the name of whoever acts on a demand (`actor`, `received_from`).
///
/// # Errors
///
/// An empty, too long or multi-line name, reported under `field`.
pub fn validate_actor(field: &str, actor: &str) -> Result<(), InvalidInput> {
    let mut c = Checker::default();
    c.line(field, actor, NAME_BYTES);
    c.finish()
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), problem: problem.into() });
    }

    /// Required, one line.
    fn line(&mut self, field: &str, value: &str, max: usize) {
        if let Some(problem) = text_problem(value, max, false) {
            self.fail(field, problem);
        }
    }

    /// Required, may hold line breaks and tabs.
    fn text(&mut self, field: &str, value: &str, max: usize) {
        if let Some(problem) = text_problem(value, max, true) {
            self.fail(field, problem);
        }
    }

    // An optional field that is given must still say something: an empty
    // string where "unknown" was meant would read as a value.
    fn opt_line(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.line(field, v, max);
        }
    }

    fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    fn country(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.fail(field, "is empty");
        } else if !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())) {
            self.fail(field, "is not an ISO 3166-1 alpha-2 code (two capital letters, such as FR)");
        }
    }

    /// Required, and of the shape `problem` checks.
    fn shaped(&mut self, field: &str, value: &str, problem: fn(&str) -> Option<&'static str>) {
        if value.trim().is_empty() {
            self.fail(field, "is empty");
        } else if let Some(p) = problem(value) {
            self.fail(field, p);
        }
    }

    fn finish(self) -> Result<(), InvalidInput> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidInput(self.errors))
        }
    }
}

fn text_problem(value: &str, max: usize, multiline: bool) -> Option<String> {
    if value.trim().is_empty() {
        return Some("is empty".into());
    }
    if value.len() > max {
        return Some(format!("is {} bytes long, at most {max} are accepted", value.len()));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if let Some(bad) = value.chars().find(|&c| c.is_control() && !allowed(c)) {
        let what = if multiline { "a control character" } else { "a line break or control character" };
        return Some(format!("contains {what} (U+{:04X})", u32::from(bad)));
    }
    None
}

/// `local@domain.tld`: one `@`, no spaces, a domain of at least two labels of
/// letters, digits and inner hyphens. The address is not looked up.
fn email_problem(s: &str) -> Option<&'static str> {
    if s.len() > EMAIL_BYTES {
        return Some("is longer than 254 bytes");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("is not an e-mail address: it contains a space or control character");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Some("is not an e-mail address: it has no @");
    };
    if domain.contains('@') {
        return Some("is not an e-mail address: it has more than one @");
    }
    if local.is_empty() || local.len() > 64 {
        return Some("is not an e-mail address: the part before @ must be 1 to 64 bytes");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Some("is not an e-mail address: the domain must be like example.org");
    }
    None
}

/// International form: `+`, then 7 to 15 digits (E.164) that may be grouped
/// by spaces, hyphens, dots or parentheses.
fn phone_problem(s: &str) -> Option<&'static str> {
    let Some(rest) = s.strip_prefix('+') else {
        return Some("is not an international telephone number: it must start with + and the country code");
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
        return Some("is not a telephone number: only digits, spaces, - . ( ) may follow the +");
    }
    let digits: Vec<char> = rest.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) {
        return Some("is not a telephone number: it must have 7 to 15 digits");
    }
    if digits.first() == Some(&'0') {
        return Some("is not an international telephone number: a country code never starts with 0");
    }
    None
}

/// `YYYY-MM-DD`, a date that exists (29 February only in leap years), from
/// year 1800.
fn date_problem(s: &str) -> Option<&'static str> {
    use hitdex_formats::date::{calendar_date, DateProblem};
    match calendar_date(s) {
        Err(DateProblem::Shape) => Some("is not a date of the form YYYY-MM-DD"),
        Err(DateProblem::Month(_)) => Some("is not a date: the month must be 01 to 12"),
        Err(DateProblem::Day(_)) => Some("is not a date: that month has no such day"),
        Ok((year, _, _)) if year < 1800 => Some("is not a plausible date of birth: the year is before 1800"),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for ok in ["a@b.fr", "first.last+tag@police.example.org", "x@bka.de", "ab@xn--bcher-kva.de"] {
            assert_eq!(email_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "no-at.example.org",
            "a@@b.fr",
            "a@b@c.fr",
            "@b.fr",
            "a@b",
            "a@.fr",
            "a@b..fr",
            "a b@c.fr",
            "a@-b.fr",
            "a@b-.fr",
            "a@b.fr\n",
        ] {
            assert!(email_problem(bad).is_some(), "{bad:?}");
        }
        assert!(email_problem("a@b@c.fr").is_some_and(|p| p.contains("more than one @")));
        assert!(email_problem("pj.example.org").is_some_and(|p| p.contains("no @")));
        let long_local = format!("{}@b.fr", "a".repeat(65));
        assert!(email_problem(&long_local).is_some());
    }

    #[test]
    fn phone_shapes() {
        for ok in ["+33 1 23 45 67 89", "+4930123456", "+44 (20) 7946-0958", "+1.202.555.0143"] {
            assert_eq!(phone_problem(ok), None, "{ok}");
        }
        for bad in ["0123456789", "+33 1 23 AB", "+123", "+1234567890123456", "+0 123 456 789", "+"] {
            assert!(phone_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn date_shapes() {
        for ok in ["1980-01-31", "2000-02-29", "2024-02-29", "1999-12-31"] {
            assert_eq!(date_problem(ok), None, "{ok}");
        }
        for bad in [
            "1980-1-31",
            "31/01/1980",
            "1980-13-01",
            "1980-00-10",
            "1980-04-31",
            "1900-02-29",
            "2023-02-29",
            "1980-01-00",
            "1700-01-01",
            "1980-01-3x",
            "+980-01-31",
            "１９８０-01-31",
        ] {
            assert!(date_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn text_sizes_are_bytes_and_the_limit_itself_passes() {
        assert_eq!(text_problem(&"x".repeat(10), 10, false), None);
        assert!(text_problem(&"x".repeat(11), 10, false).is_some_and(|p| p.contains("11 bytes")));
        // Five two-byte characters are ten bytes.
        assert_eq!(text_problem(&"é".repeat(5), 10, false), None);
        assert!(text_problem(&"é".repeat(6), 10, false).is_some());
    }

    #[test]
    fn line_breaks_only_where_text_may_span_lines() {
        assert!(text_problem("a\nb", 100, false).is_some_and(|p| p.contains("U+000A")));
        assert_eq!(text_problem("a\r\n\tb", 100, true), None);
        assert!(text_problem("a\u{0}b", 100, true).is_some_and(|p| p.contains("U+0000")));
        assert!(text_problem(" \n\t ", 100, true).is_some_and(|p| p == "is empty"));
    }
}
