//! End-to-end tests of the key-only categories (vehicle, phone, identity):
//! build, search (the NDJSON byte for byte), add, delete, compact, verify,
//! stats and generate, on real files with the real binary.

use std::path::Path;

mod common;

use common::{fails, ok, s};

const VEHICLES: &str = "\
reference,authority,kind,plate,vin
V1,DE-KBA,person,B-AB 123,WVWZZZ1JZXW000001
V2,DE-KBA,trace,M-XY 42,
V3,FR-PTS,person,,1M8GDM9AXKP042788
V4,NL-RDW,person,B AB123,
";

const VEHICLE_QUERIES: &str = "\
reference,plate,vin
Q1,bab123,
Q2,,1m8g dm9a xkp0 42788
Q3,ZZ 999,
Q4,m xy 42,WVWZZZ1JZXW000001
";

const PHONES: &str = "\
reference,authority,kind,number,region
P1,DE-BKA,person,030 12345678,DE
P2,DE-BKA,trace,+33 6 12 34 56 78,
P3,FR-PTS,person,06 12 34 56 78,FR
";

const IDENTITIES: &str = "\
reference,authority,kind,family_name,given_names,date_of_birth
I1,DE-BKA,person,Müller,José,1980-02-29
I2,DE-LKA-BY,person,MULLER,Jose,1980-02-29
I3,DE-BKA,person,Müller,José,1980-03-01
I4,FR-PTS,trace,O'Brien,Jean-Pierre,1975-12-31
";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    s(&path).to_string()
}

#[test]
fn vehicles_build_search_add_delete_compact() {
    let dir = tempfile::tempdir().unwrap();
    let db = write(dir.path(), "v.csv", VEHICLES);
    let q = write(dir.path(), "q.csv", VEHICLE_QUERIES);
    let index = dir.path().join("vidx");
    let stats = ok(&["index", "build", "--category", "vehicle", "--input", &db, "--out", s(&index), "--shards", "3"]);
    assert!(stats.contains("category   vehicle") && stats.contains("4 live"), "{stats}");
    let out = ok(&["search", "vehicle", "--index", s(&index), "--queries", &q]);
    assert_eq!(
        out,
        "{\"query\":\"Q1\",\"hits\":[{\"reference\":\"V1\",\"authority\":\"DE-KBA\"},{\"reference\":\"V4\",\"authority\":\"NL-RDW\"}]}\n\
         {\"query\":\"Q2\",\"hits\":[{\"reference\":\"V3\",\"authority\":\"FR-PTS\"}]}\n\
         {\"query\":\"Q3\",\"hits\":[]}\n\
         {\"query\":\"Q4\",\"hits\":[{\"reference\":\"V1\",\"authority\":\"DE-KBA\"},{\"reference\":\"V2\",\"authority\":\"DE-KBA\"}]}\n"
    );
    // The index holds no plate or VIN in clear.
    for entry in std::fs::read_dir(&index).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [&b"BAB123"[..], b"1M8GDM9AXKP042788", b"MXY42"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a value in clear");
        }
    }

    // Add a delta, delete a record, compact to one shard: same answers but V4's.
    let delta = write(dir.path(), "d.csv", "reference,authority,kind,plate\nV5,DE-KBA,person,ZZ-999\n");
    ok(&["index", "add", "--index", s(&index), "--input", &delta]);
    let refs = write(dir.path(), "del.txt", "NL-RDW,V4\n");
    assert!(ok(&["index", "delete", "--index", s(&index), "--references", &refs]).contains("deleted 1 record"));
    let after = ok(&["search", "vehicle", "--index", s(&index), "--queries", &q]);
    let expected = out
        .replace(",{\"reference\":\"V4\",\"authority\":\"NL-RDW\"}", "")
        .replace("{\"query\":\"Q3\",\"hits\":[]}", "{\"query\":\"Q3\",\"hits\":[{\"reference\":\"V5\",\"authority\":\"DE-KBA\"}]}");
    assert_eq!(after, expected);
    ok(&["index", "compact", "--index", s(&index), "--shards", "1"]);
    assert!(ok(&["index", "verify", "--index", s(&index)]).contains("ok: vehicle index, 1 shards, 4 records"));
    assert_eq!(ok(&["search", "vehicle", "--index", s(&index), "--queries", &q]), expected);
    assert!(ok(&["index", "stats", "--index", s(&index)]).contains("0 deleted"));

    // Wrong inputs: errors naming file, line and column; wrong category.
    let bad = write(dir.path(), "bad.csv", "reference,plate,vin\nQ1,B-AB 123,\nQ2,,1M8GDM9AXKP042789\n");
    let err = fails(&["search", "vehicle", "--index", s(&index), "--queries", &bad]);
    assert!(err.contains("bad.csv:3: column vin: check digit"), "{err}");
    let err = fails(&["search", "phone", "--index", s(&index), "--queries", &bad]);
    assert!(err.contains("index of vehicle records, not phone"), "{err}");
    let err = fails(&["index", "add", "--index", s(&index), "--input", &delta]);
    assert!(err.contains("already in the index"), "{err}");
}

