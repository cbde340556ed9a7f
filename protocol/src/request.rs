//! Request bodies to engine queries: the parsers of what partner
//! countries send, kept apart from the HTTP service so that they can be
//! fuzzed on their own (`fuzz/fuzz_targets/node_requests.rs`).
//!
//! JSON is parsed with simd-json into the [`message`](crate::message)
//! types; genotypes follow the DNA CSV's rules exactly
//! ([`hitdex_formats::dna_csv::genotype`]), finger templates are read by
//! the same readers as template files ([`hitdex_formats::fingerprint`]).

use hitdex_engine::dna::{Locus, MatchParams, Profile};

use hitdex_engine::fingerprint::{SearchParams, Template, DEFAULT_SHORTLIST};
use hitdex_engine::keyed::Value;

use crate::message::{DnaBatchHeader, DnaQuery, DnaSearch, FingerBatchHeader, FingerQuery, FingerSearch, KeyQuery, KeySearch, MAX_CANDIDATES, MAX_FINGERS};

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
    /// A finger template that is not base64 or not a valid record.
    #[error("{0}")]
    Template(String),
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
            RequestError::Template(_) => "invalid_template",
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

/// A fingerprint search, ready for the engine.
#[derive(Debug, Clone)]
pub struct FingerRequest {
    /// Why it is made.
    pub purpose: String,
    /// The requester's case reference.
    pub case_reference: String,
    /// The queries' names.
    pub names: Vec<String>,
    /// Each query's fingers: position and template, encoded only when the
    /// query is searched (an encoded finger takes about a hundred times
    /// the memory of its template).
    pub queries: Vec<Vec<(u8, Template)>>,
    /// List length and threshold asked for; the shortlist is the node's
    /// ([`DEFAULT_SHORTLIST`], as `hitdex search fingerprint`'s default).
    pub params: SearchParams,
}

/// The body of `POST /v1/search/fingerprint`: at most `max_queries`
/// queries of one to [`MAX_FINGERS`] fingers each.
///
/// # Errors
/// [`RequestError`] naming the query and finger at fault.
pub fn finger_search(body: &[u8], max_queries: usize) -> Result<FingerRequest, RequestError> {
    let search: FingerSearch = simd_json::serde::from_slice(&mut body.to_vec()).map_err(|e| RequestError::Json(format!("request body: {e}")))?;
    if search.queries.len() > max_queries {
        return Err(RequestError::TooMany { found: search.queries.len(), limit: max_queries });
    }
    purpose(&search.purpose, &search.case_reference)?;
    let params = finger_params(search.max_candidates, search.threshold)?;
    let queries = search.queries.iter().enumerate().map(|(i, q)| finger_query(q).map_err(|e| e.at(&format!("queries[{i}] {:?}", q.query)))).collect::<Result<_, _>>()?;
    Ok(FingerRequest { purpose: search.purpose, case_reference: search.case_reference, names: search.queries.into_iter().map(|q| q.query).collect(), queries, params })
}

/// The body of `POST /v1/batch/fingerprint`: a [`FingerBatchHeader`]
/// line, then one [`FingerQuery`] per line (blank lines skipped).
///
/// # Errors
/// [`RequestError`] naming the line (and finger) at fault.
pub fn finger_batch(body: &[u8], max_batch: usize) -> Result<FingerRequest, RequestError> {
    let mut lines = body.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    let (_, first) = lines.next().ok_or_else(|| RequestError::Json("empty batch: expected a header line, then one query per line".into()))?;
    let header: FingerBatchHeader = simd_json::serde::from_slice(&mut first.to_vec()).map_err(|e| RequestError::Json(format!("line 1 (the header): {e}")))?;
    purpose(&header.purpose, &header.case_reference).map_err(|e| RequestError::Field(format!("line 1 (the header): {e}")))?;
    let params = finger_params(header.max_candidates, header.threshold)?;
    let (mut names, mut queries) = (Vec::new(), Vec::new());
    for (i, line) in lines {
        if queries.len() == max_batch {
            return Err(RequestError::TooMany { found: max_batch + 1, limit: max_batch });
        }
        let query: FingerQuery = simd_json::serde::from_slice(&mut line.to_vec()).map_err(|e| RequestError::Json(format!("line {}: {e}", i + 1)))?;
        queries.push(finger_query(&query).map_err(|e| e.at(&format!("line {} {:?}", i + 1, query.query)))?);
        names.push(query.query);
    }
    Ok(FingerRequest { purpose: header.purpose, case_reference: header.case_reference, names, queries, params })
}

