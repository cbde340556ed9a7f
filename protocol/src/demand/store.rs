//! The demand database: one SQLite file in WAL mode, holding every demand and
//! every step of its history.
//!
//! Each demand is one row: the demand itself as a JSON document (the form,
//! status, deadline, authorisations, outcome), beside copies of the columns
//! lists filter on (status, deadline, authorities, country, time received).
//! Both are written in the same transaction, so they never disagree. Each
//! step appends one row to `demand_events`, which triggers keep append-only.
//!
//! The file says what it is: SQLite's `application_id` marks it as a Hitdex
//! demand database and `user_version` gives its schema version; opening
//! refuses any other SQLite file and any other file, and brings an older
//! schema up to date. [`DemandStore::verify`] checks the whole file when
//! asked.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::message::demand::{
    Authorisation, AuthorisationDecision, AuthorisationSubmission, Deadline, Demand, DemandAction,
    DemandEvent, DemandFilter, DemandForm, DemandReply, DemandStatus, Outcome,
};

use super::machine::{self, ReleaseBlocked, Step};
use super::validate::{self, InvalidInput};
use super::{DemandError, Policy, DEFAULT_LIST_LIMIT};

/// "HDMD": marks the file as a Hitdex demand database.
const APPLICATION_ID: i32 = 0x4844_4D44;

/// Schema migrations: entry `i` takes version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    "CREATE TABLE demands (
         seq INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         status TEXT NOT NULL,
         due_ms INTEGER,
         designated_authority TEXT NOT NULL,
         requesting_authority TEXT NOT NULL,
         requesting_country TEXT NOT NULL,
         received_from TEXT NOT NULL,
         received_ms INTEGER NOT NULL,
         record TEXT NOT NULL
     ) STRICT;
     CREATE INDEX demands_by_received ON demands (received_ms, seq);
     CREATE INDEX demands_by_status ON demands (status, received_ms);
     CREATE INDEX demands_by_due ON demands (due_ms) WHERE due_ms IS NOT NULL;
     CREATE INDEX demands_by_designated ON demands (designated_authority, received_ms);
     CREATE TABLE demand_events (
         demand_seq INTEGER NOT NULL REFERENCES demands (seq),
         n INTEGER NOT NULL,
         at_ms INTEGER NOT NULL,
         actor TEXT NOT NULL,
         to_status TEXT NOT NULL,
         event TEXT NOT NULL,
         PRIMARY KEY (demand_seq, n)
     ) STRICT;
     CREATE TRIGGER demand_events_no_update BEFORE UPDATE ON demand_events
     BEGIN SELECT RAISE(ABORT, 'the history of a demand is append-only'); END;
     CREATE TRIGGER demand_events_no_delete BEFORE DELETE ON demand_events
     BEGIN SELECT RAISE(ABORT, 'the history of a demand is append-only'); END;",
];

/// The schema version this build writes.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a call waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The JSON document of a demand row: everything but its id and history.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    form: DemandForm,
    received_from: String,
    received_ms: u64,
    status: DemandStatus,
    deadline: Option<Deadline>,
    authorisations: Vec<Authorisation>,
    outcome: Option<Outcome>,
}

/// A step asked of the store, with what it carries.
enum Change {
    Submit(AuthorisationSubmission),
    Decide(AuthorisationDecision),
    Reply(DemandReply),
}

impl Change {
    fn step(&self) -> Step {
        match self {
            Change::Submit(_) => Step::SubmitForAuthorisation,
            Change::Decide(d) => Step::of_decision(d),
            Change::Reply(r) => Step::of_reply(r),
        }
    }

    fn into_action(self) -> DemandAction {
        match self {
            Change::Submit(submission) => DemandAction::SubmittedForAuthorisation { submission },
            Change::Decide(decision) => DemandAction::AuthorisationDecided { decision },
            Change::Reply(reply) => DemandAction::Replied { reply },
        }
    }
}

/// The node's demands, kept in one SQLite file.
///
/// Safe to share between threads (`Arc<DemandStore>`): calls take turns on
/// one connection, and each step is one SQLite transaction, so two officials
/// answering the same demand at once get one answer stored and one
/// [`DemandError::IllegalTransition`].
pub struct DemandStore {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
    policy: Policy,
}

impl fmt::Debug for DemandStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemandStore").field("path", &self.path).field("policy", &self.policy).finish()
    }
}

