//! Every reading rule, with the exact messages users see.

use std::path::Path;

use hitdex_engine::dna::{Allele, Genotype, Kind, Locus, Profile};

use super::read::read_chunked;
use super::*;

const ESS: &str =
    "D3S1358,vWA,D8S1179,D21S11,D18S51,TH01,FGA,D1S1656,D2S441,D10S1248,D12S391,D22S1045";
const ROW: &str = "15/16,17/18,12/13,28/30,14/16,9.3/10,22/23,12/13,10/11,13/14,18/19,15/16";

fn store(text: &str) -> Result<Vec<Profile>, CsvError> {
    read_bytes(text.as_bytes(), Path::new("db.csv"), Mode::Store)
}

fn query(text: &str) -> Result<Vec<Profile>, CsvError> {
    read_bytes(text.as_bytes(), Path::new("q.csv"), Mode::Query)
}

fn store_err(text: &str) -> String {
    store(text).unwrap_err().to_string()
}

fn query_err(text: &str) -> String {
    query(text).unwrap_err().to_string()
}

fn db(rows: &[&str]) -> String {
    let mut s = format!("reference,authority,kind,{ESS}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn locus(name: &str) -> Locus {
    Locus::parse(name).unwrap()
}

fn g(name: &str, a: &str, b: &str) -> Genotype {
    let l = locus(name);
    Genotype::new(
        crate::parse_allele(l, a).unwrap(),
        crate::parse_allele(l, b).unwrap(),
    )
}

#[test]
fn a_stored_profile_is_read_with_every_locus() {
    let got = store(&db(&[&format!("R1,DE-BKA,person,{ROW}")])).unwrap();
    assert_eq!(got.len(), 1);
    let p = &got[0];
    assert_eq!(
        (p.reference.as_str(), p.authority.as_str(), p.kind),
        ("R1", "DE-BKA", Kind::Person)
    );
    assert_eq!(p.typed_loci(), 12);
    assert_eq!(p.genotype(locus("TH01")), g("TH01", "9.3", "10"));
    assert_eq!(p.genotype(locus("vWA")), g("vWA", "18", "17"));
    assert_eq!(p.amelogenin, [0, 0]);
}

#[test]
fn header_in_any_order_case_and_spelling() {
    let text = "KIND,Reference,AUTHORITY,VWA,THO1,Penta_D,PENTA E,F13A01,FESFPS,d21s11,amel\n\
                trace,R1,NL,17/18,6,12/13,5/*,3.2/4,10/11,,XY\n";
    let p = &store(text).unwrap()[0];
    assert_eq!(p.kind, Kind::Trace);
    assert_eq!(p.genotype(locus("TH01")), g("TH01", "6", "6"));
    assert_eq!(p.genotype(locus("Penta D")), g("Penta D", "12", "13"));
    assert_eq!(p.genotype(locus("F13A1")), g("F13A1", "3.2", "4"));
    assert!(!p.genotype(locus("D21S11")).is_typed());
    assert_eq!(p.amelogenin, [b'X', b'Y']);
}

#[test]
fn bom_crlf_blank_lines_spaces_and_quotes_are_tolerated() {
    let text = format!("\u{feff}reference , authority,kind,{ESS}\r\n\"R 1\" , \"DE \"\"BKA\"\"\", Person ,{ROW}\r\n\r\n\n  \n");
    let got = store(&text).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].reference, "R 1");
    assert_eq!(got[0].authority, "DE \"BKA\"");
    assert_eq!(
        got[0].genotype(locus("D22S1045")),
        g("D22S1045", "15", "16")
    );
}

#[test]
fn cells_follow_the_import_rules() {
    let text = "reference,FGA,TH01,vWA,D3S1358,D8S1179,D21S11,Amelogenin\n\
                Q1,12/13/14,*,9/o,<8/99,  ,22,x\n";
    let p = &query(text).unwrap()[0];
    let w = Allele::WILDCARD;
    assert_eq!(
        p.genotype(locus("FGA")),
        Genotype::new(crate::parse_allele(locus("FGA"), "12").unwrap(), w)
    );
    assert_eq!(p.genotype(locus("TH01")), Genotype::new(w, w));
    assert_eq!(
        p.genotype(locus("vWA")),
        Genotype::new(crate::parse_allele(locus("vWA"), "9").unwrap(), w)
    );
    assert_eq!(p.genotype(locus("D3S1358")), Genotype::new(w, w));
    assert!(!p.genotype(locus("D8S1179")).is_typed());
    assert_eq!(p.genotype(locus("D21S11")), g("D21S11", "22", "22"));
    assert_eq!(p.amelogenin, [b'X', b'X']);
}

