//! Request bodies to engine queries: the parsers of what partner
//! countries send, kept apart from the HTTP service so that they can be
//! fuzzed on their own (`fuzz/fuzz_targets/node_requests.rs`).
//!
//! JSON is parsed with simd-json into the [`message`](crate::message)
//! types; genotypes follow the DNA CSV's rules exactly
//! ([`hitdex_formats::dna_csv::genotype`]).

use hitdex_engine::dna::{Locus, MatchParams, Profile};

use hitdex_engine::keyed::Value;

use crate::message::{DnaBatchHeader, DnaQuery, DnaSearch, KeyQuery, KeySearch};

/// A DNA search, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct DnaRequest {
    /// Why it is made.
    pub purpose: String,
    /// The requester's case reference.
    pub case_reference: String,
    /// The query profiles; each one's reference is the query's name.
    pub profiles: Vec<Profile>,
    /// The matching parameters.
    pub params: MatchParams,
}

/// Why a request body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON, or not the message's shape (unknown field, wrong type).
    #[error("{0}")]
    Json(String),
    /// Well-formed, but a query cannot be searched (unknown locus, bad allele).
    #[error("{0}")]
    Query(String),
    /// A required field is missing or too long.
    #[error("{0}")]
    Field(String),
    /// More queries than one request may carry.
    #[error("{found} queries; at most {limit} in one request")]
    TooMany {
        /// Queries found (or the first count over the limit).
        found: usize,
        /// The limit.
        limit: usize,
    },
}

impl RequestError {
    /// The stable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Json(_) => "invalid_json",
            RequestError::Query(_) => "invalid_query",
            RequestError::Field(_) => "invalid_field",
            RequestError::TooMany { .. } => "too_many_queries",
        }
    }
}

/// A key-only search, ready for the engine (which keys the values with its
/// index's secret).
#[derive(Debug, Clone)]
pub struct KeyRequest {
    /// Why it is made.
    pub purpose: String,
    /// The requester's case reference.
    pub case_reference: String,
    /// The queries' names.
    pub names: Vec<String>,
    /// Each query's normalised values (a vehicle may give plate and VIN).
    pub values: Vec<Vec<Value>>,
}

/// The body of `POST /v1/search/{category}` for a key-only `category`
/// (`vehicle`, `phone`, `identity`): at most `max_queries` queries, each
/// with the fields of that category only.
///
/// # Errors
/// [`RequestError`] naming the query and field at fault.
pub fn key_search(body: &[u8], max_queries: usize, category: &str) -> Result<KeyRequest, RequestError> {
    let search: KeySearch = simd_json::serde::from_slice(&mut body.to_vec()).map_err(|e| RequestError::Json(format!("request body: {e}")))?;
    if search.queries.len() > max_queries {
        return Err(RequestError::TooMany { found: search.queries.len(), limit: max_queries });
    }
    purpose(&search.purpose, &search.case_reference)?;
    let values = search.queries.iter().enumerate().map(|(i, q)| key_values(q, category).map_err(|m| RequestError::Query(format!("queries[{i}] {:?}: {m}", q.query)))).collect::<Result<_, _>>()?;
    Ok(KeyRequest { purpose: search.purpose, case_reference: search.case_reference, names: search.queries.into_iter().map(|q| q.query).collect(), values })
}

fn key_values(q: &KeyQuery, category: &str) -> Result<Vec<Value>, String> {
    use hitdex_formats::keyed;
    if q.query.trim().is_empty() {
        return Err("empty query name".into());
    }
    let fields: &[(&str, bool)] = &[
        ("plate", q.plate.is_some()),
        ("vin", q.vin.is_some()),
        ("number", q.number.is_some()),
        ("region", q.region.is_some()),
        ("family_name", q.family_name.is_some()),
        ("given_names", q.given_names.is_some()),
        ("date_of_birth", q.date_of_birth.is_some()),
    ];
    let allowed: &[&str] = match category {
        "vehicle" => &["plate", "vin"],
        "phone" => &["number", "region"],
        "identity" => &["family_name", "given_names", "date_of_birth"],
        _ => return Err(format!("{category} is not a key-only category")),
    };
    if let Some((field, _)) = fields.iter().find(|(f, given)| *given && !allowed.contains(f)) {
        return Err(format!("{field} is not a field of a {category} query (its fields: {})", allowed.join(", ")));
    }
    let result = match category {
        "vehicle" => keyed::vehicle_values(q.plate.as_deref(), q.vin.as_deref()),
        "phone" => keyed::phone_value(q.number.as_deref().unwrap_or_default(), q.region.as_deref()).map(|v| vec![v]),
        _ => keyed::identity_value(q.family_name.as_deref().unwrap_or_default(), q.given_names.as_deref().unwrap_or_default(), q.date_of_birth.as_deref().unwrap_or_default()).map(|v| vec![v]),
    };
    result.map_err(|e| e.to_string())
}

