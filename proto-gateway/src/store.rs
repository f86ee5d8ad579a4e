//! The durable outbox: an SQLite file (WAL, `synchronous = FULL`) with the
//! events not yet delivered and the dead letters.
//!
//! All writes go through one writer thread ([`Outbox`]). It takes whatever
//! commands are queued (up to `max_batch`), applies them in one transaction
//! and commits once, so one fsync covers every event that arrived while the
//! previous commit was syncing (group commit). Only after that commit does it
//! answer the RPCs waiting on those events: an acknowledged event is on disk.
//!
//! SQLite rather than an embedded KV store because the CLI (`dead-letters
//! replay`) must work on the same file while the gateway runs; WAL gives it
//! concurrent readers and a short writer lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::convert::Event;
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// Commands queued for the writer before callers feel backpressure.
const QUEUE: usize = 65_536;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_sid      TEXT NOT NULL UNIQUE,
    ordering_key   TEXT NOT NULL,
    payload        TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    -- 'rpc' rows reach the running forwarder from the writer; 'replay'
    -- rows are written by the CLI and picked up by polling.
    origin         TEXT NOT NULL DEFAULT 'rpc',
    -- Failed delivery attempts so far, so the limit holds across restarts.
    attempts       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_sid      TEXT NOT NULL,
    ordering_key   TEXT NOT NULL,
    payload        TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    attempts       INTEGER NOT NULL,
    last_error     TEXT NOT NULL,
    dead_at_ms     INTEGER NOT NULL
);
";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Opens (creating if needed) the outbox database with durable settings.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let conn = Connection::open(path)?;
    // WAL: readers (the CLI, delivery) never block the writer.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit fsyncs the WAL, so a committed (= acknowledged)
    // event survives power loss, not just a killed process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The CLI and the gateway share the file; wait briefly for the lock.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    add_attempts_column(&conn)?;
    Ok(conn)
}

/// Outboxes created before attempts were persisted lack the column.
fn add_attempts_column(conn: &Connection) -> Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('outbox') WHERE name = 'attempts'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch("ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

/// What the forwarder needs to schedule a stored event (the payload stays
/// on disk until delivery, so a long backlog costs little memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Outbox row id; also the delivery order within a key.
    pub seq: i64,
    /// Leg or bridge sid (or `event:<sid>`).
    pub ordering_key: Arc<str>,
    /// When the gateway stored it (for the delivery latency metric).
    pub received_at_ms: i64,
    /// Failed attempts already made (before a restart).
    pub attempts: u32,
    /// Size of its JSON (to fill a batch POST without loading it).
    pub len: usize,
}

/// A stored event as loaded for delivery.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Outbox row id.
    pub seq: i64,
    /// The event id (`webhook-id`).
    pub event_sid: String,
    /// The protobuf-JSON body.
    pub payload: String,
}

/// A dead letter, as the CLI shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadLetter {
    /// Id for `show` / `replay`.
    pub id: i64,
    /// The event id.
    pub event_sid: String,
    /// Its ordering key.
    pub ordering_key: String,
    /// The protobuf-JSON body (omitted by `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// When the gateway first stored it.
    pub received_at_ms: i64,
    /// Delivery attempts made.
    pub attempts: u32,
    /// The last failure (status and body excerpt, or network error).
    pub last_error: String,
    /// When it was given up on.
    pub dead_at_ms: i64,
}

/// Result of appending one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Newly stored; will be delivered.
    New(Job),
    /// An event with this id is already waiting in the outbox (Exotel
    /// retried); it is acknowledged again without a second row.
    Duplicate,
}

enum Command {
    Append(Event, oneshot::Sender<Result<Appended>>),
    Delivered(i64),
    Failed {
        seq: i64,
        attempts: u32,
    },
    Dead {
        seq: i64,
        attempts: u32,
        last_error: String,
    },
    Close,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Command>,
}

/// The writer thread, to join on shutdown.
pub struct WriterHandle(std::thread::JoinHandle<()>);

impl WriterHandle {
    /// Waits until the writer has committed everything queued before
    /// [`Outbox::close`] and exited.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("outbox writer panicked");
        }
    }
}