#[test]
fn amelogenin_never_fails() {
    for (cell, want) in [
        ("X", [b'X', b'X']),
        ("Y", [b'Y', b'Y']),
        ("X/Y", [b'X', b'Y']),
        ("XY", [b'X', b'Y']),
        ("x/x", [b'X', b'X']),
        ("X/Y/Y", [b'X', b'*']),
        ("X/?", [b'X', b'*']),
        ("male", [b'*', b'*']),
        ("", [0, 0]),
    ] {
        let p = &query(&format!("reference,AMEL\nQ,{cell}\n")).unwrap()[0];
        assert_eq!(p.amelogenin, want, "{cell:?}");
    }
}

#[test]
fn query_mode_is_lenient() {
    let text = "reference,TH01\nQ1,6/7\nQ1,\n";
    let got = query(text).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].typed_loci(), 0);
    let got = query(&format!("reference,authority,kind,{ESS}\nQ1,,,{ROW}\n")).unwrap();
    assert_eq!(
        (got[0].authority.as_str(), got[0].kind),
        ("", Kind::default())
    );
}

#[test]
fn header_errors_name_line_one_and_the_column() {
    assert_eq!(
        store_err(""),
        "db.csv:1: empty file, expected a header line (reference,authority,kind,<loci>)"
    );
    assert_eq!(store_err("\u{feff}\r\n"), store_err(""));
    assert_eq!(
        store_err("reference,authority,kind,D99S99\n"),
        "db.csv:1: column D99S99: unknown column (expected reference, authority, kind, a locus or Amelogenin)"
    );
    assert_eq!(
        store_err("reference,authority,kind,vWA,VWA\n"),
        "db.csv:1: column VWA: duplicate column: vWA already comes from column vWA"
    );
    assert_eq!(
        store_err("reference,authority,kind,AMEL,Amelogenin\n"),
        "db.csv:1: column Amelogenin: duplicate column: Amelogenin already comes from column AMEL"
    );
    assert_eq!(
        store_err("reference,kind,TH01\n"),
        "db.csv:1: missing column authority"
    );
    assert_eq!(
        query_err("authority,TH01\n"),
        "q.csv:1: missing column reference"
    );
    assert_eq!(query_err("reference,,TH01\n"), "q.csv:1: column \"\": unknown column (expected reference, authority, kind, a locus or Amelogenin)");
    assert_eq!(query_err("reference,\"TH01\n"), "q.csv:1: malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)");
    let bad_utf8 =
        read_bytes(b"reference,TH\xff01\n", Path::new("q.csv"), Mode::Query).unwrap_err();
    assert_eq!(bad_utf8.to_string(), "q.csv:1: column #2: not valid UTF-8 (save the file as UTF-8; a Latin-1 or Windows-1252 export must be converted)");
    let utf16 = read_bytes(b"\xff\xfer\0e\0f\0", Path::new("q.csv"), Mode::Query).unwrap_err();
    assert_eq!(utf16.to_string(), "q.csv:1: the file is UTF-16; save it as UTF-8");
}

