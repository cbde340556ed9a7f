//! The audit log on real files: round trips, every kind of tampering, a
//! crash at every byte of the last line, concurrent appends, the right of
//! access, exchanges logged in parts, logs written before the latest
//! fields, and the limits of what verification can see.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hitdex_protocol::audit::{
    self, default_head_path, AuditError, AuditLog, Damage, Digest, Options, Outcome, Part, Record, Report, Returned,
};
use hitdex_protocol::audit_writer::AuditWriter;
use hitdex_protocol::clock::{Clock, ManualClock};
use proptest::prelude::*;
use tempfile::TempDir;

fn node_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn public() -> VerifyingKey {
    node_key().verifying_key()
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[8; 32])
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(1_700_000_000_000))
}

/// Checkpoints by count only, so that tests decide where they fall.
fn every(n: u64) -> Options {
    Options { checkpoint_every: n, checkpoint_interval_ms: None, head_path: None }
}

/// The `i`-th test record: a search naming `U{i}` and, for some, `R{i % 5}`;
/// every fourth one refused; every third about a demand.
fn record(i: u64) -> Record {
    let mut references = vec![Returned { authority: "NL-NFI".into(), reference: format!("U{i}") }];
    if i.is_multiple_of(2) {
        references.push(Returned { authority: "DE-BKA".into(), reference: format!("R{}", i % 5) });
    }
    Record {
        requester: "DE-BKA".into(),
        purpose: "prevention of serious crime".into(),
        case_reference: format!("case-{i}"),
        category: "dna".into(),
        action: "search".into(),
        demand: i.is_multiple_of(3).then(|| format!("{i:032x}")),
        query_digest: Digest::of(format!("query {i}").as_bytes()),
        references,
        outcome: if i % 4 == 3 {
            Outcome::Refused { status: 403, code: "no_access".into() }
        } else {
            Outcome::Answered { hits: (i % 3) as u32 }
        },
    }
}

/// A closed log of entries 1..=n with a checkpoint every `cp` entries.
fn write_log(n: u64, cp: u64) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(cp)).expect("open");
    for i in 1..=n {
        assert_eq!(log.append(&record(i)).expect("append"), i);
    }
    log.close().expect("close");
    (dir, path)
}

/// The lines of a log, each with its newline.
fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).expect("read log").split_inclusive('\n').map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    fs::write(path, lines.concat()).expect("write log");
}