impl Outbox {
    /// Opens the database and starts the writer. Every newly committed event
    /// is sent to `committed` after its transaction is durable.
    pub fn start(
        path: &Path,
        max_batch: usize,
        committed: mpsc::UnboundedSender<Job>,
        metrics: Arc<Metrics>,
    ) -> Result<(Outbox, WriterHandle)> {
        let conn = open(path)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || writer_loop(conn, rx, max_batch, committed, metrics))
            .map_err(|e| Error::io("starting the outbox writer", e))?;
        Ok((Outbox { tx }, WriterHandle(handle)))
    }

    /// Stores one event; returns once it is committed to disk.
    pub async fn append(&self, event: Event) -> Result<Appended> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Append(event, tx))
            .await
            .map_err(|_| Error::StoreClosed)?;
        rx.await.map_err(|_| Error::StoreClosed)?
    }

    /// Queues an append without waiting: the writer takes commands in the
    /// order they were queued, so events queued one after another get
    /// increasing `seq` (their delivery order). The receiver answers after
    /// the commit. Refused (not queued) when the writer is gone or its
    /// queue is full.
    pub fn try_enqueue(&self, event: Event) -> Result<oneshot::Receiver<Result<Appended>>> {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send(Command::Append(event, tx)) {
            Ok(()) => Ok(rx),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Error::Overloaded),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::StoreClosed),
        }
    }

    /// Removes a delivered event (batched with other writes).
    pub async fn delivered(&self, seq: i64) -> Result<()> {
        self.send(Command::Delivered(seq)).await
    }

    /// Records that `attempts` attempts have failed (batched like every
    /// write), so a restart does not reset the count.
    pub async fn failed(&self, seq: i64, attempts: u32) -> Result<()> {
        self.send(Command::Failed { seq, attempts }).await
    }

    /// Moves an event to the dead letters.
    pub async fn dead(&self, seq: i64, attempts: u32, last_error: String) -> Result<()> {
        self.send(Command::Dead {
            seq,
            attempts,
            last_error,
        })
        .await
    }

    /// Whether the writer still takes commands (false after a shutdown or
    /// if it died), for the health check.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Asks the writer to commit what is queued and stop.
    pub async fn close(&self) {
        let _ = self.tx.send(Command::Close).await;
    }

    async fn send(&self, cmd: Command) -> Result<()> {
        self.tx.send(cmd).await.map_err(|_| Error::StoreClosed)
    }
}

fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    max_batch: usize,
    committed: mpsc::UnboundedSender<Job>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        let Some(first) = rx.blocking_recv() else {
            return;
        };
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        let closing = batch.iter().any(|c| matches!(c, Command::Close));
        apply_batch(&mut conn, &mut batch, &committed, &metrics);
        if closing {
            // Commands that raced in after Close are answered with an error
            // (their senders see StoreClosed), never silently dropped.
            rx.close();
            while let Ok(cmd) = rx.try_recv() {
                if let Command::Append(_, ack) = cmd {
                    let _ = ack.send(Err(Error::StoreClosed));
                }
            }
            return;
        }
    }
}

/// Applies one batch in one transaction, then answers the appends.
fn apply_batch(
    conn: &mut Connection,
    batch: &mut Vec<Command>,
    committed: &mpsc::UnboundedSender<Job>,
    metrics: &Metrics,
) {
    let now = now_ms();
    let mut results: Vec<(oneshot::Sender<Result<Appended>>, Appended)> = Vec::new();
    let outcome = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (event_sid, ordering_key, payload, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
            let mut count = tx.prepare_cached("UPDATE outbox SET attempts = ?2 WHERE seq = ?1")?;
            let mut bury = tx.prepare_cached(
                "INSERT INTO dead_letters
                   (event_sid, ordering_key, payload, received_at_ms, attempts, last_error, dead_at_ms)
                 SELECT event_sid, ordering_key, payload, received_at_ms, ?2, ?3, ?4
                 FROM outbox WHERE seq = ?1",
            )?;
            for cmd in batch.drain(..) {
                match cmd {
                    Command::Append(ev, ack) => {
                        let n =
                            insert.execute(params![ev.event_sid, ev.ordering_key, ev.json, now])?;
                        let appended = if n == 1 {
                            Appended::New(Job {
                                seq: tx.last_insert_rowid(),
                                ordering_key: Arc::from(ev.ordering_key.as_str()),
                                received_at_ms: now,
                                attempts: 0,
                                len: ev.json.len(),
                            })
                        } else {
                            Appended::Duplicate
                        };
                        results.push((ack, appended));
                    }
                    Command::Delivered(seq) => {
                        delete.execute([seq])?;
                    }
                    Command::Failed { seq, attempts } => {
                        count.execute(params![seq, attempts])?;
                    }
                    Command::Dead {
                        seq,
                        attempts,
                        last_error,
                    } => {
                        bury.execute(params![seq, attempts, last_error, now])?;
                        delete.execute([seq])?;
                    }
                    Command::Close => {}
                }
            }
        }
        tx.commit()
    })();
    match outcome {
        Ok(()) => {
            metrics.committed();
            for (ack, appended) in results {
                if let Appended::New(job) = &appended {
                    let _ = committed.send(job.clone());
                }
                // The RPC may have been cancelled; the event is stored anyway
                // and will be delivered (at-least-once).
                let _ = ack.send(Ok(appended));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "outbox commit failed; the batch is not acknowledged");
            for (ack, _) in results {
                let _ = ack.send(Err(Error::Commit(e.to_string())));
            }
            // Acks for appends that were drained but not reached are dropped
            // with their senders, which reports StoreClosed to the caller:
            // also "not stored".
        }
    }
    batch.clear();
}