impl DemandStore {
    /// Opens the demand database at `path`, creating it if the file does not
    /// exist or is empty, under the default [`Policy`] (no prior authorisation
    /// required by national law).
    ///
    /// # Errors
    ///
    /// [`DemandError::Corrupt`] when the file is not SQLite, is damaged, or
    /// is another application's SQLite database;
    /// [`DemandError::UnsupportedSchema`] when a newer build wrote it;
    /// [`DemandError::Storage`] when SQLite cannot open or write it.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<DemandStore, DemandError> {
        DemandStore::open_with_policy(path, clock, Policy::default())
    }

    /// Opens the demand database at `path` under `policy`.
    ///
    /// # Errors
    ///
    /// As [`DemandStore::open`].
    pub fn open_with_policy(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Result<DemandStore, DemandError> {
        let path = path.as_ref().to_path_buf();
        let err = |e| classify(&path, e);
        let mut conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // The first statement that reads the file: one that is not SQLite
        // fails here, as "not a database". Where WAL is impossible (some
        // network file systems) SQLite keeps its rollback journal, which is
        // slower for readers but as safe.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(err)?;
        // Demands are legal records: a step the caller was told is stored
        // must survive a power cut, which WAL promises only with FULL.
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
        migrate(&mut conn, &path)?;
        Ok(DemandStore { conn: Mutex::new(conn), clock, path, policy })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The policy the store enforces.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Stores a new demand, received now from `received_from` (the requesting
    /// authority, or the national contact point that relayed it), and starts
    /// the designated authority's 12 hours.
    ///
    /// # Errors
    ///
    /// [`DemandError::Invalid`] naming every faulty field of the form (and
    /// `received_from`); storage errors as [`DemandStore::open`].
    pub fn create(&self, form: DemandForm, received_from: &str) -> Result<Demand, DemandError> {
        let mut problems = Vec::new();
        if let Err(InvalidInput(e)) = validate::validate_form(&form) {
            problems.extend(e);
        }
        if let Err(InvalidInput(e)) = validate::validate_actor("received_from", received_from) {
            problems.extend(e);
        }
        if !problems.is_empty() {
            return Err(DemandError::Invalid(InvalidInput(problems)));
        }
        let mut conn = self.lock();
        let now = self.clock.now_ms();
        let id = new_id();
        let record = Record {
            received_from: received_from.to_owned(),
            received_ms: now,
            status: DemandStatus::Received,
            deadline: machine::deadline_on_entering(DemandStatus::Received, now),
            authorisations: Vec::new(),
            outcome: None,
            form,
        };
        let event = DemandEvent {
            at_ms: now,
            actor: received_from.to_owned(),
            from: None,
            to: DemandStatus::Received,
            action: DemandAction::Received,
            late: false,
        };
        let err = |e| classify(&self.path, e);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute(
            "INSERT INTO demands (id, status, due_ms, designated_authority, requesting_authority,
                 requesting_country, received_from, received_ms, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                record.status.as_str(),
                record.deadline.map(|d| sql_ms(d.due_ms)),
                record.form.designated_authority,
                record.form.requesting_authority.name,
                record.form.requesting_authority.country,
                record.received_from,
                sql_ms(now),
                to_json(&self.path, &record)?,
            ],
        )
        .map_err(err)?;
        let seq = tx.last_insert_rowid();
        append_event(&tx, seq, &event).map_err(err)?;
        tx.commit().map_err(err)?;
        read_demand(&conn, &self.path, &id, now)
    }

    /// The demand `id`, its history, and whether it is overdue now.
    ///
    /// # Errors
    ///
    /// [`DemandError::NotFound`]; [`DemandError::Corrupt`] when its stored
    /// record does not read; storage errors.
    pub fn get(&self, id: &str) -> Result<Demand, DemandError> {
        let conn = self.lock();
        let now = self.clock.now_ms();
        read_demand(&conn, &self.path, id, now)
    }

    /// The demands that pass `filter`, oldest received first, at most
    /// `filter.limit` (100 by default).
    ///
    /// # Errors
    ///
    /// [`DemandError::Invalid`] for a faulty filter; storage errors.
    pub fn list(&self, filter: &DemandFilter) -> Result<Vec<Demand>, DemandError> {
        self.list_for(filter, None)
    }

    /// [`DemandStore::list`] of only the demands `authority` may see: it
    /// sent them, must answer them, or was asked to authorise them
    /// (filtered before the limit applies).
    ///
    /// # Errors
    /// As [`DemandStore::list`].
    pub fn list_for(&self, filter: &DemandFilter, authority: Option<&str>) -> Result<Vec<Demand>, DemandError> {
        validate::validate_filter(filter)?;
        let conn = self.lock();
        let now = self.clock.now_ms();
        let err = |e| classify(&self.path, e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, record FROM demands
                 WHERE (?1 IS NULL OR status = ?1)
                   AND (?2 IS NULL OR designated_authority = ?2)
                   AND (?3 IS NULL OR requesting_authority = ?3)
                   AND (?4 IS NULL OR requesting_country = ?4)
                   AND (?5 IS NULL OR received_from = ?5)
                   AND (?6 IS NULL OR (due_ms IS NOT NULL AND due_ms < ?7) = ?6)
                   AND (?8 IS NULL OR received_ms >= ?8)
                   AND (?9 IS NULL OR received_ms < ?9)
                   AND (?11 IS NULL OR designated_authority = ?11 OR received_from = ?11
                        OR EXISTS (SELECT 1 FROM json_each(record, '$.authorisations')
                                   WHERE json_extract(value, '$.authorising_body') = ?11))
                 ORDER BY received_ms, seq
                 LIMIT ?10",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![
                    filter.status.map(DemandStatus::as_str),
                    filter.designated_authority,
                    filter.requesting_authority,
                    filter.requesting_country,
                    filter.received_from,
                    filter.overdue,
                    sql_ms(now),
                    filter.received_since_ms.map(sql_ms),
                    filter.received_until_ms.map(sql_ms),
                    filter.limit.unwrap_or(DEFAULT_LIST_LIMIT),
                    authority,
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        rows.into_iter()
            .map(|(seq, id, json)| {
                let record = parse_record(&self.path, &id, &json)?;
                let history = read_history(&conn, &self.path, &id, seq)?;
                Ok(assemble(id, record, history, now))
            })
            .collect()
    }

    /// The designated authority (`actor`) submits the demand to an
    /// authorising body, which has 12 hours from now to decide; the reply
    /// deadline stops until it does.
    ///
    /// # Errors
    ///
    /// [`DemandError::Invalid`]; [`DemandError::NotFound`];
    /// [`DemandError::IllegalTransition`] unless the demand is `received` or
    /// `authorised`; storage errors.
    pub fn submit_for_authorisation(
        &self,
        id: &str,
        actor: &str,
        submission: AuthorisationSubmission,
    ) -> Result<Demand, DemandError> {
        validate::validate_submission(&submission)?;
        self.apply(id, actor, Change::Submit(submission))
    }

    /// The authorising body (`actor`) decides. A grant gives the designated
    /// authority 12 hours from now to reply; a denial refuses the demand on
    /// the decision's ground.
    ///
    /// # Errors
    ///
    /// [`DemandError::Invalid`]; [`DemandError::NotFound`];
    /// [`DemandError::IllegalTransition`] unless the demand is
    /// `awaiting_authorisation`; storage errors.
    pub fn authorise(
        &self,
        id: &str,
        actor: &str,
        decision: AuthorisationDecision,
    ) -> Result<Demand, DemandError> {
        validate::validate_decision(&decision)?;
        self.apply(id, actor, Change::Decide(decision))
    }

    /// The designated authority (`actor`) replies: data, refusal or
    /// forwarding (`POST /v1/demands/{id}/answer`). A late reply is accepted
    /// and marked late in the history.
    ///
    /// # Errors
    ///
    /// [`DemandError::Invalid`]; [`DemandError::NotFound`];
    /// [`DemandError::IllegalTransition`] unless the demand is `received` or
    /// `authorised`; for data, [`DemandError::AuthorisationRequired`] when
    /// the [`Policy`] requires prior authorisation and none is granted, and
    /// [`DemandError::EvidenceWithoutJudicialAuthorisation`] when released
    /// for evidence without a granted judicial authorisation; storage errors.
    pub fn answer(&self, id: &str, actor: &str, reply: DemandReply) -> Result<Demand, DemandError> {
        validate::validate_reply(&reply)?;
        self.apply(id, actor, Change::Reply(reply))
    }

    /// Checks the whole file: SQLite's own integrity check, then that every
    /// demand and event reads and that each row's columns agree with its
    /// record.
    ///
    /// # Errors
    ///
    /// [`DemandError::Corrupt`] naming the first fault found; storage errors.
    pub fn verify(&self) -> Result<(), DemandError> {
        let conn = self.lock();
        let err = |e| classify(&self.path, e);
        let corrupt = |reason: String| DemandError::Corrupt { path: self.path.clone(), reason };
        let report: Vec<String> = conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(err)?;
        if report != ["ok"] {
            return Err(corrupt(format!("integrity check: {}", report.join("; "))));
        }
        let mut demands =
            conn.prepare("SELECT seq, id, status, due_ms, record FROM demands ORDER BY seq").map_err(err)?;
        let rows = demands
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (seq, id, status, due_ms, json) = row.map_err(err)?;
            let record = parse_record(&self.path, &id, &json)?;
            if status != record.status.as_str() || due_ms != record.deadline.map(|d| sql_ms(d.due_ms)) {
                return Err(corrupt(format!(
                    "demand `{id}`: status or deadline column disagrees with its record"
                )));
            }
            let history = read_history(&conn, &self.path, &id, seq)?;
            if history.last().map(|e| e.to) != Some(record.status) {
                return Err(corrupt(format!(
                    "demand `{id}`: its history does not end in its status {}",
                    record.status
                )));
            }
        }
        Ok(())
    }

    fn apply(&self, id: &str, actor: &str, change: Change) -> Result<Demand, DemandError> {
        validate::validate_actor("actor", actor)?;
        let mut conn = self.lock();
        let now = self.clock.now_ms();
        let err = |e| classify(&self.path, e);
        // IMMEDIATE takes the write lock before reading, so no other writer
        // (another process on the same file) can move the demand between
        // the check and the write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let (seq, mut record) =
            read_record(&tx, &self.path, id)?.ok_or_else(|| DemandError::NotFound { id: id.to_owned() })?;
        let from = record.status;
        let step = change.step();
        let to = machine::next_status(from, step).ok_or_else(|| DemandError::IllegalTransition {
            id: id.to_owned(),
            from,
            step,
        })?;
        // Who may take the step is checked here, in the transaction that
        // takes it, so that no other step can slip in between.
        let permitted = match &change {
            Change::Submit(_) | Change::Reply(_) => (record.form.designated_authority == actor).then_some(()).ok_or_else(|| format!("only the designated authority {} may", record.form.designated_authority)),
            Change::Decide(_) => match record.authorisations.last().filter(|a| a.decision.is_none()) {
                Some(pending) if pending.authorising_body == actor => Ok(()),
                Some(pending) => Err(format!("the demand awaits the decision of {}", pending.authorising_body)),
                None => Err("the demand awaits no decision".to_string()),
            },
        };
        if let Err(reason) = permitted {
            return Err(DemandError::NotPermitted { id: id.to_owned(), actor: actor.to_owned(), step, reason });
        }
        match &change {
            Change::Submit(s) => record.authorisations.push(Authorisation {
                authorising_body: s.authorising_body.clone(),
                judicial: s.judicial,
                submitted_ms: now,
                decision: None,
                decided_ms: None,
            }),
            Change::Decide(decision) => {
                let pending =
                    record.authorisations.last_mut().filter(|a| a.decision.is_none()).ok_or_else(|| {
                        DemandError::Corrupt {
                            path: self.path.clone(),
                            reason: format!("demand `{id}` awaits authorisation but records no submission"),
                        }
                    })?;
                pending.decision = Some(decision.clone());
                pending.decided_ms = Some(now);
                if let AuthorisationDecision::Denied { ground, explanation } = decision {
                    let reply = DemandReply::Refusal { ground: *ground, explanation: explanation.clone() };
                    record.outcome = Some(Outcome { at_ms: now, by: actor.to_owned(), reply });
                }
            }
            Change::Reply(reply) => {
                if let DemandReply::Data { released_for_evidence, .. } = reply {
                    machine::check_release(from, &record.authorisations, *released_for_evidence, self.policy)
                        .map_err(|blocked| match blocked {
                            ReleaseBlocked::EvidenceWithoutJudicialAuthorisation => {
                                DemandError::EvidenceWithoutJudicialAuthorisation { id: id.to_owned() }
                            }
                            ReleaseBlocked::AuthorisationRequired => {
                                DemandError::AuthorisationRequired { id: id.to_owned() }
                            }
                        })?;
                }
                record.outcome = Some(Outcome { at_ms: now, by: actor.to_owned(), reply: reply.clone() });
            }
        }
        let late = machine::is_overdue(record.deadline, now);
        record.status = to;
        record.deadline = machine::deadline_on_entering(to, now);
        tx.execute(
            "UPDATE demands SET status = ?2, due_ms = ?3, record = ?4 WHERE seq = ?1",
            params![
                seq,
                to.as_str(),
                record.deadline.map(|d| sql_ms(d.due_ms)),
                to_json(&self.path, &record)?
            ],
        )
        .map_err(err)?;
        let event = DemandEvent {
            at_ms: now,
            actor: actor.to_owned(),
            from: Some(from),
            to,
            action: change.into_action(),
            late,
        };
        append_event(&tx, seq, &event).map_err(err)?;
        tx.commit().map_err(err)?;
        read_demand(&conn, &self.path, id, now)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a call unwinds through its Transaction, whose drop
        // rolls back: the connection is sound, so the poison is ignored.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates the schema in a new file, or brings an older one up to date.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), DemandError> {
    let err = |e| classify(path, e);
    let corrupt = |reason: String| DemandError::Corrupt { path: path.to_path_buf(), reason };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let application_id: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(err)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
    let objects: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(err)?;
    let fresh = application_id == 0 && version == 0 && objects == 0;
    if !fresh && application_id != APPLICATION_ID {
        return Err(corrupt(format!(
            "an SQLite database of another application (application_id {application_id:#x}, \
             {objects} schema objects)"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(DemandError::UnsupportedSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let Ok(start) = usize::try_from(version) else {
        return Err(corrupt(format!("negative schema version {version}")));
    };
    if start == MIGRATIONS.len() {
        return Ok(());
    }
    for migration in &MIGRATIONS[start..] {
        tx.execute_batch(migration).map_err(err)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(err)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
    tx.commit().map_err(err)
}

/// Sorts SQLite's errors: a file that is not SQLite or is damaged is
/// [`DemandError::Corrupt`], anything else a storage fault.
fn classify(path: &Path, e: rusqlite::Error) -> DemandError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) {
            return DemandError::Corrupt { path: path.to_path_buf(), reason: e.to_string() };
        }
    }
    DemandError::Storage { path: path.to_path_buf(), source: e }
}

fn read_record(conn: &Connection, path: &Path, id: &str) -> Result<Option<(i64, Record)>, DemandError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, record FROM demands WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(|e| classify(path, e))?;
    row.map(|(seq, json)| Ok((seq, parse_record(path, id, &json)?))).transpose()
}

fn read_history(conn: &Connection, path: &Path, id: &str, seq: i64) -> Result<Vec<DemandEvent>, DemandError> {
    let err = |e| classify(path, e);
    let mut stmt = conn
        .prepare_cached("SELECT event FROM demand_events WHERE demand_seq = ?1 ORDER BY n")
        .map_err(err)?;
    let events: Vec<String> =
        stmt.query_map([seq], |r| r.get(0)).map_err(err)?.collect::<Result<_, _>>().map_err(err)?;
    events
        .iter()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| DemandError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("demand `{id}`: an event of its history does not read: {e}"),
            })
        })
        .collect()
}