#[test]
fn row_errors_name_line_and_column() {
    let ok = format!("R1,DE-BKA,person,{ROW}");
    let bad_allele = format!("R2,DE-BKA,person,{}", ROW.replace("22/23", "22/9.3.1"));
    assert_eq!(
        store_err(&db(&[&ok, &bad_allele])),
        "db.csv:3: column FGA: unparsable allele \"9.3.1\" (expected a repeat number such as 15 or 9.3, or *)"
    );
    let impossible = format!("R2,DE-BKA,person,{}", ROW.replace("9.3/10", "9.4/10"));
    assert_eq!(
        store_err(&db(&[&ok, "", &impossible])),
        "db.csv:4: column TH01: allele \"9.4\": microvariant .4 is impossible at TH01 (repeat unit 4)"
    );
    assert_eq!(
        store_err(&db(&[&ok, "R2,DE-BKA,person,15/16"])),
        "db.csv:3: 4 cells where the header has 15"
    );
    assert_eq!(
        store_err(&db(&[&format!(" ,DE-BKA,person,{ROW}")])),
        "db.csv:2: column reference: empty reference"
    );
    assert_eq!(
        store_err(&db(&[&format!("R1,,person,{ROW}")])),
        "db.csv:2: column authority: empty authority"
    );
    assert_eq!(
        store_err(&db(&[&format!("R1,DE,suspect,{ROW}")])),
        "db.csv:2: column kind: kind \"suspect\" is neither person nor trace"
    );
    assert_eq!(
        store_err(&db(&[&format!("R1,DE,,{ROW}")])),
        "db.csv:2: column kind: kind \"\" is neither person nor trace"
    );
    assert_eq!(
        query_err("reference,kind\nQ1,suspect\n"),
        "q.csv:2: column kind: kind \"suspect\" is neither person nor trace"
    );
    assert_eq!(
        query_err("reference,TH01\n\"\",6\n"),
        "q.csv:2: column reference: empty reference"
    );
    assert_eq!(
        query_err("reference,TH01\nQ1,\"6/7\" x\n"),
        "q.csv:2: column TH01: malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)"
    );
    assert_eq!(query_err("reference,TH01\nQ1,6,\"7\n"), "q.csv:2: malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)");
    assert_eq!(
        read_bytes(
            b"reference,TH01\nQ1,6\nQ\xc3,7\n",
            Path::new("q.csv"),
            Mode::Query
        )
        .unwrap_err()
        .to_string(),
        "q.csv:3: column reference: not valid UTF-8 (save the file as UTF-8; a Latin-1 or Windows-1252 export must be converted)"
    );
    assert_eq!(
        read_bytes(b"reference,TH01\nQ1,\"6,\"\xe9,7\n", Path::new("q.csv"), Mode::Query).unwrap_err().to_string(),
        "q.csv:2: column TH01: not valid UTF-8 (save the file as UTF-8; a Latin-1 or Windows-1252 export must be converted)"
    );
}

#[test]
fn too_few_loci_is_refused_for_storage_only() {
    let five = "R1,DE,trace,15/16,17/18,12/13,28/30,,,,,,,,99";
    assert_eq!(
        store_err(&db(&[five])),
        "db.csv:2: only 5 typed loci other than Amelogenin; at least 6 are needed"
    );
    assert_eq!(query(&db(&[five])).unwrap()[0].typed_loci(), 5);
    // Amelogenin does not count.
    let text = "reference,authority,kind,TH01,FGA,vWA,D3S1358,D8S1179,Amelogenin\nR1,DE,person,6,20,17,15,12,X/Y\n";
    assert!(
        store_err(text).ends_with("only 5 typed loci other than Amelogenin; at least 6 are needed")
    );
}

#[test]
fn duplicate_references_name_both_lines() {
    let row = |r: &str, a: &str| format!("{r},{a},person,{ROW}");
    let text = db(&[
        &row("R1", "DE"),
        &row("R2", "DE"),
        "",
        &row("R1", "NL"),
        &row("R2", "DE"),
        &row("R1", "DE"),
    ]);
    assert_eq!(store_err(&text), "db.csv:6: column reference: duplicate reference \"R2\" of authority \"DE\", first on line 3");
    assert_eq!(query(&text).unwrap().len(), 5);
}