/// The index (0-based) of the line holding entry `seq`.
fn line_of(lines: &[String], seq: u64) -> usize {
    let prefix = format!(r#"{{"type":"entry","seq":{seq},"#);
    lines.iter().position(|l| l.starts_with(&prefix)).expect("entry present")
}

/// The line and damage of a verification that must fail.
fn damage<T: std::fmt::Debug>(result: Result<T, AuditError>) -> (u64, Damage) {
    match result {
        Err(AuditError::Damaged { line, damage, .. }) => (line, damage),
        other => panic!("expected a damaged log, got {other:?}"),
    }
}

fn clean_report(path: &Path) -> Report {
    audit::verify(path, &public()).unwrap_or_else(|e| panic!("verify: {e}"))
}

/// Recomputes one entry line with sequence number `seq` after chain hash
/// `prev`, exactly as the module documentation tells an auditor; returns
/// the line and its hash.
fn rehash_entry(line: &str, seq: u64, prev: [u8; 32]) -> (String, [u8; 32]) {
    let v: serde_json::Value = serde_json::from_str(line).expect("entry JSON");
    let time = v["time_ms"].as_u64().expect("time");
    let record: Record = serde_json::from_value(v["record"].clone()).expect("record");
    let record = serde_json::to_string(&record).expect("record JSON");
    let prev_hex = blake3::Hash::from_bytes(prev).to_hex();
    let mut body = format!(r#"{{"type":"entry","seq":{seq},"time_ms":{time},"prev":"{prev_hex}","record":{record}"#);
    if let Some(part) = v.get("part") {
        body += &format!(r#","part":{{"index":{},"of":{}}}"#, part["index"], part["of"]);
    }
    let mut hasher = blake3::Hasher::new_derive_key("hitdex audit log v1 entry");
    hasher.update(&prev);
    hasher.update(body.as_bytes());
    let hash = *hasher.finalize().as_bytes();
    (format!("{body},\"hash\":\"{}\"}}\n", blake3::Hash::from_bytes(hash).to_hex()), hash)
}

/// Recomputes every entry's seq, prev and hash from the header on (leaving
/// checkpoints alone): what a forger without the node key can do.
fn rehash(lines: &mut [String]) {
    let mut chain = blake3::derive_key("hitdex audit log v1 header", lines[0].trim_end().as_bytes());
    let mut seq = 0;
    for line in lines.iter_mut().skip(1) {
        if line.starts_with(r#"{"type":"entry","#) {
            seq += 1;
            (*line, chain) = rehash_entry(line, seq, chain);
        }
    }
}

/// The `prev` of an entry line, as bytes.
fn prev_of(line: &str) -> [u8; 32] {
    let v: serde_json::Value = serde_json::from_str(line).expect("entry JSON");
    *blake3::Hash::from_hex(v["prev"].as_str().expect("prev")).expect("hex").as_bytes()
}

#[test]
fn appended_entries_read_back_and_verify() {
    let (_dir, path) = write_log(25, 10);
    let report = clean_report(&path);
    // Checkpoints: at creation (seq 0), after 10 and 20, and on close.
    assert_eq!(
        report,
        Report {
            created_ms: 1_700_000_000_000,
            entries: 25,
            checkpoints: 4,
            last_seq: 25,
            last_checkpoint: Some(25),
            head: Some(25),
            unsigned: 0,
        }
    );
    for i in 1..=25 {
        let found = audit::subject(&path, &format!("U{i}")).expect("subject");
        assert_eq!(found.len(), 1, "U{i}");
        assert_eq!((found[0].seq, &found[0].record), (i, &record(i)));
        let line = &lines(&path)[line_of(&lines(&path), i)];
        assert_eq!(format!("{}\n", found[0].to_line()), *line, "an entry prints as its log line");
    }
}

#[test]
fn the_documented_hashes_are_the_ones_written() {
    let (_dir, path) = write_log(7, 3);
    let original = lines(&path);
    let mut recomputed = original.clone();
    rehash(&mut recomputed);
    assert_eq!(recomputed, original);
}

#[test]
fn checkpoint_signatures_cover_the_documented_bytes() {
    let (_dir, path) = write_log(4, 100);
    let mut all = lines(&path);
    let last = all.len() - 1;
    let body = all[last].split(r#","signature":"#).next().expect("body").to_string();
    let message = [b"hitdex audit log v1 checkpoint\n".as_slice(), body.as_bytes()].concat();
    let sign = |key: &SigningKey| {
        format!("{body},\"signature\":\"{}\"}}\n", BASE64.encode(key.sign(&message).to_bytes()))
    };
    // Ed25519 is deterministic: re-signing with the node key gives the line.
    assert_eq!(sign(&node_key()), all[last]);
    // The same statement signed by anyone else is a forgery.
    all[last] = sign(&other_key());
    write_lines(&path, &all);
    fs::remove_file(default_head_path(&path)).expect("remove head");
    assert_eq!(damage(audit::verify(&path, &public())), (last as u64 + 1, Damage::BadSignature { seq: 4 }));
}

#[test]
fn every_changed_byte_is_found_naming_its_line() {
    let (dir, path) = write_log(6, 3);
    let original = fs::read(&path).expect("read");
    let head = fs::read(default_head_path(&path)).expect("read head");
    let copy_dir = dir.path().join("copy");
    fs::create_dir(&copy_dir).expect("mkdir");
    let copy = copy_dir.join("audit.log");
    fs::write(default_head_path(&copy), &head).expect("write head");
    for at in 0..original.len() {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        fs::write(&copy, &bytes).expect("write");
        let line = 1 + original[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        let (found, what) = damage(audit::verify(&copy, &public()));
        // A changed header shows where the next line no longer chains.
        assert!(found == line || found == line + 1, "byte {at} (line {line}) reported at line {found}: {what}");
    }
}

#[test]
fn every_changed_byte_of_the_head_is_found() {
    let (_dir, path) = write_log(3, 100);
    let head_path = default_head_path(&path);
    let original = fs::read(&head_path).expect("read head");
    for at in 0..original.len() {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        fs::write(&head_path, &bytes).expect("write head");
        match audit::verify(&path, &public()) {
            Err(AuditError::BadHead { .. }) => {}
            // A head naming another seq than its own is rejected by its
            // signature; one parsing to another chain hash likewise.
            other => panic!("byte {at} of the head: {other:?}"),
        }
        let e = AuditLog::open(&path, node_key(), clock()).expect_err("open with a bad head");
        assert!(matches!(e, AuditError::BadHead { .. }), "{e}");
    }
}

#[test]
fn a_removed_entry_is_found() {
    let (_dir, path) = write_log(10, 4);
    let mut all = lines(&path);
    let at = line_of(&all, 6);
    all.remove(at);
    write_lines(&path, &all);
    let (line, what) = damage(audit::verify(&path, &public()));
    assert_eq!((line, what.clone()), (at as u64 + 1, Damage::Missing { expected: 6, found: 7 }));
    assert!(what.to_string().contains("entry seq 6 is missing"), "{what}");
}

#[test]
fn swapped_entries_are_found() {
    let (_dir, path) = write_log(10, 4);
    let mut all = lines(&path);
    let (a, b) = (line_of(&all, 6), line_of(&all, 7));
    all.swap(a, b);
    write_lines(&path, &all);
    assert_eq!(damage(audit::verify(&path, &public())), (a as u64 + 1, Damage::Missing { expected: 6, found: 7 }));
}

#[test]
fn a_duplicated_or_foreign_line_is_found() {
    let (_dir, path) = write_log(5, 100);
    let original = lines(&path);
    let at = line_of(&original, 3);

    let mut all = original.clone();
    all.insert(at + 1, original[at].clone());
    write_lines(&path, &all);
    assert_eq!(damage(audit::verify(&path, &public())), (at as u64 + 2, Damage::OutOfOrder { expected: 4, found: 3 }));

    let mut all = original.clone();
    all.insert(at, "{\"type\":\"note\"}\n".to_string());
    write_lines(&path, &all);
    let (line, what) = damage(audit::verify(&path, &public()));
    assert_eq!(line, at as u64 + 1);
    assert!(matches!(what, Damage::Unreadable(_)), "{what}");
}

#[test]
fn another_spelling_of_the_same_values_is_found() {
    let (_dir, path) = write_log(5, 100);
    let original = lines(&path);
    let at = line_of(&original, 2);
    for respelled in [
        original[at].replacen("\"seq\":2", "\"seq\": 2", 1),
        original[at].replacen("DE-BKA", "\\u0044E-BKA", 1),
        original[at].replacen("\"action\":\"search\",", "\"action\":\"search\",\"demand\":null,", 1),
    ] {
        assert_ne!(respelled, original[at]);
        let mut all = original.clone();
        all[at] = respelled;
        write_lines(&path, &all);
        assert_eq!(damage(audit::verify(&path, &public())), (at as u64 + 1, Damage::NotCanonical));
    }
}

#[test]
fn a_rewritten_chain_is_found_by_the_next_checkpoint() {
    let (_dir, path) = write_log(10, 4);
    let original = lines(&path);
    let checkpoint = line_of(&original, 4) + 1;
    assert!(original[checkpoint].starts_with(r#"{"type":"checkpoint","seq":4,"#));

    // Change entry 2 and recompute every hash after it, as the documented
    // format lets anyone do: the entries alone look fine again, but the
    // checkpoint of seq 4 signs the old chain.
    let mut all = original.clone();
    let at = line_of(&all, 2);
    all[at] = all[at].replacen("case-2", "case-9", 1);
    rehash(&mut all);
    write_lines(&path, &all);
    assert_eq!(
        damage(audit::verify(&path, &public())),
        (checkpoint as u64 + 1, Damage::CheckpointMismatch { seq: 4 })
    );

    // Remove entry 2 and renumber: the checkpoint now follows entry 3.
    let mut all = original.clone();
    all.remove(line_of(&all, 2));
    rehash(&mut all);
    write_lines(&path, &all);
    assert_eq!(
        damage(audit::verify(&path, &public())),
        (checkpoint as u64, Damage::MisplacedCheckpoint { seq: 4, after: 3 })
    );
}

#[test]
fn an_entry_rehashed_alone_breaks_the_chain_after_it() {
    let (_dir, path) = write_log(6, 100);
    let mut all = lines(&path);
    let at = line_of(&all, 3);
    let changed = all[at].replacen("case-3", "case-9", 1);
    all[at] = rehash_entry(&changed, 3, prev_of(&changed)).0;
    write_lines(&path, &all);
    assert_eq!(damage(audit::verify(&path, &public())), (at as u64 + 2, Damage::BrokenChain { seq: 4 }));
}

#[test]
fn an_entry_from_another_log_is_found() {
    // Same node, same records, another creation time: another chain.
    let (_dir, path) = write_log(6, 100);
    let dir = tempfile::tempdir().expect("temporary directory");
    let other = dir.path().join("other.log");
    let log = AuditLog::open_with(&other, node_key(), Arc::new(ManualClock::new(5)), every(100)).expect("open");
    for i in 1..=6 {
        log.append(&record(i)).expect("append");
    }
    log.close().expect("close");
    let mut all = lines(&path);
    let at = line_of(&all, 4);
    all[at] = lines(&other)[line_of(&lines(&other), 4)].clone();
    assert_ne!(all[at], lines(&path)[at]);
    write_lines(&path, &all);
    assert_eq!(damage(audit::verify(&path, &public())), (at as u64 + 1, Damage::BrokenChain { seq: 4 }));
}

#[test]
fn truncated_entries_are_found_by_the_signed_head() {
    let (dir, path) = write_log(10, 4);
    let all = lines(&path);
    // Cut at a line boundary after entry 8 and its checkpoint: a valid log
    // in itself, but the head names entry 10.
    let keep = line_of(&all, 8) + 2;
    write_lines(&path, &all[..keep]);
    let (line, what) = damage(audit::verify(&path, &public()));
    assert_eq!((line, what.clone()), (keep as u64 + 1, Damage::Truncated { last_seq: 8, head_seq: 10 }));
    assert!(what.to_string().contains("removed from its end"), "{what}");
    let e = AuditLog::open(&path, node_key(), clock()).expect_err("the node refuses a truncated log");
    assert!(e.to_string().contains("signed head names seq 10"), "{e}");

    // A copy of the head kept elsewhere finds it after the head next to the
    // log is deleted.
    let kept = dir.path().join("kept.head");
    fs::rename(default_head_path(&path), &kept).expect("move head");
    assert!(audit::verify(&path, &public()).is_ok(), "without a head, a cut at a line boundary is invisible");
    assert_eq!(damage(audit::verify_with_head(&path, &public(), &kept)).1, Damage::Truncated { last_seq: 8, head_seq: 10 });

    // Down to the header alone.
    write_lines(&path, &all[..1]);
    assert_eq!(damage(audit::verify_with_head(&path, &public(), &kept)), (2, Damage::Truncated { last_seq: 0, head_seq: 10 }));
}

#[test]
fn limit_a_forger_who_removes_the_signatures_and_the_head_is_not_found() {
    // Documented limit: with every checkpoint after the change and the head
    // file gone, a recomputed chain is indistinguishable from the node's.
    let (_dir, path) = write_log(10, 4);
    let mut all = lines(&path);
    let cut = line_of(&all, 4) + 1; // keep the checkpoint of seq 4
    all.remove(line_of(&all, 6));
    all.retain(|l| !l.starts_with(r#"{"type":"checkpoint","seq":8,"#) && !l.starts_with(r#"{"type":"checkpoint","seq":10,"#));
    rehash(&mut all);
    write_lines(&path, &all);
    assert!(matches!(damage(audit::verify(&path, &public())).1, Damage::HeadMismatch { seq: 10 } | Damage::Truncated { .. }));
    fs::remove_file(default_head_path(&path)).expect("remove head");
    let report = clean_report(&path);
    assert_eq!((report.last_seq, report.last_checkpoint, report.unsigned), (9, Some(4), 5));
    assert!(all[cut].starts_with(r#"{"type":"checkpoint","seq":4,"#));
}

#[test]
fn the_wrong_key_is_found() {
    let (_dir, path) = write_log(3, 100);
    let wrong = other_key().verifying_key();
    match audit::verify(&path, &wrong) {
        // The head file is checked first, and is not signed by that key.
        Err(AuditError::BadHead { damage: Damage::BadSignature { seq: 3 }, .. }) => {}
        other => panic!("{other:?}"),
    }
    fs::remove_file(default_head_path(&path)).expect("remove head");
    let (line, what) = damage(audit::verify(&path, &wrong));
    assert_eq!(line, 1);
    assert!(matches!(what, Damage::WrongKey { .. }), "{what}");
    // The node does not continue a log with another key.
    assert_eq!(damage(AuditLog::open(&path, other_key(), clock())).0, 1);
}

/// Copies the first `len` bytes of the log at `from` (and its head file) to
/// a fresh directory: the file as a crash would leave it.
fn crashed_copy(from: &Path, len: usize, base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    fs::create_dir(&dir).expect("mkdir");
    let to = dir.join("audit.log");
    let bytes = fs::read(from).expect("read");
    fs::write(&to, &bytes[..len]).expect("write");
    if let Ok(head) = fs::read(default_head_path(from)) {
        fs::write(default_head_path(&to), head).expect("write head");
    }
    to
}

/// A log of entries 1..=5, a checkpoint, then entries 6 and 7 and a crash
/// (no checkpoint on close): the head names entry 5.
fn crashed_log() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(1000)).expect("open");
    for i in 1..=5 {
        log.append(&record(i)).expect("append");
    }
    log.checkpoint().expect("checkpoint");
    log.append(&record(6)).expect("append");
    log.append(&record(7)).expect("append");
    // A crash: no destructor, no last checkpoint. (The leaked descriptor
    // keeps this file locked, so the tests work on copies.)
    std::mem::forget(log);
    (dir, path)
}

#[test]
fn a_crash_at_every_byte_of_the_last_entry_keeps_the_earlier_ones() {
    let (dir, path) = crashed_log();
    let original = fs::read(&path).expect("read");
    let all = lines(&path);
    let start: usize = all[..line_of(&all, 7)].iter().map(String::len).sum();
    assert_eq!(start + all[all.len() - 1].len(), original.len(), "entry 7 is the last line");
    for len in start..original.len() {
        let copy = crashed_copy(&path, len, dir.path(), &format!("cut{len}"));
        if len > start {
            let (line, what) = damage(audit::verify(&copy, &public()));
            assert_eq!(
                (line, what),
                (all.len() as u64, Damage::Unfinished { bytes: (len - start) as u64 }),
                "before reopening, verify reports the unfinished line"
            );
        }
        let log = AuditLog::open(&copy, node_key(), clock()).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        assert_eq!(log.last_seq(), 6);
        assert_eq!(log.append(&record(70)).expect("append"), 7);
        log.close().expect("close");
        let after = fs::read(&copy).expect("read");
        assert_eq!(after[..start], original[..start], "cut at {len}: earlier bytes changed");
        let report = clean_report(&copy);
        assert_eq!((report.entries, report.head, report.unsigned), (7, Some(7), 0), "cut at {len}");
        assert_eq!(audit::subject(&copy, "U70").expect("subject")[0].seq, 7);
        assert!(audit::subject(&copy, "U7").expect("subject").is_empty());
    }
}

#[test]
fn a_crash_at_every_byte_of_a_last_checkpoint_keeps_every_entry() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(3)).expect("open");
    for i in 1..=3 {
        log.append(&record(i)).expect("append");
    }
    std::mem::forget(log);
    let original = fs::read(&path).expect("read");
    let all = lines(&path);
    assert!(all[all.len() - 1].starts_with(r#"{"type":"checkpoint","seq":3,"#));
    let start = original.len() - all[all.len() - 1].len();
    // The head file is written after the checkpoint line is durable, so a
    // crash inside that line leaves the previous head (seq 0).
    fs::write(default_head_path(&path), &all[1]).expect("older head");
    for len in start..original.len() {
        let copy = crashed_copy(&path, len, dir.path(), &format!("cut{len}"));
        let log = AuditLog::open(&copy, node_key(), clock()).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        assert_eq!(log.append(&record(4)).expect("append"), 4);
        log.close().expect("close");
        let report = clean_report(&copy);
        assert_eq!((report.entries, report.head), (4, Some(4)), "cut at {len}");
    }
}

#[test]
fn a_cut_inside_an_entry_the_head_names_is_a_truncation() {
    // Entries the head names were acknowledged: losing them is never a crash.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(1000)).expect("open");
    for i in 1..=5 {
        log.append(&record(i)).expect("append");
    }
    log.checkpoint().expect("checkpoint");
    std::mem::forget(log);
    let all = lines(&path);
    let at = line_of(&all, 5);
    let start: usize = all[..at].iter().map(String::len).sum();
    for len in start..start + all[at].len() {
        let copy = crashed_copy(&path, len, dir.path(), &format!("cut{len}"));
        let truncated = (at as u64 + 1, Damage::Truncated { last_seq: 4, head_seq: 5 });
        assert_eq!(damage(audit::verify(&copy, &public())), truncated, "verify, cut at {len}");
        assert_eq!(damage(AuditLog::open(&copy, node_key(), clock())), truncated, "open, cut at {len}");
        assert_eq!(fs::read(&copy).expect("read").len(), len, "a refused log is left as it is");
    }
}

#[test]
fn a_crash_while_creating_the_log_starts_it_again() {
    let (dir, path) = write_log(0, 100);
    let header_len = lines(&path)[0].len();
    for len in 0..header_len {
        let copy = crashed_copy(&path, len, dir.path(), &format!("cut{len}"));
        // The head is written last: a crash inside the header predates it.
        fs::remove_file(default_head_path(&copy)).expect("remove head");
        let log = AuditLog::open(&copy, node_key(), clock()).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        log.append(&record(1)).expect("append");
        log.close().expect("close");
        assert_eq!(clean_report(&copy).entries, 1, "cut at {len}");
    }
}

#[test]
fn reopening_continues_the_chain() {
    let (_dir, path) = write_log(3, 100);
    {
        let log = AuditLog::open_with(&path, node_key(), clock(), every(100)).expect("reopen");
        let second = AuditLog::open(&path, node_key(), clock()).expect_err("a second writer");
        assert!(matches!(second, AuditError::Locked { .. }), "{second}");
        assert_eq!(log.append(&record(4)).expect("append"), 4);
        assert_eq!(log.append(&record(5)).expect("append"), 5);
    }
    let report = clean_report(&path);
    assert_eq!((report.entries, report.checkpoints, report.head), (5, 3, Some(5)));
    assert_eq!(audit::subject(&path, "U5").expect("subject")[0].record, record(5));
}

#[test]
fn checkpoints_follow_the_count_and_the_interval() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let manual = Arc::new(ManualClock::new(1_000));
    let options = Options { checkpoint_every: 4, checkpoint_interval_ms: Some(1_000), head_path: None };
    let log = AuditLog::open_with(&path, node_key(), manual.clone(), options).expect("open");
    log.append(&record(1)).expect("append");
    log.append(&record(2)).expect("append");
    assert_eq!(clean_report(&path).last_checkpoint, Some(0));
    manual.advance(1_000);
    log.append(&record(3)).expect("append");
    log.append(&record(4)).expect("append");
    let report = clean_report(&path);
    assert_eq!((report.last_checkpoint, report.head, report.unsigned), (Some(3), Some(3), 1), "by time");
    for i in 5..=7 {
        log.append(&record(i)).expect("append");
    }
    assert_eq!(clean_report(&path).last_checkpoint, Some(7), "by count: four entries since the last");
    // checkpoint() with nothing new writes nothing.
    log.checkpoint().expect("checkpoint");
    assert_eq!(clean_report(&path).checkpoints, 3);
    log.append(&record(8)).expect("append");
    log.checkpoint().expect("checkpoint");
    assert_eq!(clean_report(&path).last_checkpoint, Some(8));
}

#[test]
fn a_head_file_elsewhere_is_kept_there() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let head = dir.path().join("elsewhere.head");
    let options = Options { head_path: Some(head.clone()), ..every(100) };
    let log = AuditLog::open_with(&path, node_key(), clock(), options).expect("open");
    log.append(&record(1)).expect("append");
    log.close().expect("close");
    assert!(!default_head_path(&path).exists());
    assert_eq!(audit::verify_with_head(&path, &public(), &head).expect("verify").head, Some(1));
}

#[test]
fn concurrent_appends_make_a_gap_free_chain() {
    const THREADS: u64 = 8;
    const EACH: u64 = 300;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(50)).expect("open");
    let given: Vec<Vec<(u64, String)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let mut r = record(i);
                            r.case_reference = format!("t{t}-{i}");
                            if i.is_multiple_of(97) {
                                log.checkpoint().expect("checkpoint");
                            }
                            (log.append(&r).expect("append"), r.case_reference)
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect()
    });
    log.close().expect("close");
    let report = clean_report(&path);
    assert_eq!((report.entries, report.last_seq, report.unsigned), (THREADS * EACH, THREADS * EACH, 0));
    // Every seq returned once, and the entry there is the one appended.
    let mut written = std::collections::HashMap::new();
    for line in lines(&path).iter().filter(|l| l.starts_with(r#"{"type":"entry","#)) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let seq = v["seq"].as_u64().expect("seq");
        written.insert(seq, v["record"]["case_reference"].as_str().expect("case").to_string());
    }
    let mut seqs = BTreeSet::new();
    for (seq, case) in given.into_iter().flatten() {
        assert!(seqs.insert(seq), "seq {seq} returned twice");
        assert_eq!(written.get(&seq), Some(&case), "seq {seq}");
    }
    assert_eq!(seqs, (1..=THREADS * EACH).collect());
}

/// Appends through the writer thread from async tasks, and from a plain
/// thread that writes batches itself at the same time: every entry is on
/// disk when its append returns (the writer reports entries another thread
/// wrote too), and the chain has no gap.
#[test]
fn the_writer_thread_syncs_async_and_blocking_appends_alike() {
    const TASKS: u64 = 8;
    const EACH: u64 = 150;
    const BLOCKING: u64 = 200;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let writer = Arc::new(AuditWriter::start(AuditLog::open_with(&path, node_key(), clock(), every(64)).expect("open")).expect("writer"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let blocking = {
        let writer = Arc::clone(&writer);
        std::thread::spawn(move || (0..BLOCKING).map(|i| writer.log().append(&record(1000 + i)).expect("blocking append")).collect::<Vec<u64>>())
    };
    let on_disk = |seq: u64| fs::read_to_string(&path).expect("read").contains(&format!(r#"{{"type":"entry","seq":{seq},"#));
    let from_tasks: Vec<u64> = runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let writer = Arc::clone(&writer);
                let path = path.clone();
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    for i in 0..EACH {
                        let seq = writer.append(&record(t * EACH + i)).await.expect("async append");
                        if i % 50 == 49 {
                            let text = fs::read_to_string(&path).expect("read");
                            assert!(text.contains(&format!(r#"{{"type":"entry","seq":{seq},"#)), "entry {seq} acknowledged but not written");
                        }
                        seqs.push(seq);
                    }
                    seqs
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let from_thread = blocking.join().expect("blocking thread");
    assert!(on_disk(*from_thread.last().expect("appended")));
    Arc::try_unwrap(writer).map_err(|_| "writer still shared").expect("sole owner").close().expect("close");
    let total = TASKS * EACH + BLOCKING;
    let report = clean_report(&path);
    assert_eq!((report.entries, report.last_seq, report.unsigned), (total, total, 0));
    let seqs: BTreeSet<u64> = from_tasks.into_iter().chain(from_thread).collect();
    assert_eq!(seqs, (1..=total).collect());
}

#[test]
fn subject_finds_exactly_the_entries_naming_a_reference() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(7)).expect("open");
    let mut expected = Vec::new();
    for i in 1..=40u64 {
        let mut r = record(i);
        // Names that must not match R1: a longer reference, a case number.
        r.case_reference = "R1".into();
        if i.is_multiple_of(10) {
            r.references.push(Returned { authority: "FR-PTS".into(), reference: "R11".into() });
        }
        // A demand about R1, naming it twice.
        if i == 33 {
            r.action = "demand".into();
            r.references = vec![
                Returned { authority: "DE-BKA".into(), reference: "R1".into() },
                Returned { authority: "NL-NFI".into(), reference: "R1".into() },
            ];
        }
        if r.references.iter().any(|x| x.reference == "R1") {
            expected.push((i, r.clone()));
        }
        log.append(&r).expect("append");
    }
    log.close().expect("close");
    let found: Vec<_> = audit::subject(&path, "R1").expect("subject").into_iter().map(|e| (e.seq, e.record)).collect();
    assert_eq!(found, expected);
    assert!(expected.len() >= 5, "the test data names R1 several times");
    assert!(audit::subject(&path, "R").expect("subject").is_empty());
    assert_eq!(audit::subject(&path, "R11").expect("subject").len(), 4);
}

#[test]
fn subject_reads_only_an_intact_chain() {
    let (_dir, path) = write_log(5, 100);
    let mut all = lines(&path);
    let at = line_of(&all, 2);
    all[at] = all[at].replacen("case-2", "case-9", 1);
    write_lines(&path, &all);
    assert_eq!(damage(audit::subject(&path, "U1")), (at as u64 + 1, Damage::Changed { seq: 2 }));
}

#[test]
fn a_record_too_large_for_a_line_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path, node_key(), clock()).expect("open");
    let mut r = record(1);
    r.purpose = "x".repeat(audit::MAX_LINE);
    assert!(matches!(log.append(&r), Err(AuditError::TooLarge { .. })));
    assert_eq!(log.append(&record(1)).expect("append"), 1, "the log goes on");
}

/// A batch's answer naming `n` references `H0000000`, `H0000001`, ...: more
/// than a line holds for `n` over about 90,000.
fn huge(n: usize) -> Record {
    Record {
        references: (0..n).map(|i| Returned { authority: "NL-NFI".into(), reference: format!("H{i:07}") }).collect(),
        outcome: Outcome::Answered { hits: n as u32 },
        action: "batch".into(),
        ..record(1)
    }
}

/// The parts of an exchange in the log's lines: (line index, seq, part,
/// record) of every entry with a part.
fn parts_of(lines: &[String]) -> Vec<(usize, u64, Part, Record)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(r#"{"type":"entry","#) && l.contains(r#"},"part":{"#))
        .map(|(at, l)| {
            let v: serde_json::Value = serde_json::from_str(l).expect("entry JSON");
            let part = Part { index: v["part"]["index"].as_u64().expect("index") as u32, of: v["part"]["of"].as_u64().expect("of") as u32 };
            (at, v["seq"].as_u64().expect("seq"), part, serde_json::from_value(v["record"].clone()).expect("record"))
        })
        .collect()
}

#[test]
fn an_exchange_naming_more_references_than_a_line_holds_is_logged_in_parts() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(2)).expect("open");
    assert_eq!(log.append(&record(1)).expect("append"), 1);
    let big = huge(200_000);
    assert!(serde_json::to_string(&big).expect("JSON").len() > 2 * audit::MAX_LINE, "the test needs three parts or more");
    assert_eq!(log.append(&big).expect("append"), 2, "the number of the first part");
    let last = log.last_seq();
    assert!(last >= 4, "three parts or more: seq 2 to {last}");
    assert_eq!(log.append(&record(7)).expect("append"), last + 1);
    log.close().expect("close");

    let report = clean_report(&path);
    assert_eq!((report.entries, report.unsigned), (last + 1, 0));
    let all = lines(&path);
    assert!(all.iter().all(|l| l.len() <= audit::MAX_LINE), "every line within the limit");
    let parts = parts_of(&all);
    let of = (last - 1) as u32;
    // Consecutive lines, numbered 1 to n, no checkpoint between them, each
    // the whole exchange but for a share of the references, in order.
    for (k, (at, seq, part, r)) in parts.iter().enumerate() {
        assert_eq!((*at, *seq, *part), (parts[0].0 + k, 2 + k as u64, Part { index: k as u32 + 1, of }));
        assert_eq!(Record { references: Vec::new(), ..r.clone() }, Record { references: Vec::new(), ..big.clone() });
        assert!(!r.references.is_empty());
    }
    let joined: Vec<Returned> = parts.iter().flat_map(|(_, _, _, r)| r.references.clone()).collect();
    assert_eq!(joined, big.references);
    // The right of access finds the part naming a reference, the last one's too.
    for (reference, index) in [("H0000000", 1), ("H0199999", of)] {
        let found = audit::subject(&path, reference).expect("subject");
        assert_eq!(found.len(), 1, "{reference}");
        assert_eq!((found[0].part, found[0].record.case_reference.as_str()), (Some(Part { index, of }), "case-1"));
        assert_eq!(format!("{}\n", found[0].to_line()), all[parts[index as usize - 1].0], "a part prints as its log line");
    }
    // Reopened, the log goes on after the exchange.
    let log = AuditLog::open(&path, node_key(), clock()).expect("reopen");
    assert_eq!(log.append(&record(8)).expect("append"), last + 2);
    log.close().expect("close");
    assert_eq!(clean_report(&path).entries, last + 2);
}

#[test]
fn parts_removed_reordered_changed_or_mixed_with_other_lines_are_found() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(1000)).expect("open");
    log.append(&record(1)).expect("append");
    log.append(&huge(200_000)).expect("append");
    log.append(&record(2)).expect("append");
    log.close().expect("close");
    let original = lines(&path);
    let parts = parts_of(&original);
    let (first, of) = (parts[0].0, parts[0].2.of);
    assert!(of >= 3);
    let check = |change: &dyn Fn(&mut Vec<String>), line: usize, expected: Damage| {
        let mut all = original.clone();
        change(&mut all);
        // Recomputed hashes: only the parts' order and contents are wrong.
        rehash(&mut all);
        write_lines(&path, &all);
        assert_eq!(damage(audit::verify(&path, &public())), (line as u64 + 1, expected.clone()));
        assert_eq!(damage(audit::subject(&path, "U1")), (line as u64 + 1, expected.clone()));
        assert_eq!(damage(AuditLog::open(&path, node_key(), clock())), (line as u64 + 1, expected));
    };
    // Part 2 removed: part 3 (now seq 3) does not follow part 1.
    check(&|all| drop(all.remove(first + 1)), first + 1, Damage::StrayPart { seq: 3, index: 3, of });
    // Parts 2 and 3 swapped.
    check(&|all| all.swap(first + 1, first + 2), first + 1, Damage::StrayPart { seq: 3, index: 3, of });
    // The last part removed: the next entry stands where it should be.
    let after = first + of as usize - 1;
    check(&|all| drop(all.remove(after)), after, Damage::UnfinishedParts { seq: 2, found: of - 1, of });
    // Another entry among the parts.
    let one = original[line_of(&original, 1)].clone();
    check(&|all| all.insert(first + 1, one.clone()), first + 1, Damage::UnfinishedParts { seq: 2, found: 1, of });
    // A part of another exchange (another case) in the middle.
    check(&|all| all[first + 1] = all[first + 1].replacen("case-1", "case-9", 1), first + 1, Damage::StrayPart { seq: 3, index: 2, of });
    // Part numbers no exchange has.
    for bad in [r#""part":{"index":0,"#, r#""part":{"index":9,"#] {
        check(&|all| all[first] = all[first].replacen(r#""part":{"index":1,"#, bad, 1), first, Damage::InvalidPart { seq: 2, index: if bad.contains('0') { 0 } else { 9 }, of });
    }
    check(&|all| all[first] = all[first].replacen(&format!(r#""of":{of}}}"#), r#""of":1}"#, 1), first, Damage::InvalidPart { seq: 2, index: 1, of: 1 });
    // A checkpoint among the parts (here: the last one, moved).
    let mut all = original.clone();
    let checkpoint = all.pop().expect("the last checkpoint");
    all.insert(first + 1, checkpoint);
    write_lines(&path, &all);
    assert_eq!(damage(audit::verify(&path, &public())), (first as u64 + 2, Damage::UnfinishedParts { seq: 2, found: 1, of }));
}

/// A log of entries 1 to 3 and a checkpoint, then an exchange in parts
/// (seq 4 on) and a crash before any checkpoint: the head names entry 3.
fn crashed_among_parts() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_with(&path, node_key(), clock(), every(1000)).expect("open");
    for i in 1..=3 {
        log.append(&record(i)).expect("append");
    }
    log.checkpoint().expect("checkpoint");
    log.append(&huge(200_000)).expect("append");
    // A crash: no last checkpoint (the leaked descriptor keeps the file
    // locked, so the test works on copies).
    std::mem::forget(log);
    (dir, path)
}

#[test]
fn a_crash_among_the_parts_of_an_exchange_cuts_all_of_them_off() {
    let (dir, path) = crashed_among_parts();
    let original = fs::read(&path).expect("read");
    let all = lines(&path);
    let parts = parts_of(&all);
    let of = parts[0].2.of;
    let start = |line: usize| all[..line].iter().map(String::len).sum::<usize>();
    let before = start(parts[0].0);
    // Cuts at the end of each part but the last, and inside parts.
    let mut cuts: Vec<(usize, Option<u32>)> = (1..of as usize).map(|k| (start(parts[k].0), Some(k as u32))).collect();
    cuts.extend([(before + 1, None), (start(parts[1].0) + 1000, None), (original.len() - 1, None)]);
    for (len, whole_parts) in cuts {
        let copy = crashed_copy(&path, len, dir.path(), &format!("cut{len}"));
        // Before reopening: verify reports the unfinished line, or the
        // unfinished exchange; the right of access lists none of its parts.
        let (line, what) = damage(audit::verify(&copy, &public()));
        match whole_parts {
            Some(found) => assert_eq!((line, what), (parts[0].0 as u64 + 1, Damage::UnfinishedParts { seq: 4, found, of }), "cut at {len}"),
            None => assert!(matches!(what, Damage::Unfinished { .. }), "cut at {len}: {what}"),
        }
        assert!(audit::subject(&copy, "H0000000").expect("subject").is_empty(), "cut at {len}");
        let log = AuditLog::open(&copy, node_key(), clock()).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        assert_eq!(log.last_seq(), 3, "cut at {len}: the parts were cut off");
        assert_eq!(log.append(&record(40)).expect("append"), 4);
        log.close().expect("close");
        assert_eq!(fs::read(&copy).expect("read")[..before], original[..before], "cut at {len}: earlier bytes changed");
        let report = clean_report(&copy);
        assert_eq!((report.entries, report.head, report.unsigned), (4, Some(4), 0), "cut at {len}");
        assert!(audit::subject(&copy, "H0000000").expect("subject").is_empty());
    }
    // Whole, the exchange is kept.
    let copy = crashed_copy(&path, original.len(), dir.path(), "whole");
    let log = AuditLog::open(&copy, node_key(), clock()).expect("open");
    assert_eq!(log.last_seq(), 3 + u64::from(of));
    drop(log);
    assert_eq!(audit::subject(&copy, "H0199999").expect("subject")[0].part, Some(Part { index: of, of }));
}

#[test]
fn a_record_whose_fields_besides_the_references_overflow_a_line_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path, node_key(), clock()).expect("open");
    let mut r = huge(200_000);
    r.purpose = "x".repeat(audit::MAX_LINE);
    assert!(matches!(log.append(&r), Err(AuditError::TooLarge { .. })));
    let mut r = huge(10);
    r.references[5].reference = "x".repeat(audit::MAX_LINE);
    assert!(matches!(log.append(&r), Err(AuditError::TooLarge { .. })));
    assert_eq!(log.append(&record(1)).expect("append"), 1, "the log goes on");
    log.close().expect("close");
    assert_eq!(clean_report(&path).entries, 1);
}

/// `tests/data/old-format.log`: written by the node before records had a
/// `demand` and entries a `part` (node key: `node_key()`).
#[test]
fn a_log_written_before_demand_ids_and_parts_still_verifies_and_goes_on() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.log");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    fs::copy(data.join("old-format.log"), &path).expect("copy the old log");
    fs::copy(data.join("old-format.log.head"), default_head_path(&path)).expect("copy its head");
    let old = fs::read(&path).expect("read");
    assert!(!String::from_utf8_lossy(&old).contains("\"demand\":"));
    assert_eq!(clean_report(&path).entries, 5);
    let found = audit::subject(&path, "P0000000244").expect("subject");
    assert_eq!(found.iter().map(|e| (e.seq, e.record.demand.clone(), e.part)).collect::<Vec<_>>(), [(1, None, None), (2, None, None), (5, None, None)]);
    // Entries read back print as the old bytes.
    let text = String::from_utf8_lossy(&old).into_owned();
    assert!(found.iter().all(|e| text.contains(&format!("{}\n", e.to_line()))));
    // The node continues it with the new fields.
    let log = AuditLog::open(&path, node_key(), clock()).expect("open");
    let mut r = record(3);
    r.demand = Some("0123456789abcdef0123456789abcdef".into());
    assert_eq!(log.append(&r).expect("append"), 6);
    log.close().expect("close");
    assert_eq!(clean_report(&path).entries, 6);
    assert_eq!(fs::read(&path).expect("read")[..old.len()], old[..], "old entries untouched");
    let found = audit::subject(&path, "U3").expect("subject");
    assert_eq!(found[0].record.demand.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    assert!(found[0].to_line().contains(r#""action":"search","demand":"0123456789abcdef0123456789abcdef","query_digest""#));
}

#[test]
fn digests_have_one_spelling() {
    let d = Digest::of(b"abc");
    assert_eq!(Digest::from_hex(&d.to_string()), Some(d));
    assert_eq!(Digest::from_hex(&d.to_string().to_uppercase()), None);
    assert_eq!(Digest::from_hex(&d.to_string()[1..]), None);
}

#[test]
fn the_log_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AuditLog>();
}

fn any_text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, control characters and any Unicode: whatever a
    // requester may put in a purpose or a case reference.
    prop_oneof![any::<String>(), "[\"\\\\\\x00-\\x1f a-z\u{e9}\u{1F600}]{0,12}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_record_round_trips(
        texts in proptest::collection::vec(any_text(), 7),
        hits in any::<u32>(),
        status in any::<u16>(),
        refused in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("audit.log");
        let r = Record {
            requester: texts[0].clone(),
            purpose: texts[1].clone(),
            case_reference: texts[2].clone(),
            category: texts[3].clone(),
            action: texts[4].clone(),
            demand: refused.then(|| texts[2].clone()),
            query_digest: Digest::of(texts[5].as_bytes()),
            references: vec![Returned { authority: texts[5].clone(), reference: texts[6].clone() }],
            outcome: if refused { Outcome::Refused { status, code: texts[0].clone() } } else { Outcome::Answered { hits } },
        };
        let log = AuditLog::open(&path, node_key(), clock()).expect("open");
        prop_assert_eq!(log.append(&r).expect("append"), 1);
        log.close().expect("close");
        prop_assert_eq!(clean_report(&path).entries, 1);
        let found = audit::subject(&path, &texts[6]).expect("subject");
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(&found[0].record, &r);
    }
}