fn finger_params(max_candidates: u32, threshold: f32) -> Result<SearchParams, RequestError> {
    if !(1..=MAX_CANDIDATES).contains(&max_candidates) {
        return Err(RequestError::Query(format!("max_candidates {max_candidates} is outside 1..={MAX_CANDIDATES}")));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(RequestError::Query(format!("threshold {threshold} is outside 0..=1")));
    }
    Ok(SearchParams { top: max_candidates as usize, threshold, shortlist: Some(DEFAULT_SHORTLIST) })
}

impl RequestError {
    /// The same error with its message prefixed by `place` (the query or line).
    fn at(self, place: &str) -> RequestError {
        match self {
            RequestError::Json(m) => RequestError::Json(format!("{place}: {m}")),
            RequestError::Query(m) => RequestError::Query(format!("{place}: {m}")),
            RequestError::Template(m) => RequestError::Template(format!("{place}: {m}")),
            RequestError::Field(m) => RequestError::Field(format!("{place}: {m}")),
            e @ RequestError::TooMany { .. } => e,
        }
    }
}

/// A query's fingers from their wire form: each template decoded from
/// base64 and read by the reader of its format, its view picked as a
/// template file's is ([`hitdex_formats::fingerprint::manifest::pick_view`]).
fn finger_query(q: &FingerQuery) -> Result<Vec<(u8, Template)>, RequestError> {
    use base64::Engine as _;
    use hitdex_formats::fingerprint::{self, manifest, Format};
    if q.query.trim().is_empty() {
        return Err(RequestError::Query("empty query name".into()));
    }
    if q.fingers.is_empty() || q.fingers.len() > MAX_FINGERS {
        return Err(RequestError::Query(format!("{} fingers; a query has 1 to {MAX_FINGERS}", q.fingers.len())));
    }
    q.fingers
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let at = |problem: String| format!("fingers[{j}] (finger {}): {problem}", f.finger);
            if f.finger > 10 {
                return Err(RequestError::Query(at("a finger position is 0 (unknown) to 10".into())));
            }
            let bytes = base64::engine::general_purpose::STANDARD.decode(f.template.as_bytes()).map_err(|e| RequestError::Template(at(format!("template is not base64 (RFC 4648, with padding): {e}"))))?;
            let views = fingerprint::read_bytes(&bytes, Format::from(f.format), std::path::Path::new("template")).map_err(|e| RequestError::Template(at(e.to_string())))?;
            let count = views.len();
            manifest::pick_view(views, f.finger).ok_or_else(|| {
                let problem = if count == 0 { "the record holds no finger view".to_string() } else { format!("the record holds {count} finger views, none at position {}", f.finger) };
                RequestError::Template(at(problem))
            })
        })
        .collect()
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

    /// A template of `n` minutiae on a grid, at finger position `finger`.
    fn template(finger: u8, n: u16) -> hitdex_engine::fingerprint::Template {
        use hitdex_engine::fingerprint::{Angle, Minutia, MinutiaKind, Template};
        let minutiae = (0..n).map(|i| Minutia { x: 40 + 23 * (i % 9), y: 50 + 31 * (i / 9), angle: Angle::from_iso((i * 37 % 256) as u8), kind: MinutiaKind::Ending, quality: 60 }).collect();
        Template { width: 300, height: 400, x_resolution: 197, y_resolution: 197, finger, minutiae, ..Template::default() }
    }

    fn base64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A fingerprint search body of `queries` (each a JSON `fingers` array).
    fn finger_body(queries: &[&str], extra: &str) -> Vec<u8> {
        let queries: Vec<String> = queries.iter().enumerate().map(|(i, f)| format!(r#"{{"query":"Q{}","fingers":{f}}}"#, i + 1)).collect();
        format!(r#"{{"purpose":"p","case_reference":"c","queries":[{}]{extra}}}"#, queries.join(",")).into_bytes()
    }

    #[test]
    fn fingerprint_templates_read_as_template_files_are_read() {
        use hitdex_formats::fingerprint::fmr;
        let (two, seven) = (template(2, 30), template(7, 25));
        let card = base64(&fmr::write_iso(&[two.clone(), seven.clone()]).unwrap());
        let latent = base64(&fmr::write_iso(&[template(0, 20)]).unwrap());
        let xyt = base64(hitdex_formats::fingerprint::xyt::write(&template(0, 18)).unwrap().as_bytes());
        let body = finger_body(
            &[
                &format!(r#"[{{"finger":7,"format":"iso","template":"{card}"}},{{"finger":2,"format":"iso","template":"{card}"}}]"#),
                &format!(r#"[{{"finger":0,"format":"iso","template":"{latent}"}}]"#),
                &format!(r#"[{{"finger":4,"format":"xyt","template":"{xyt}"}}]"#),
            ],
            r#","max_candidates":1,"threshold":0.25"#,
        );
        let r = finger_search(&body, 3).unwrap();
        assert_eq!(r.names, ["Q1", "Q2", "Q3"]);
        assert_eq!((r.params.top, r.params.threshold, r.params.shortlist), (1, 0.25, Some(DEFAULT_SHORTLIST)));
        // The view at each position, as the manifest reader picks it.
        let positions: Vec<Vec<u8>> = r.queries.iter().map(|q| q.iter().map(|f| f.0).collect()).collect();
        assert_eq!(positions, [vec![7, 2], vec![0], vec![4]]);
        assert!(r.queries[0][0].1 == seven && r.queries[0][1].1 == two);
        let from_xyt = hitdex_formats::fingerprint::xyt::read(hitdex_formats::fingerprint::xyt::write(&template(0, 18)).unwrap().as_bytes(), None, std::path::Path::new("t")).unwrap();
        assert!(r.queries[2][0].1 == from_xyt);
        assert_eq!(finger_search(&body, 2).unwrap_err().code(), "too_many_queries");
        // Defaults: 10 candidates, no threshold.
        let r = finger_search(&finger_body(&[&format!(r#"[{{"finger":0,"format":"iso","template":"{latent}"}}]"#)], ""), 1).unwrap();
        assert_eq!((r.params.top, r.params.threshold), (10, 0.0));
    }

    #[test]
    fn fingerprint_errors_name_the_query_and_finger() {
        use hitdex_formats::fingerprint::fmr;
        let iso = fmr::write_iso(&[template(3, 12)]).unwrap();
        let good = format!(r#"{{"finger":3,"format":"iso","template":"{}"}}"#, base64(&iso));
        let cases: Vec<(String, &str, &str)> = vec![
            (r#"{"finger":3,"format":"iso","template":"not base64!"}"#.into(), "invalid_template", "queries[1] \"Q2\": fingers[1] (finger 3): template is not base64"),
            (format!(r#"{{"finger":3,"format":"iso","template":"{}"}}"#, base64(&iso[..iso.len() - 7])), "invalid_template", "queries[1] \"Q2\": fingers[1] (finger 3): template: byte"),
            (format!(r#"{{"finger":3,"format":"ansi","template":"{}"}}"#, base64(&iso)), "invalid_template", "queries[1] \"Q2\": fingers[1] (finger 3): template: byte"),
            (format!(r#"{{"finger":3,"format":"xyt","template":"{}"}}"#, base64(b"1 2\n")), "invalid_template", "queries[1] \"Q2\": fingers[1] (finger 3): template:1: 2 fields"),
            (format!(r#"{{"finger":11,"format":"iso","template":"{}"}}"#, base64(&iso)), "invalid_query", "queries[1] \"Q2\": fingers[1] (finger 11): a finger position is 0"),
        ];
        for (bad, code, start) in cases {
            let body = finger_body(&[&format!("[{good}]"), &format!("[{good},{bad}]")], "");
            let e = finger_search(&body, 10).unwrap_err();
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().starts_with(start), "{e}");
        }
        // A record of two views, asked for a third position.
        let two = base64(&fmr::write_iso(&[template(2, 12), template(7, 12)]).unwrap());
        let e = finger_search(&finger_body(&[&format!(r#"[{{"finger":5,"format":"iso","template":"{two}"}}]"#)], ""), 10).unwrap_err();
        assert_eq!(e.to_string(), "queries[0] \"Q1\": fingers[0] (finger 5): the record holds 2 finger views, none at position 5");
        // Query shape, list length, threshold, purpose.
        let eleven = format!("[{}]", [good.as_str(); 11].join(","));
        for (body, code) in [
            (finger_body(&["[]"], ""), "invalid_query"),
            (finger_body(&[&eleven], ""), "invalid_query"),
            (finger_body(&[&format!("[{good}]")], r#","max_candidates":0"#), "invalid_query"),
            (finger_body(&[&format!("[{good}]")], r#","max_candidates":101"#), "invalid_query"),
            (finger_body(&[&format!("[{good}]")], r#","threshold":1.5"#), "invalid_query"),
            (finger_body(&[&format!("[{good}]")], r#","top":1"#), "invalid_json"),
            (finger_body(&[r#"[{"finger":3,"format":"wsq","template":""}]"#], ""), "invalid_json"),
            (String::from_utf8(finger_body(&[&format!("[{good}]")], "")).unwrap().replace(r#""purpose":"p""#, r#""purpose":"""#).into_bytes(), "invalid_field"),
        ] {
            assert_eq!(finger_search(&body, 10).unwrap_err().code(), code, "{}", String::from_utf8_lossy(&body));
        }
        // Batches name the line.
        let batch = format!("{{\"purpose\":\"p\",\"case_reference\":\"c\",\"max_candidates\":1}}\n\n{{\"query\":\"B1\",\"fingers\":[{good}]}}\n{{\"query\":\"B2\",\"fingers\":[{good},{good}]}}\n");
        let r = finger_batch(batch.as_bytes(), 2).unwrap();
        assert_eq!((r.names.len(), r.queries[1].len(), r.params.top), (2, 2, 1));
        assert_eq!(finger_batch(batch.as_bytes(), 1).unwrap_err().code(), "too_many_queries");
        let e = finger_batch(format!("{}\n{{\"query\":\"B3\",\"fingers\":[{{\"finger\":1,\"format\":\"iso\",\"template\":\"AAAA\"}}]}}\n", batch.trim_end()).as_bytes(), 10).unwrap_err();
        assert!(e.to_string().starts_with("line 5 \"B3\": fingers[0] (finger 1): template: byte"), "{e}");
        assert_eq!(finger_batch(b"{\"purpose\":\"p\"}\n", 10).unwrap_err().code(), "invalid_json");
    }

    #[test]
    fn the_fuzz_seeds_are_valid_requests() {
        let search = finger_search(include_bytes!("../../fuzz/seeds/node_requests/fingerprint.json"), 8).unwrap();
        assert_eq!(search.queries.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        let batch = finger_batch(include_bytes!("../../fuzz/seeds/node_requests/fingerprint-batch.ndjson"), 8).unwrap();
        assert_eq!(batch.names, ["B1", "B2"]);
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