#[test]
fn the_earliest_error_wins_whatever_the_chunking() {
    let row = |r: &str| format!("{r},DE,person,{ROW}");
    let bad = format!("R9,DE,person,{}", ROW.replace("13/14", "1.2.3"));
    // A duplicate on line 5 comes before a bad allele on line 7 ...
    let text = db(&[
        &row("R1"),
        &row("R2"),
        &row("R3"),
        &row("R1"),
        &row("R5"),
        &bad,
        &row("R7"),
    ]);
    // ... and an invalid byte on line 4 before both.
    let mut bytes = text.clone().into_bytes();
    let at = text.find("R3").unwrap();
    bytes[at + 1] = 0xff;
    for chunk in [1, 7, 50, 100, 200, 1 << 20] {
        let err =
            read_chunked(text.as_bytes(), Path::new("db.csv"), Mode::Store, chunk).unwrap_err();
        assert_eq!(err.to_string(), "db.csv:5: column reference: duplicate reference \"R1\" of authority \"DE\", first on line 2", "chunk {chunk}");
        let err =
            read_chunked(text.as_bytes(), Path::new("db.csv"), Mode::Query, chunk).unwrap_err();
        assert_eq!(
            (err.line(), err.column()),
            (Some(7), Some("D10S1248")),
            "chunk {chunk}"
        );
        let err = read_chunked(&bytes, Path::new("db.csv"), Mode::Store, chunk).unwrap_err();
        assert_eq!(
            err.to_string(),
            "db.csv:4: column reference: not valid UTF-8 (save the file as UTF-8; a Latin-1 or Windows-1252 export must be converted)",
            "chunk {chunk}"
        );
    }
}

#[test]
fn chunking_does_not_change_the_result() {
    let rows: Vec<String> = (0..40).map(|i| format!("R{i},DE,person,{ROW}")).collect();
    let mut text = db(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    text.insert_str(text.find("R7,").unwrap(), "\r\n  \n");
    let whole = store(&text).unwrap();
    assert_eq!(whole.len(), 40);
    for chunk in [1, 3, 64, 333] {
        assert_eq!(
            read_chunked(text.as_bytes(), Path::new("db.csv"), Mode::Store, chunk).unwrap(),
            whole
        );
    }
    let last = text.trim_end().to_string();
    assert_eq!(store(&last).unwrap(), whole, "no newline at the end");
}

#[test]
fn read_path_names_the_file() {
    let dir = std::env::temp_dir().join(format!("hitdex-dna-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("queries.csv");
    std::fs::write(&path, "reference,FGA\nQ1,22\nQ2,1x.3.3/9.3.3\n").unwrap();
    let err = read_path(&path, Mode::Query).unwrap_err();
    assert_eq!(err.to_string(), format!("{}:3: column FGA: unparsable allele \"1x.3.3\" (expected a repeat number such as 15 or 9.3, or *)", path.display()));
    let missing = dir.join("nope.csv");
    let err = read_path(&missing, Mode::Query).unwrap_err();
    assert!(matches!(err, CsvError::Io { .. }));
    assert!(err
        .to_string()
        .starts_with(&format!("{}: ", missing.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn written_files_read_back() {
    let loci: Vec<Locus> = ESS.split(',').map(locus).collect();
    let text = db(&[
        &format!("R1,DE-BKA,person,{ROW}"),
        &format!("\"R,2\",NL,trace,{}", ROW.replace("12/13", "*")),
    ]);
    let profiles = store(&text).unwrap();
    let mut out = Vec::new();
    write_header(&mut out, &loci).unwrap();
    write_profiles(&mut out, &loci, &profiles).unwrap();
    let written = String::from_utf8(out).unwrap();
    assert_eq!(
        written.lines().nth(1),
        Some(format!("R1,DE-BKA,person,{ROW}").as_str())
    );
    assert_eq!(
        written.lines().nth(2),
        Some(format!("\"R,2\",NL,trace,{}", ROW.replace("12/13", "*/*")).as_str())
    );
    assert_eq!(store(&written).unwrap(), profiles);

    let mut one = Vec::new();
    let layout = Layout::new(&loci[..2]).with_amelogenin(true);
    layout.write_header(&mut one).unwrap();
    let mut p = profiles[0].clone();
    p.amelogenin = [b'X', b'Y'];
    layout.write_profile(&mut one, &p).unwrap();
    assert_eq!(
        String::from_utf8(one).unwrap(),
        "reference,authority,kind,D3S1358,vWA,Amelogenin\nR1,DE-BKA,person,15/16,17/18,X/Y\n"
    );

    p.reference = "R\n1".into();
    let err = write_profile(&mut Vec::new(), &loci, &p).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
