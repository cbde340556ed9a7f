//! End-to-end test of `hitdex audit`: a log written by the library, checked
//! and tampered with on disk, read by the binary.

use std::fs;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use hitdex_protocol::audit::{default_head_path, AuditLog, Digest, Outcome, Record, Returned};
use hitdex_protocol::clock::ManualClock;
use hitdex_protocol::keys::write_public as write_public_key;

mod common;

use common::{fails, ok, s};

fn record(i: u64, reference: &str) -> Record {
    Record {
        requester: "DE-BKA".into(),
        purpose: "prevention of serious crime".into(),
        case_reference: format!("case-{i}"),
        category: "dna".into(),
        action: "search".into(),
        demand: None,
        query_digest: Digest::of(format!("query {i}").as_bytes()),
        references: vec![Returned { authority: "NL-NFI".into(), reference: reference.into() }],
        outcome: Outcome::Answered { hits: 1 },
    }
}

#[test]
fn audit_verify_and_subject() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log_path = dir.path().join("audit.log");
    let key_path = dir.path().join("node.pub");
    let node = SigningKey::from_bytes(&[3; 32]);
    write_public_key(&key_path, &node.verifying_key()).expect("write key");
    let log = AuditLog::open(&log_path, node, Arc::new(ManualClock::new(1_700_000_000_000))).expect("open");
    for i in 1..=6 {
        log.append(&record(i, if i.is_multiple_of(2) { "R-EVEN" } else { "R-ODD" })).expect("append");
    }
    log.close().expect("close");
    let (log_arg, key_arg) = (s(&log_path), s(&key_path));

    let out = ok(&["audit", "verify", "--log", log_arg, "--key", key_arg]);
    assert!(out.starts_with("ok: 6 entries (seq 1 to 6)"), "{out}");
    assert!(out.contains("names seq 6"), "{out}");

    let out = ok(&["audit", "subject", "--log", log_arg, "--reference", "R-EVEN"]);
    let seqs: Vec<u64> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("NDJSON")["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [2, 4, 6]);
    let log_text = fs::read_to_string(&log_path).expect("read log");
    assert!(out.lines().all(|l| log_text.contains(&format!("{l}\n"))), "entries print as their log lines");

    // A changed case number in entry 3 (line 5: header, checkpoint, 1, 2, 3).
    fs::write(&log_path, log_text.replacen("case-3", "case-8", 1)).expect("tamper");
    let err = fails(&["audit", "verify", "--log", log_arg, "--key", key_arg]);
    assert!(err.contains("audit.log: line 5: entry seq 3 was changed"), "{err}");
    let err = fails(&["audit", "subject", "--log", log_arg, "--reference", "R-ODD"]);
    assert!(err.contains("line 5"), "{err}");

    // Restored, but cut after entry 4: only the signed head shows it.
    let cut: String = log_text.split_inclusive('\n').take(6).collect();
    fs::write(&log_path, cut).expect("truncate");
    let err = fails(&["audit", "verify", "--log", log_arg, "--key", key_arg]);
    assert!(err.contains("line 7: the log ends at entry seq 4, but the signed head names seq 6"), "{err}");
    let kept = dir.path().join("kept.head");
    fs::rename(default_head_path(&log_path), &kept).expect("move head");
    let out = ok(&["audit", "verify", "--log", log_arg, "--key", key_arg]);
    assert!(out.contains("note: no signed head file"), "{out}");
    let err = fails(&["audit", "verify", "--log", log_arg, "--key", key_arg, "--head", s(&kept)]);
    assert!(err.contains("signed head names seq 6"), "{err}");

    // Another node's key.
    write_public_key(&key_path, &SigningKey::from_bytes(&[4; 32]).verifying_key()).expect("write key");
    let err = fails(&["audit", "verify", "--log", log_arg, "--key", key_arg]);
    assert!(err.contains("line 1: the log was written with node key"), "{err}");
}
