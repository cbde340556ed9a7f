//! End-to-end tests of the `hitdex` binary: real files, real processes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use hitdex_engine::dna::{brute_force, MatchParams};
use hitdex_formats::dna_csv::{self, Mode};

mod common;

use common::{fails, hitdex, ok, s};

/// `../shared/datasets`, or `None` with a message saying the test is skipped.
fn shared(test: &str) -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
    if d.join("README.md").exists() {
        Some(d)
    } else {
        eprintln!("SKIPPED {test}: ../shared/datasets not found (it holds the allele frequencies)");
        None
    }
}

const DB: &str = "\
reference,authority,kind,D3S1358,vWA,D8S1179,D21S11,D18S51,TH01,FGA,D1S1656,D2S441,D10S1248,D12S391,D22S1045,Amelogenin
R1,DE-BKA,person,15/16,17/18,12/13,28/30,14/16,9.3/10,22/23,12/13,10/11,13/14,18/19,15/16,X/Y
R2,DE-BKA,person,15/16,17/18,12/13,28/30,14/16,9.3/10,22/24,12/13,10/11,13/14,18/19,15/16,X
R3,NL-NFI,trace,15/16,17/18,12/13,28/30,14/16,9.3,,,,,,,
R4,NL-NFI,person,14/15,16/19,11/12,29/31,13/17,7/8,20/21,11/15,11/12,14/15,17/20,16/17,X/X
";

const QUERIES: &str = "\
reference,authority,kind,D3S1358,vWA,D8S1179,D21S11,D18S51,TH01,FGA,D1S1656,D2S441,D10S1248,D12S391,D22S1045
Q1,,,15/16,17/18,12/13,28/30,14/16,9.3/10,22/23,12/13,10/11,13/14,18/19,15/16
Q2,,,14/15,16/19,11/12,29/31,13/17,7/8,20/21,11/15,11/12,14/15,17/20,16/17
Q3,,,8/9,9/10,8/9,24/25,10/11,6/6,18/19,10/10,9/9,12/12,15/16,11/12
";

#[test]
fn help_documents_every_command() {
    let help = ok(&["--help"]);
    for cmd in ["demo", "generate", "index", "search", "bench"] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
    let help = ok(&["index", "--help"]);
    for op in ["build", "add", "delete", "compact", "verify", "stats"] {
        assert!(help.contains(op), "index --help lacks {op}");
    }
    assert!(ok(&["search", "dna", "--help"]).contains("--exact-microvariants"));
}

#[test]
fn build_search_delete_compact_on_a_handwritten_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.csv");
    let queries = dir.path().join("q.csv");
    let index = dir.path().join("index");
    std::fs::write(&db, DB).unwrap();
    std::fs::write(&queries, QUERIES).unwrap();
    ok(&["index", "build", "--category", "dna", "--input", s(&db), "--out", s(&index), "--shards", "2"]);

    let out = ok(&["search", "dna", "--index", s(&index), "--queries", s(&queries)]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        r#"{"query":"Q1","hits":[{"reference":"R1","authority":"DE-BKA","quality":"full","matching_loci":12,"compared_loci":12},{"reference":"R3","authority":"NL-NFI","quality":"full","matching_loci":6,"compared_loci":6},{"reference":"R2","authority":"DE-BKA","quality":"near","matching_loci":11,"compared_loci":12,"differing_locus":"FGA"}]}"#
    );
    assert!(lines[1].starts_with(r#"{"query":"Q2","hits":[{"reference":"R4""#), "{}", lines[1]);
    assert_eq!(lines[2], r#"{"query":"Q3","hits":[]}"#);

    // The same queries from standard input give the same answers.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hitdex"))
        .args(["search", "dna", "--index", s(&index), "--queries", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(QUERIES.as_bytes()).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8(piped.stdout).unwrap(), out);

    // --min-loci 7 drops the six-locus trace; exact microvariants change nothing here.
    let out = ok(&["search", "dna", "--index", s(&index), "--queries", s(&queries), "--min-loci", "7", "--exact-microvariants"]);
    assert!(!out.lines().next().unwrap().contains("R3"), "{out}");

    let refs = dir.path().join("refs.txt");
    std::fs::write(&refs, "DE-BKA,R1\nNOPE\n").unwrap();
    let out = hitdex(&["index", "delete", "--index", s(&index), "--references", s(&refs)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 1"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found: NOPE"));
    let out = ok(&["search", "dna", "--index", s(&index), "--queries", s(&queries)]);
    assert!(!out.lines().next().unwrap().contains("\"R1\""), "deleted profile still found: {out}");
    let stats = ok(&["index", "stats", "--index", s(&index)]);
    assert!(stats.contains("3 live") && stats.contains("1 deleted"), "{stats}");
    ok(&["index", "compact", "--index", s(&index)]);
    let stats = ok(&["index", "stats", "--index", s(&index)]);
    assert!(stats.contains("3 live") && stats.contains("0 deleted"), "{stats}");
    assert!(ok(&["index", "verify", "--index", s(&index)]).starts_with("ok"));

    // Adding a reference that is already there is refused.
    let err = fails(&["index", "add", "--index", s(&index), "--input", s(&db)]);
    assert!(err.contains("already in the index"), "{err}");
}

#[test]
fn a_damaged_shard_is_reported_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.csv");
    let index = dir.path().join("index");
    std::fs::write(&db, DB).unwrap();
    ok(&["index", "build", "--input", s(&db), "--out", s(&index), "--shards", "1"]);
    let shard = std::fs::read_dir(&index).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "hdx")).unwrap();
    let mut bytes = std::fs::read(&shard).unwrap();
    let at = bytes.len() - 200;
    bytes[at] ^= 1;
    std::fs::write(&shard, &bytes).unwrap();
    let err = fails(&["index", "verify", "--index", s(&index)]);
    assert!(err.contains("checksum mismatch") && err.contains("shard-"), "{err}");
    std::fs::write(dir.path().join("q.csv"), QUERIES).unwrap();
    let err = fails(&["search", "dna", "--index", s(&index), "--queries", s(&dir.path().join("q.csv"))]);
    assert!(err.contains("integrity"), "{err}");
    // Truncation is refused already on open.
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(&["index", "stats", "--index", s(&index)]);
    assert!(err.contains("truncated") || err.contains("corrupt"), "{err}");
}