#[test]
fn phones_and_identities_answer_across_writings() {
    let dir = tempfile::tempdir().unwrap();
    let phones = write(dir.path(), "p.csv", PHONES);
    let pidx = dir.path().join("pidx");
    ok(&["index", "build", "--category", "phone", "--input", &phones, "--out", s(&pidx), "--shards", "2"]);
    let q = write(dir.path(), "pq.csv", "reference,number\nA,+49 30 1234 5678\nB,0033612345678\nC,+49 30 12345679\n");
    assert_eq!(
        ok(&["search", "phone", "--index", s(&pidx), "--queries", &q]),
        "{\"query\":\"A\",\"hits\":[{\"reference\":\"P1\",\"authority\":\"DE-BKA\"}]}\n\
         {\"query\":\"B\",\"hits\":[{\"reference\":\"P2\",\"authority\":\"DE-BKA\"},{\"reference\":\"P3\",\"authority\":\"FR-PTS\"}]}\n\
         {\"query\":\"C\",\"hits\":[]}\n"
    );
    // A national number needs a region: the column, or --region.
    let nat = write(dir.path(), "nat.csv", "reference,number\nN,030 12345678\n");
    assert!(fails(&["search", "phone", "--index", s(&pidx), "--queries", &nat]).contains("nat.csv:2: column number: a number without a country code"));
    assert!(ok(&["search", "phone", "--index", s(&pidx), "--queries", &nat, "--region", "DE"]).contains("P1"));

    let people = write(dir.path(), "i.csv", IDENTITIES);
    let iidx = dir.path().join("iidx");
    ok(&["index", "build", "--category", "identity", "--input", &people, "--out", s(&iidx)]);
    let q = write(dir.path(), "iq.csv", "reference,family_name,given_names,date_of_birth\nA,muller,JOSE,1980-02-29\nB,OBRIEN,jean pierre,1975-12-31\nC,Müller,José,1980-03-02\n");
    assert_eq!(
        ok(&["search", "identity", "--index", s(&iidx), "--queries", &q]),
        "{\"query\":\"A\",\"hits\":[{\"reference\":\"I1\",\"authority\":\"DE-BKA\"},{\"reference\":\"I2\",\"authority\":\"DE-LKA-BY\"}]}\n\
         {\"query\":\"B\",\"hits\":[{\"reference\":\"I4\",\"authority\":\"FR-PTS\"}]}\n\
         {\"query\":\"C\",\"hits\":[]}\n"
    );
    for entry in std::fs::read_dir(&iidx).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"muller")), "a name in clear");
    }
    let bad = write(dir.path(), "ibad.csv", "reference,authority,kind,family_name,given_names,date_of_birth\nX,DE,person,Smith,John,1980-02-30\n");
    assert!(fails(&["index", "add", "--index", s(&iidx), "--input", &bad]).contains("ibad.csv:2: column date_of_birth"));
}

#[test]
fn a_damaged_shard_fails_search_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let people = write(dir.path(), "i.csv", IDENTITIES);
    let index = dir.path().join("idx");
    ok(&["index", "build", "--category", "identity", "--input", &people, "--out", s(&index), "--shards", "1"]);
    let shard = std::fs::read_dir(&index).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "hdx")).unwrap();
    let mut bytes = std::fs::read(&shard).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&shard, bytes).unwrap();
    assert!(fails(&["index", "verify", "--index", s(&index)]).contains("checksum mismatch"));
    let q = write(dir.path(), "q.csv", "reference,family_name,given_names,date_of_birth\nA,muller,jose,1980-02-29\n");
    assert!(fails(&["search", "identity", "--index", s(&index), "--queries", &q]).contains("integrity check"));
}

#[test]
fn generated_sets_give_the_same_answers_for_one_and_three_shards() {
    let dir = tempfile::tempdir().unwrap();
    for category in ["vehicle", "phone", "identity"] {
        let db = dir.path().join(format!("{category}.csv"));
        let q = dir.path().join(format!("{category}-q.csv"));
        ok(&["generate", category, "--records", "3000", "--seed", "5", "--out", s(&db), "--queries", "400", "--queries-out", s(&q)]);
        let mut answers = Vec::new();
        for shards in ["1", "3"] {
            let index = dir.path().join(format!("{category}-{shards}"));
            ok(&["index", "build", "--category", category, "--input", s(&db), "--out", s(&index), "--shards", shards]);
            answers.push(ok(&["search", category, "--index", s(&index), "--queries", s(&q)]));
        }
        assert_eq!(answers[0], answers[1], "{category}");
        let lines = answers[0].lines().count();
        let hits = answers[0].lines().filter(|l| !l.ends_with("\"hits\":[]}")).count();
        assert_eq!(lines, 400);
        assert!((120..=300).contains(&hits), "{category}: {hits} of 400 queries hit");
    }
}
