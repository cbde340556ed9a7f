//! The audit log for an async server: a request queues its entry without
//! blocking a worker thread ([`AuditLog::enqueue`]), one writer thread
//! writes and syncs whatever is queued (group commit,
//! [`AuditLog::sync_queued`]), and the request awaits the sync of its own
//! entry before it answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::audit::{AuditError, AuditLog, Record};

/// How long the writer thread sleeps without entries before it looks
/// whether it should stop.
const IDLE: Duration = Duration::from_millis(100);

/// What is on disk, as the writer thread last saw it.
#[derive(Debug, Clone)]
enum Synced {
    /// Every entry up to this sequence number.
    Through(u64),
    /// A write failed: the log takes no more entries.
    Failed(String),
}

/// An open audit log with its writer thread.
pub struct AuditWriter {
    log: Arc<AuditLog>,
    synced: watch::Receiver<Synced>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AuditWriter {
    /// Starts the writer thread of `log`.
    ///
    /// # Errors
    /// If the thread cannot be started.
    pub fn start(log: AuditLog) -> std::io::Result<AuditWriter> {
        let log = Arc::new(log);
        let (tx, synced) = watch::channel(Synced::Through(log.last_seq()));
        let stop = Arc::new(AtomicBool::new(false));
        let (writer_log, writer_stop) = (Arc::clone(&log), Arc::clone(&stop));
        let thread = std::thread::Builder::new().name("audit-writer".into()).spawn(move || {
            let mut published = writer_log.last_seq();
            loop {
                // Read before the sync: what is queued when told to stop is
                // still written and reported.
                let stopping = writer_stop.load(Ordering::Acquire);
                match writer_log.sync_queued(published, IDLE) {
                    Ok(through) => {
                        if through > published {
                            published = through;
                            tx.send_replace(Synced::Through(through));
                        }
                    }
                    Err(e) => {
                        // The log refuses every later entry: nothing more to do.
                        tx.send_replace(Synced::Failed(e.to_string()));
                        return;
                    }
                }
                if stopping {
                    return;
                }
            }
        })?;
        Ok(AuditWriter { log, synced, stop, thread: Some(thread) })
    }

    /// Appends `record` (in parts if need be); returns its (first part's)
    /// sequence number once it is on disk.
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    pub async fn append(&self, record: &Record) -> Result<u64, AuditError> {
        let queued = self.log.enqueue(record)?;
        let seq = *queued.end();
        let mut synced = self.synced.clone();
        let failed = |cause: String| AuditError::Failed { path: self.log.path().to_path_buf(), cause };
        let seen = synced.wait_for(|s| !matches!(s, Synced::Through(t) if *t < seq)).await.map(|s| s.clone());
        match seen {
            Ok(Synced::Through(_)) => Ok(*queued.start()),
            Ok(Synced::Failed(cause)) => Err(failed(cause)),
            Err(_) => Err(failed("the audit writer stopped".into())),
        }
    }

    /// The log.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Stops the writer thread and closes the log with a last signed
    /// checkpoint.
    ///
    /// # Errors
    /// As [`AuditLog::checkpoint`].
    pub fn close(mut self) -> Result<(), AuditError> {
        self.stop_writer();
        self.log.checkpoint()
    }

    fn stop_writer(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.stop_writer();
    }
}