/// Longest purpose or case reference: they are logged with every request.
pub const MAX_PURPOSE: usize = 256;

/// The body of `POST /v1/search/dna`: at most `max_queries` queries,
/// asking for at least `min_loci` matching loci.
///
/// # Errors
/// [`RequestError`] naming the query at fault.
pub fn dna_search(body: &[u8], max_queries: usize, min_loci: u8) -> Result<DnaRequest, RequestError> {
    let search: DnaSearch = simd_json::serde::from_slice(&mut body.to_vec()).map_err(|e| RequestError::Json(format!("request body: {e}")))?;
    if search.queries.len() > max_queries {
        return Err(RequestError::TooMany { found: search.queries.len(), limit: max_queries });
    }
    purpose(&search.purpose, &search.case_reference)?;
    let params = params(search.min_loci, search.exact_microvariants, min_loci)?;
    let profiles = search.queries.iter().enumerate().map(|(i, q)| profile(q).map_err(|m| RequestError::Query(format!("queries[{i}]: {m}")))).collect::<Result<_, _>>()?;
    Ok(DnaRequest { purpose: search.purpose, case_reference: search.case_reference, profiles, params })
}

/// The body of `POST /v1/batch/dna`: a [`DnaBatchHeader`] line, then one
/// [`DnaQuery`] per line (blank lines skipped). Errors name the line.
///
/// # Errors
/// [`RequestError`] naming the line at fault.
pub fn dna_batch(body: &[u8], max_batch: usize, min_loci: u8) -> Result<DnaRequest, RequestError> {
    let mut lines = body.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    let (_, first) = lines.next().ok_or_else(|| RequestError::Json("empty batch: expected a header line, then one query per line".into()))?;
    let header: DnaBatchHeader = simd_json::serde::from_slice(&mut first.to_vec()).map_err(|e| RequestError::Json(format!("line 1 (the header): {e}")))?;
    purpose(&header.purpose, &header.case_reference).map_err(|e| RequestError::Field(format!("line 1 (the header): {e}")))?;
    let params = params(header.min_loci, header.exact_microvariants, min_loci)?;
    let mut profiles = Vec::new();
    for (i, line) in lines {
        if profiles.len() == max_batch {
            return Err(RequestError::TooMany { found: max_batch + 1, limit: max_batch });
        }
        let query: DnaQuery = simd_json::serde::from_slice(&mut line.to_vec()).map_err(|e| RequestError::Json(format!("line {}: {e}", i + 1)))?;
        profiles.push(profile(&query).map_err(|m| RequestError::Query(format!("line {}: {m}", i + 1)))?);
    }
    Ok(DnaRequest { purpose: header.purpose, case_reference: header.case_reference, profiles, params })
}

/// Purpose and case reference: required, one line, at most [`MAX_PURPOSE`] bytes.
fn purpose(purpose: &str, case_reference: &str) -> Result<(), RequestError> {
    for (name, value) in [("purpose", purpose), ("case_reference", case_reference)] {
        if value.trim().is_empty() {
            return Err(RequestError::Field(format!("{name} is required: it is logged with the search")));
        }
        if value.len() > MAX_PURPOSE || value.chars().any(char::is_control) {
            return Err(RequestError::Field(format!("{name} must be one line of at most {MAX_PURPOSE} bytes")));
        }
    }
    Ok(())
}

/// Whether a query constrains enough loci to be searched: at least
/// `min_loci` with a real allele. A locus typed `*` (both alleles
/// wildcards) matches every profile, so a query of such loci would list
/// the whole database; it is answered without hits instead.
pub fn is_searchable(p: &Profile, min_loci: u8) -> bool {
    p.loci.iter().filter(|g| g.alleles().iter().any(|a| !a.is_none() && !a.is_wildcard())).count() >= usize::from(min_loci)
}