/// Read access to the outbox for delivery, and the dead-letter operations
/// the CLI performs; each opens its own connection.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// A store on `path` (opened lazily per operation).
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store { path: path.into() }
    }

    /// Opens a connection.
    pub fn connect(&self) -> Result<Connection> {
        open(&self.path)
    }

    /// Every undelivered event in commit order (restart recovery).
    pub fn pending(&self, conn: &Connection) -> Result<Vec<Job>> {
        jobs(
            conn,
            "SELECT seq, ordering_key, received_at_ms, attempts, length(payload) FROM outbox ORDER BY seq",
            [],
        )
    }

    /// Events the CLI re-queued after `after_seq`.
    pub fn replays_after(&self, conn: &Connection, after_seq: i64) -> Result<Vec<Job>> {
        jobs(
            conn,
            "SELECT seq, ordering_key, received_at_ms, attempts, length(payload) FROM outbox
             WHERE origin = 'replay' AND seq > ?1 ORDER BY seq",
            [after_seq],
        )
    }

    /// Loads one event for delivery; `None` if it is gone.
    pub fn load(conn: &Connection, seq: i64) -> Result<Option<Stored>> {
        Ok(conn
            .query_row(
                "SELECT seq, event_sid, payload FROM outbox WHERE seq = ?1",
                [seq],
                |r| {
                    Ok(Stored {
                        seq: r.get(0)?,
                        event_sid: r.get(1)?,
                        payload: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Number of undelivered events.
    pub fn depth(conn: &Connection) -> Result<i64> {
        Ok(conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?)
    }

    /// Dead letters, newest first, without payloads.
    pub fn list_dead(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(
            "SELECT id, event_sid, ordering_key, received_at_ms, attempts, last_error, dead_at_ms
             FROM dead_letters ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(DeadLetter {
                id: r.get(0)?,
                event_sid: r.get(1)?,
                ordering_key: r.get(2)?,
                payload: None,
                received_at_ms: r.get(3)?,
                attempts: r.get(4)?,
                last_error: r.get(5)?,
                dead_at_ms: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One dead letter with its payload.
    pub fn show_dead(&self, id: i64) -> Result<DeadLetter> {
        let conn = self.connect()?;
        conn.query_row(
            "SELECT id, event_sid, ordering_key, payload, received_at_ms, attempts, last_error, dead_at_ms
             FROM dead_letters WHERE id = ?1",
            [id],
            |r| {
                Ok(DeadLetter {
                    id: r.get(0)?,
                    event_sid: r.get(1)?,
                    ordering_key: r.get(2)?,
                    payload: Some(r.get(3)?),
                    received_at_ms: r.get(4)?,
                    attempts: r.get(5)?,
                    last_error: r.get(6)?,
                    dead_at_ms: r.get(7)?,
                })
            },
        )
        .optional()?
        .ok_or(Error::NoSuchDeadLetter(id))
    }

    /// Moves dead letters back into the outbox (all of them when `id` is
    /// `None`); returns how many. A running gateway picks them up within its
    /// replay poll interval, a stopped one at its next start.
    pub fn replay(&self, id: Option<i64>) -> Result<usize> {
        let mut conn = self.connect()?;
        // Immediate: take the write lock first (waiting up to the busy
        // timeout). A deferred transaction that reads and then writes fails
        // at once with SQLITE_BUSY if the running gateway committed in
        // between (seen as a flaky `replay --all` while it delivered).
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = match id {
            Some(id) => {
                let exists: Option<i64> = tx
                    .query_row("SELECT id FROM dead_letters WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                vec![exists.ok_or(Error::NoSuchDeadLetter(id))?]
            }
            None => {
                let mut stmt = tx.prepare("SELECT id FROM dead_letters ORDER BY id")?;
                let ids = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids
            }
        };
        for id in &ids {
            // OR IGNORE: if the same event is already waiting, it will be
            // delivered anyway; the dead letter is simply resolved.
            tx.execute(
                "INSERT OR IGNORE INTO outbox (event_sid, ordering_key, payload, received_at_ms, origin)
                 SELECT event_sid, ordering_key, payload, ?2, 'replay' FROM dead_letters WHERE id = ?1",
                params![id, now_ms()],
            )?;
            tx.execute("DELETE FROM dead_letters WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(ids.len())
    }
}

fn jobs(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Job>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok(Job {
            seq: r.get(0)?,
            ordering_key: Arc::from(r.get::<_, String>(1)?.as_str()),
            received_at_ms: r.get(2)?,
            attempts: r.get(3)?,
            len: r.get::<_, i64>(4)?.max(0) as usize,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An event with this sid and ordering key (also used by replica's tests).
    pub(crate) fn ev(sid: &str, key: &str) -> Event {
        Event {
            event_sid: sid.into(),
            ordering_key: key.into(),
            json: format!("{{\"event_sid\":\"{sid}\"}}"),
        }
    }

    #[tokio::test]
    async fn append_dedupes_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (outbox, writer) = Outbox::start(&path, 16, tx, Arc::default()).unwrap();
        let a = outbox.append(ev("e1", "leg1")).await.unwrap();
        let Appended::New(job) = a else {
            panic!("{a:?}")
        };
        assert_eq!(rx.recv().await.unwrap(), job);
        assert_eq!(
            outbox.append(ev("e1", "leg1")).await.unwrap(),
            Appended::Duplicate
        );
        outbox.append(ev("e2", "leg1")).await.unwrap();
        outbox.failed(job.seq, 2).await.unwrap();
        outbox.close().await;
        writer.join();

        let store = Store::new(&path);
        let conn = store.connect().unwrap();
        let pending = store.pending(&conn).unwrap();
        assert_eq!(pending.len(), 2);
        let first = Store::load(&conn, pending[0].seq).unwrap().unwrap();
        assert_eq!(first.event_sid, "e1");
        assert_eq!((pending[0].attempts, pending[1].attempts), (2, 0));
    }

    #[tokio::test]
    async fn concurrent_appends_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = mpsc::unbounded_channel();
        let metrics = Arc::new(Metrics::default());
        let (outbox, writer) =
            Outbox::start(&dir.path().join("o.db"), 512, tx, metrics.clone()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..500 {
            let o = outbox.clone();
            tasks.push(tokio::spawn(async move {
                o.append(ev(&format!("e{i}"), "k")).await
            }));
        }
        for t in tasks {
            assert!(matches!(t.await.unwrap().unwrap(), Appended::New(_)));
        }
        outbox.close().await;
        writer.join();
        // Group commit: far fewer transactions (fsyncs) than events.
        assert!(
            metrics.commits() < 50,
            "{} commits for 500 events",
            metrics.commits()
        );
        let store = Store::new(dir.path().join("o.db"));
        assert_eq!(Store::depth(&store.connect().unwrap()).unwrap(), 500);
    }

    #[tokio::test]
    async fn dead_letter_then_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let (tx, _rx) = mpsc::unbounded_channel();
        let (outbox, writer) = Outbox::start(&path, 16, tx, Arc::default()).unwrap();
        let Appended::New(job) = outbox.append(ev("e1", "leg1")).await.unwrap() else {
            panic!()
        };
        outbox.dead(job.seq, 3, "500: boom".into()).await.unwrap();
        outbox.close().await;
        writer.join();

        let store = Store::new(&path);
        let dead = store.list_dead(10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].attempts, dead[0].last_error.as_str()),
            (3, "500: boom")
        );
        assert!(store
            .show_dead(dead[0].id)
            .unwrap()
            .payload
            .unwrap()
            .contains("e1"));
        assert!(matches!(
            store.replay(Some(999)),
            Err(Error::NoSuchDeadLetter(999))
        ));
        assert_eq!(store.replay(Some(dead[0].id)).unwrap(), 1);
        assert!(store.list_dead(10).unwrap().is_empty());
        let conn = store.connect().unwrap();
        let replays = store.replays_after(&conn, job.seq).unwrap();
        assert_eq!(replays.len(), 1);
        assert!(replays[0].seq > job.seq);
    }
}