fn read_demand(conn: &Connection, path: &Path, id: &str, now: u64) -> Result<Demand, DemandError> {
    let (seq, record) =
        read_record(conn, path, id)?.ok_or_else(|| DemandError::NotFound { id: id.to_owned() })?;
    let history = read_history(conn, path, id, seq)?;
    Ok(assemble(id.to_owned(), record, history, now))
}

fn assemble(id: String, record: Record, history: Vec<DemandEvent>, now: u64) -> Demand {
    Demand {
        id,
        status: record.status,
        overdue: machine::is_overdue(record.deadline, now),
        deadline: record.deadline,
        form: record.form,
        received_from: record.received_from,
        received_ms: record.received_ms,
        authorisations: record.authorisations,
        outcome: record.outcome,
        history,
    }
}

fn append_event(conn: &Connection, seq: i64, event: &DemandEvent) -> rusqlite::Result<()> {
    let json = serde_json::to_string(event).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    conn.prepare_cached(
        "INSERT INTO demand_events (demand_seq, n, at_ms, actor, to_status, event)
         SELECT ?1, COALESCE(MAX(n), 0) + 1, ?2, ?3, ?4, ?5 FROM demand_events WHERE demand_seq = ?1",
    )?
    .execute(params![seq, sql_ms(event.at_ms), event.actor, event.to.as_str(), json])?;
    Ok(())
}

fn parse_record(path: &Path, id: &str, json: &str) -> Result<Record, DemandError> {
    serde_json::from_str(json).map_err(|e| DemandError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("demand `{id}`: its record does not read: {e}"),
    })
}

fn to_json(path: &Path, record: &Record) -> Result<String, DemandError> {
    // Serialising these types cannot fail (no maps with non-string keys),
    // but if it ever did it is a fault of the node, reported as storage.
    serde_json::to_string(record).map_err(|e| DemandError::Storage {
        path: path.to_path_buf(),
        source: rusqlite::Error::ToSqlConversionFailure(e.into()),
    })
}

/// Milliseconds as SQLite's signed integer. Times past the year 292 million
/// saturate; they compare the same way against any real time.
fn sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// 128 random bits: ids say nothing about how many demands the node has had
/// or when, and never collide between nodes.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether `text` has the form of a demand id (32 lowercase hex digits),
/// e.g. before the audit log records a path's id: a node records no text
/// a client made up.
pub fn is_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