fn params(min_loci: u8, exact_microvariants: bool, floor: u8) -> Result<MatchParams, RequestError> {
    if !(floor..=28).contains(&min_loci) {
        return Err(RequestError::Query(format!("min_loci {min_loci} is outside {floor}..=28")));
    }
    Ok(MatchParams { min_loci, microvariant_tolerance: !exact_microvariants })
}

/// A query profile from its wire form, by the DNA CSV's rules.
fn profile(q: &DnaQuery) -> Result<Profile, String> {
    if q.query.trim().is_empty() {
        return Err("empty query name".into());
    }
    let mut p = Profile { reference: q.query.clone(), ..Profile::default() };
    for (name, cell) in &q.loci {
        if Locus::is_amelogenin(name) {
            continue;
        }
        let locus = Locus::parse(name).ok_or_else(|| format!("{:?}: unknown locus {name:?}", q.query))?;
        p.loci[locus.index()] = hitdex_formats::dna_csv::genotype(locus, cell).map_err(|e| format!("{:?}, locus {name}: {e}", q.query))?;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_read_as_the_csv_reads_them() {
        let r = dna_search(br#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q1","loci":{"TH01":"9.3/6","vWA":"17","FGA":"*/22","Amelogenin":"X/Y"}}],"min_loci":8}"#, 10, 2).unwrap();
        let csv = "reference,TH01,vWA,FGA\nQ1,9.3/6,17,*/22\n";
        let from_csv = hitdex_formats::dna_csv::read_bytes(csv.as_bytes(), std::path::Path::new("q.csv"), hitdex_formats::Mode::Query).unwrap();
        assert_eq!(r.profiles, from_csv);
        assert_eq!((r.params.min_loci, r.purpose.as_str()), (8, "p"));
    }

    #[test]
    fn errors_name_the_query_or_line() {
        let e = dna_search(br#"{"purpose":"p","case_reference":"c","queries":[{"query":"A","loci":{}},{"query":"B","loci":{"TH01":"9.3.1"}}]}"#, 10, 0).unwrap_err();
        assert_eq!(e.code(), "invalid_query");
        assert!(e.to_string().starts_with("queries[1]: \"B\", locus TH01"), "{e}");
        let e = dna_batch(b"{\"purpose\":\"p\",\"case_reference\":\"c\"}\n\n{\"query\":\"A\",\"loci\":{\"D99\":\"1\"}}\n", 10, 0).unwrap_err();
        assert!(e.to_string().starts_with("line 3: \"A\": unknown locus \"D99\""), "{e}");
        assert_eq!(dna_batch(b"{\"purpose\":\"p\",\"case_reference\":\"c\"}\n{\"query\":\"A\",\"loci\":{}}\n{\"query\":\"B\",\"loci\":{}}\n", 1, 0).unwrap_err().code(), "too_many_queries");
        assert_eq!(dna_batch(b"  \n", 1, 0).unwrap_err().code(), "invalid_json");
        assert_eq!(dna_search(b"{\"purpose\":\"p\"", 1, 0).unwrap_err().code(), "invalid_json");
    }

    #[test]
    fn no_query_can_list_the_database_and_the_purpose_is_required() {
        let search = |min: u8, loci: &str, purpose: &str| dna_search(format!(r#"{{"purpose":"{purpose}","case_reference":"c","min_loci":{min},"queries":[{{"query":"Q","loci":{{{loci}}}}}]}}"#).as_bytes(), 10, 6);
        let six = r#""TH01":"6/9.3","vWA":"17","FGA":"22","D3S1358":"15","D8S1179":"12","D21S11":"28""#;
        assert!(search(6, six, "p").is_ok());
        assert_eq!(search(5, six, "p").unwrap_err().code(), "invalid_query");
        let half = six.replace(r#""FGA":"22""#, r#""FGA":"*/22""#);
        assert!(is_searchable(&search(6, &half, "p").unwrap().profiles[0], 6));
        let wild = six.replace(r#""FGA":"22""#, r#""FGA":"*""#);
        assert!(!is_searchable(&search(6, &wild, "p").unwrap().profiles[0], 6));
        assert_eq!(search(6, six, "").unwrap_err().code(), "invalid_field");
        assert_eq!(search(6, six, &"x".repeat(MAX_PURPOSE + 1)).unwrap_err().code(), "invalid_field");
    }
}
