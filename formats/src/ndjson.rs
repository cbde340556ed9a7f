//! The answer of `hitdex search`: one JSON object per query, one per line
//! (SPEC section 7), in a fixed field order that scripts may rely on:
//!
//! ```text
//! {"query":"Q1","hits":[{"reference":"R9","authority":"DE-BKA","quality":"near","matching_loci":11,"compared_loci":12,"differing_locus":"FGA"}]}
//! ```
//!
//! Written by hand rather than through a derived `Serialize` to fix the
//! layout byte for byte; strings go through serde_json's escaping.

use std::io::{self, Write};

use hitdex_engine::dna::Hit;
use hitdex_engine::fingerprint::Candidate;
use hitdex_engine::keyed::KeyHit;

/// Writes the answer line for `query` (with its `\n`): every hit with
/// reference, authority, quality, matching and compared loci, and for near
/// matches the differing locus; `"hits":[]` when there is none.
///
/// # Errors
/// I/O errors of `w`.
pub fn write_answer(w: &mut impl Write, query: &str, hits: &[Hit]) -> io::Result<()> {
    w.write_all(b"{\"query\":")?;
    string(w, query)?;
    w.write_all(b",\"hits\":[")?;
    for (i, hit) in hits.iter().enumerate() {
        w.write_all(if i == 0 {
            b"{\"reference\":"
        } else {
            b",{\"reference\":"
        })?;
        string(w, &hit.reference)?;
        w.write_all(b",\"authority\":")?;
        string(w, &hit.authority)?;
        // Quality and locus names are fixed ASCII words: no escaping needed.
        write!(
            w,
            ",\"quality\":\"{}\",\"matching_loci\":{},\"compared_loci\":{}",
            hit.quality.as_str(),
            hit.matching_loci,
            hit.compared_loci
        )?;
        if let Some(locus) = hit.differing_locus {
            write!(w, ",\"differing_locus\":\"{}\"", locus.name())?;
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"]}\n")
}

/// Writes the fingerprint answer line for `query` (with its `\n`): each
/// candidate's reference, authority, best finger and score (4 decimals);
/// when the query has several fingers (`fingers`, their positions), also
/// each query finger's best finger and score (`null` if none was scored).
/// `"candidates":[]` when there is none.
///
/// ```text
/// {"query":"Q1","candidates":[{"reference":"P-9","authority":"DE-BKA","finger":2,"score":0.6120}]}
/// ```
///
/// # Errors
/// I/O errors of `w`.
pub fn write_candidates(w: &mut impl Write, query: &str, fingers: &[u8], candidates: &[Candidate]) -> io::Result<()> {
    w.write_all(b"{\"query\":")?;
    string(w, query)?;
    w.write_all(b",\"candidates\":[")?;
    for (i, c) in candidates.iter().enumerate() {
        w.write_all(if i == 0 { b"{\"reference\":" } else { b",{\"reference\":" })?;
        string(w, &c.reference)?;
        w.write_all(b",\"authority\":")?;
        string(w, &c.authority)?;
        match best_finger(c) {
            Some((f, _)) => write!(w, ",\"finger\":{f}")?,
            None => w.write_all(b",\"finger\":null")?,
        }
        write!(w, ",\"score\":{:.4}", c.score)?;
        if fingers.len() > 1 {
            w.write_all(b",\"fingers\":[")?;
            for (k, (q, s)) in fingers.iter().zip(&c.fingers).enumerate() {
                w.write_all(if k == 0 { b"" } else { b"," })?;
                match s {
                    Some((f, s)) => write!(w, "{{\"query_finger\":{q},\"finger\":{f},\"score\":{s:.4}}}")?,
                    None => write!(w, "{{\"query_finger\":{q},\"finger\":null,\"score\":null}}")?,
                }
            }
            w.write_all(b"]")?;
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"]}\n")
}

/// The candidate's finger that scored best over the query's fingers
/// (equal scores: the lower position), and its score; what the
/// `"finger"` of a candidate line names.
pub fn best_finger(c: &Candidate) -> Option<(u8, f32)> {
    c.fingers.iter().flatten().copied().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
}

/// Writes the answer line of a key-only search (vehicle, phone, identity)
/// for `query` (with its `\n`): each hit's reference and authority, and
/// nothing else; `"hits":[]` when there is none.
///
/// ```text
/// {"query":"Q1","hits":[{"reference":"R9","authority":"DE-KBA"}]}
/// ```
///
/// # Errors
/// I/O errors of `w`.
pub fn write_key_hits(w: &mut impl Write, query: &str, hits: &[KeyHit]) -> io::Result<()> {
    w.write_all(b"{\"query\":")?;
    string(w, query)?;
    w.write_all(b",\"hits\":[")?;
    for (i, hit) in hits.iter().enumerate() {
        w.write_all(if i == 0 { b"{\"reference\":" } else { b",{\"reference\":" })?;
        string(w, &hit.reference)?;
        w.write_all(b",\"authority\":")?;
        string(w, &hit.authority)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]}\n")
}

/// A JSON string literal.
fn string(w: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(w, s).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use hitdex_engine::dna::{HitQuality, Locus};

    use super::*;

    fn hit(reference: &str, quality: HitQuality, differing: Option<&str>) -> Hit {
        Hit {
            reference: reference.into(),
            authority: "DE-BKA".into(),
            quality,
            matching_loci: 11,
            compared_loci: 12,
            differing_locus: differing.and_then(Locus::parse),
        }
    }

    fn line(query: &str, hits: &[Hit]) -> String {
        let mut out = Vec::new();
        write_answer(&mut out, query, hits).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_spec_example_byte_for_byte() {
        assert_eq!(
            line("Q1", &[hit("R9", HitQuality::Near, Some("FGA"))]),
            "{\"query\":\"Q1\",\"hits\":[{\"reference\":\"R9\",\"authority\":\"DE-BKA\",\"quality\":\"near\",\"matching_loci\":11,\"compared_loci\":12,\"differing_locus\":\"FGA\"}]}\n"
        );
    }

    #[test]
    fn no_hit_is_an_empty_array() {
        assert_eq!(line("Q2", &[]), "{\"query\":\"Q2\",\"hits\":[]}\n");
    }

    #[test]
    fn full_match_has_no_differing_locus_and_hits_are_comma_separated() {
        let got = line(
            "Q",
            &[
                hit("R1", HitQuality::Full, None),
                hit("R2", HitQuality::Near, Some("Penta D")),
            ],
        );
        assert_eq!(
            got,
            "{\"query\":\"Q\",\"hits\":[{\"reference\":\"R1\",\"authority\":\"DE-BKA\",\"quality\":\"full\",\"matching_loci\":11,\"compared_loci\":12},\
             {\"reference\":\"R2\",\"authority\":\"DE-BKA\",\"quality\":\"near\",\"matching_loci\":11,\"compared_loci\":12,\"differing_locus\":\"Penta D\"}]}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert!(value["hits"][0].get("differing_locus").is_none());
    }

    #[test]
    fn key_hits_byte_for_byte() {
        let mut out = Vec::new();
        let hits = [
            KeyHit { authority: "DE-KBA".into(), reference: "R9".into() },
            KeyHit { authority: "FR-\"X\"".into(), reference: "R1".into() },
        ];
        write_key_hits(&mut out, "Q1", &hits).unwrap();
        write_key_hits(&mut out, "Q2", &[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"query\":\"Q1\",\"hits\":[{\"reference\":\"R9\",\"authority\":\"DE-KBA\"},{\"reference\":\"R1\",\"authority\":\"FR-\\\"X\\\"\"}]}\n{\"query\":\"Q2\",\"hits\":[]}\n"
        );
    }

    #[test]
    fn strings_are_escaped() {
        let tricky = "R\"1\\x\ny\u{1}é";
        let got = line(tricky, &[hit(tricky, HitQuality::Full, None)]);
        assert!(got.starts_with(r#"{"query":"R\"1\\x\ny\u0001é","#), "{got}");
        assert_eq!(got.matches('\n').count(), 1, "one line: {got}");
        let value: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(value["query"], tricky);
        assert_eq!(value["hits"][0]["reference"], tricky);
    }
}