#[test]
fn bad_csv_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.csv");
    std::fs::write(&db, DB.replace("R2,DE-BKA,person,15/16", "R2,DE-BKA,person,15/16.33")).unwrap();
    let err = fails(&["index", "build", "--input", s(&db), "--out", s(&dir.path().join("i"))]);
    assert!(err.contains("db.csv:3") && err.contains("D3S1358"), "{err}");
    // A missing file is named once, with the operating system's reason once.
    let err = fails(&["index", "build", "--input", s(&dir.path().join("nosuch.csv")), "--out", s(&dir.path().join("i"))]);
    assert!(err.contains("nosuch.csv") && err.matches("os error").count() == 1, "{err}");
    std::fs::write(&db, DB.replace("Amelogenin", "D99S99")).unwrap();
    let err = fails(&["index", "build", "--input", s(&db), "--out", s(&dir.path().join("i"))]);
    assert!(err.contains("db.csv:1") && err.contains("D99S99"), "{err}");
}

#[test]
fn generated_data_round_trip_equals_brute_force() {
    let Some(_) = shared("generated_data_round_trip_equals_brute_force") else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.csv");
    let q = dir.path().join("q.csv");
    let index = dir.path().join("index");
    ok(&["generate", "dna", "--profiles", "30000", "--seed", "7", "--out", s(&db), "--queries", "300", "--queries-out", s(&q)]);
    ok(&["index", "build", "--category", "dna", "--input", s(&db), "--out", s(&index), "--shards", "3"]);
    let out = ok(&["search", "dna", "--index", s(&index), "--queries", s(&q)]);

    let stored = dna_csv::read_path(&db, Mode::Store).unwrap();
    let queries = dna_csv::read_path(&q, Mode::Query).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), queries.len());
    let mut with_hits = 0;
    for (query, line) in queries.iter().zip(&lines) {
        let mut expected = Vec::new();
        hitdex_formats::ndjson::write_answer(&mut expected, &query.reference, &brute_force(&stored, query, &MatchParams::default())).unwrap();
        assert_eq!(format!("{line}\n"), String::from_utf8(expected).unwrap());
        with_hits += usize::from(!line.ends_with("\"hits\":[]}"));
    }
    assert!(with_hits > queries.len() / 4, "planted relations should give hits: {with_hits}");
}

#[test]
fn demo_runs_end_to_end_on_a_small_database() {
    let Some(_) = shared("demo_runs_end_to_end_on_a_small_database") else { return };
    let out = ok(&["demo", "--profiles", "20000", "--queries", "300", "--single", "100", "--check", "10"]);
    assert!(out.contains("answers checked against brute force | 10 queries, all identical"), "{out}");
    assert!(out.contains("queries with hits"), "{out}");
}

#[test]
fn synthetic_fingerprints_generate_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("xyt");
    let generate = |out: &Path, format: &str| ok(&["generate", "fingerprint", "--fingers", "5", "--impressions", "4", "--seed", "3", "--format", format, "--out", s(out)]);
    generate(&out, "xyt");
    let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 20);
    assert_eq!((names[0].as_str(), names[19].as_str()), ("1_1.xyt", "5_4.xyt"));
    let eval = ok(&["fingerprint", "eval", "--templates", s(&out)]);
    assert!(eval.contains("pairs     60 mated, 320 non-mated"), "{eval}");
    let eer: f64 = eval.lines().find_map(|l| l.strip_prefix("EER")).and_then(|l| l.trim().trim_end_matches('%').trim().parse().ok()).expect("an EER line");
    assert!(eer < 15.0, "{eval}");
    // The same seed writes the same files, in either format.
    let again = dir.path().join("again");
    generate(&again, "xyt");
    assert_eq!(std::fs::read(out.join("3_2.xyt")).unwrap(), std::fs::read(again.join("3_2.xyt")).unwrap());
    let iso = dir.path().join("iso");
    generate(&iso, "iso");
    assert!(ok(&["fingerprint", "eval", "--templates", s(&iso)]).contains("pairs     60 mated, 320 non-mated"));
    // A non-empty directory is never written into; bad numbers are refused.
    let err = fails(&["generate", "fingerprint", "--fingers", "2", "--out", s(&out)]);
    assert!(err.contains("not empty"), "{err}");
    let err = fails(&["generate", "fingerprint", "--fingers", "0", "--out", s(&dir.path().join("none"))]);
    assert!(err.contains("fingers = 0"), "{err}");
    assert!(ok(&["generate", "fingerprint", "--help"]).contains("--impressions"));
}
