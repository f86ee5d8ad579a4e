//! The event log: one `EventLog` Durable Object per ordering key
//! (`leg:<sid>`, `bridge:<sid>`, `event:<sid>`; `handlers::event_log::ordering_key`),
//! SQLite-backed, and one `DeadLetterIndex` listing every key's dead letters.
//!
//! `POST /events` appends a key's events in one call: one `transactionSync`
//! de-duplicates by `event_sid` and inserts the new events with their
//! arrival order, then the alarm is scheduled and `storage.sync()` waits
//! for the write to be durable before the object answers. The edge's 2xx
//! therefore means "stored", and nothing about acting is on that path.
//!
//! The alarm acts: it takes the pending events in `event_timestamp` order
//! under the reorder window (`handlers::event_log::next_to_apply`), runs
//! the events flow (`handlers::events::decide`) once per event, keeps the
//! decided actions with the event, posts them to Exotel's v2 API, and
//! records each outcome. A failure worth retrying (429, 5xx, network, no
//! credentials, no config) holds the key: the event is tried again after
//! its backoff (a `Retry-After` is honoured) and nothing behind it goes
//! first, until `EVENTS_MAX_ATTEMPTS` is spent and it is dead-lettered
//! (reported to the index; replayable through the admin routes). Applied
//! and dead events are deleted `EVENTS_RETENTION_DAYS` after they finished;
//! an empty log deletes itself. Delivery to Exotel is at least once: an
//! object that stops between Exotel's 2xx and writing it down posts that
//! action again. See docs/events.md.

use std::cell::RefCell;
use std::rc::Rc;

use handlers::event_log::{
    self as rules, ActionRecord, ActionStatus, AfterFailure, AppendEvent, DeadLetter,
    ElementStatus, EventState, Next, Pending, Range,
};
use handlers::events::{self, Event};
use handlers::retry::{self, Outcome};
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    console_error, console_log, console_warn, durable_object, Context, DurableObject, Env, Fetch,
    Headers, Method, Request, RequestInit, Response, Result, ScheduledTime, SqlStorage,
    SqlStorageValue, State, Storage,
};

use crate::runtime::clock::now_ms;
use crate::runtime::env::{secret, var, var_f64, var_or, var_u64};
use crate::runtime::{budget, object};
use crate::{bindings, config};

/// How soon an alarm that hit a storage error runs again.
const STORAGE_RETRY_MS: i64 = 5_000;

/// Operations on a key's log, as JSON bodies.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LogOp {
    /// Store these events (request order) unless already stored.
    Append {
        /// The key, remembered for the dead-letter index.
        key: String,
        /// The events.
        events: Vec<AppendEvent>,
    },
    /// The latest `limit` events with their states and actions.
    Log {
        /// How many.
        limit: usize,
    },
    /// Dead events that died within `range` (only `sids`, when given) become pending again.
    Replay {
        /// When they died.
        range: Range,
        /// Only these.
        #[serde(default)]
        sids: Option<Vec<String>>,
    },
}

/// The answer to [`LogOp::Append`]: one status per event, in order.
#[derive(Debug, Serialize, Deserialize)]
pub struct Appended {
    /// `stored` or `duplicate`.
    pub results: Vec<ElementStatus>,
}

/// One event of a log, for the admin routes.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogEntry {
    /// Arrival order.
    pub seq: i64,
    /// The event.
    pub event_sid: String,
    /// Its name.
    pub event_name: String,
    /// `event_timestamp` in µs, if it had one.
    pub event_ts_us: Option<i64>,
    /// When it was stored.
    pub arrived_ms: i64,
    /// pending, applied or dead.
    pub state: EventState,
    /// What applying it came to: ok, ignored, no_flow, action_rejected.
    pub result: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// When it was applied or given up.
    pub done_ms: Option<i64>,
    /// The last error.
    pub error: Option<String>,
    /// The actions decided for it, with their outcomes.
    pub actions: Vec<ActionRecord>,
    /// The event as delivered.
    pub event: serde_json::Value,
}

/// The answer to [`LogOp::Log`].
#[derive(Debug, Serialize, Deserialize)]
pub struct LogView {
    /// The key, once anything was stored.
    pub key: Option<String>,
    /// Oldest first.
    pub events: Vec<LogEntry>,
}

/// The answer to a replay.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Replayed {
    /// Dead events made pending again.
    pub replayed: usize,
}

/// Operations on the dead-letter index.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IndexOp {
    /// From a log: new dead letters, and ones replayed (`(key, event_sid)`).
    Report {
        /// Dead now.
        add: Vec<DeadLetter>,
        /// No longer dead.
        remove: Vec<(String, String)>,
    },
    /// Dead letters that died within `range`, oldest first.
    List {
        /// When.
        range: Range,
        /// How many.
        limit: usize,
    },
}

/// The answer to [`IndexOp::List`].
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeadList {
    /// Oldest first.
    pub dead: Vec<DeadLetter>,
}

/// The URL of every call to an `EventLog` or the `DeadLetterIndex`.
pub const OBJECT_URL: &str = "https://event-log/";

/// Retention in ms: `EVENTS_RETENTION_DAYS` (fractions allowed, so tests can use seconds).
fn retention_ms(env: &Env) -> i64 {
    match var_f64(env, bindings::EVENTS_RETENTION_DAYS) {
        Some(days) => (days.min(36_500.0) * 86_400_000.0) as i64,
        None => rules::days_ms(rules::DEFAULT_RETENTION_DAYS),
    }
}

/// An alarm time. (worker-rs reads a bare `i64` as an offset from now.)
fn at(ms: i64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(ms as f64)))
}

fn i(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_owned())
}

/// Runs `f` in `storage.transactionSync`: every SQL statement in it commits
/// together or, when it fails, not at all. (worker-rs binds only the
/// asynchronous `transaction`, which SQLite-backed objects do not offer.)
fn transaction_sync<T: 'static>(
    storage: &Storage,
    f: impl FnOnce() -> Result<T> + 'static,
) -> Result<T> {
    let raw: &JsValue = storage.as_raw().as_ref();
    let run: js_sys::Function = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))?
        .dyn_into()
        .map_err(|_| worker::Error::from("storage.transactionSync is not available"))?;
    let out: Rc<RefCell<Option<Result<T>>>> = Rc::default();
    let slot = out.clone();
    let body = Closure::once(move || -> std::result::Result<JsValue, JsValue> {
        let r = f();
        let failed = r.as_ref().err().map(|e| e.to_string());
        *slot.borrow_mut() = Some(r);
        match failed {
            Some(m) => Err(js_sys::Error::new(&m).into()),
            None => Ok(JsValue::UNDEFINED),
        }
    });
    let called = run.call1(raw, body.as_ref().unchecked_ref());
    drop(body);
    let r = out.borrow_mut().take();
    match (called, r) {
        (_, Some(Err(e))) => Err(e),
        (Err(e), _) => Err(worker::Error::from(e)),
        (Ok(_), Some(Ok(v))) => Ok(v),
        (Ok(_), None) => Err(worker::Error::from("transaction did not run")),
    }
}

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        event_sid TEXT NOT NULL UNIQUE,
        event_name TEXT NOT NULL,
        ts_us INTEGER,
        arrived_ms INTEGER NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        result TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before_ms INTEGER NOT NULL DEFAULT 0,
        done_ms INTEGER,
        error TEXT,
        actions TEXT)",
    "CREATE INDEX IF NOT EXISTS events_state ON events (state, done_ms)",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    // Dead-letter changes not yet reported to the index.
    "CREATE TABLE IF NOT EXISTS index_outbox (event_sid TEXT PRIMARY KEY, op TEXT NOT NULL, entry TEXT)",
];

/// One result row, columns in SELECT order. Rows are read this way rather
/// than deserialized into structs: one small reader instead of a serde
/// deserializer per row type keeps the wasm smaller.
struct Row(Vec<SqlStorageValue>);

impl Row {
    fn int(&self, col: usize) -> Option<i64> {
        match self.0.get(col) {
            Some(SqlStorageValue::Integer(v)) => Some(*v),
            Some(SqlStorageValue::Float(f)) => Some(*f as i64),
            _ => None,
        }
    }

    fn text(&self, col: usize) -> Option<String> {
        match self.0.get(col) {
            Some(SqlStorageValue::String(v)) => Some(v.clone()),
            _ => None,
        }
    }

    fn string(&self, col: usize) -> String {
        self.text(col).unwrap_or_default()
    }
}

/// Runs a query and reads its rows.
fn rows(sql: &SqlStorage, query: &str, bindings: Vec<SqlStorageValue>) -> Result<Vec<Row>> {
    sql.exec(query, bindings)?
        .raw()
        .map(|r| r.map(Row))
        .collect()
}

/// The first column of the first row as an integer (COUNT, MIN).
fn scalar(sql: &SqlStorage, query: &str) -> Result<Option<i64>> {
    Ok(rows(sql, query, Vec::new())?.first().and_then(|r| r.int(0)))
}

struct WorkRow {
    event_sid: String,
    event_name: String,
    arrived_ms: i64,
    body: String,
    attempts: i64,
    actions: Option<String>,
}

struct OutboxRow {
    event_sid: String,
    op: String,
    entry: Option<String>,
}

/// What the flow made of an event.
enum Decided {
    /// Post these.
    Actions(Vec<ActionRecord>),
    /// Nothing to post; the result word.
    Nothing(&'static str),
    /// Cannot tell yet (config unavailable): try again later.
    Retry(String),
}

/// The events of one ordering key.
#[durable_object(alarm)]
pub struct EventLog {
    state: State,
    env: Env,
    /// Whether this instance created its tables (again after `delete_all`).
    schema_ready: std::cell::Cell<bool>,
    /// Trace rows of this alarm's outcomes (docs/console.md), written when
    /// its work is done: after acting, never before.
    traces: std::cell::RefCell<Vec<handlers::trace::Row>>,
}

impl DurableObject for EventLog {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            schema_ready: std::cell::Cell::new(false),
            traces: Default::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: LogOp = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad event-log op: {e}"), 400),
        };
        self.schema()?;
        match op {
            LogOp::Append { key, events } => Response::from_json(&self.append(key, events).await?),
            LogOp::Log { limit } => Response::from_json(&self.view(limit)?),
            LogOp::Replay { range, sids } => {
                let replayed = self.replay(range, sids)?;
                if replayed > 0 {
                    self.state.storage().set_alarm(at(now_ms())).await?;
                }
                Response::from_json(&Replayed { replayed })
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.schema()?;
        let started = now_ms();
        let window = var_u64(
            &self.env,
            bindings::EVENTS_REORDER_MS,
            rules::DEFAULT_REORDER_MS,
        ) as i64;
        // Bounded work per alarm; the next one continues right away.
        let mut applied = 0;
        let mut broken = false;
        while applied < 200 && now_ms() - started < 20_000 {
            match rules::next_to_apply(&self.pending()?, now_ms(), window) {
                Next::Apply(seq) => {
                    if let Err(e) = self.apply(seq).await {
                        console_error!("event log: applying #{seq} failed: {e}");
                        broken = true;
                        break;
                    }
                    applied += 1;
                }
                Next::WaitUntil(_) | Next::Idle => break,
            }
        }
        self.flush_index().await;
        let traces = self.traces.take();
        crate::trace::write_all(&self.env, &traces).await;
        let cutoff = now_ms() - retention_ms(&self.env);
        self.sql().exec(
            "DELETE FROM events WHERE state != 'pending' AND done_ms <= ?",
            vec![i(cutoff)],
        )?;
        self.schedule().await?;
        if broken {
            // Storage trouble: try again shortly rather than spin.
            self.state
                .storage()
                .set_alarm(at(now_ms() + STORAGE_RETRY_MS))
                .await?;
        }
        Response::ok("done")
    }
}

impl EventLog {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn schema(&self) -> Result<()> {
        if self.schema_ready.get() {
            return Ok(());
        }
        let sql = self.sql();
        for stmt in SCHEMA {
            sql.exec(stmt, None)?;
        }
        self.schema_ready.set(true);
        Ok(())
    }

    fn key(&self) -> Option<String> {
        rows(
            &self.sql(),
            "SELECT v FROM meta WHERE k = 'key'",
            Vec::new(),
        )
        .ok()?
        .first()
        .and_then(|r| r.text(0))
    }

    /// One transaction: de-duplicate, insert, remember the key. Then the
    /// alarm, then `sync()`: the answer leaves only once all of it is durable.
    async fn append(&self, key: String, events: Vec<AppendEvent>) -> Result<Appended> {
        let sql = self.sql();
        let now = now_ms();
        let results = transaction_sync(&self.state.storage(), move || {
            sql.exec(
                "INSERT OR IGNORE INTO meta (k, v) VALUES ('key', ?)",
                vec![s(&key)],
            )?;
            let mut results = Vec::with_capacity(events.len());
            for e in &events {
                let cursor = sql.exec(
                    "INSERT INTO events (event_sid, event_name, ts_us, arrived_ms, body, state)
                     VALUES (?, ?, ?, ?, ?, 'pending') ON CONFLICT (event_sid) DO NOTHING",
                    vec![
                        s(&e.event_sid),
                        s(&e.event_name),
                        e.ts_us.map_or(SqlStorageValue::Null, i),
                        i(now),
                        s(&e.body),
                    ],
                )?;
                // Drain the cursor so rows_written is final.
                let _ = cursor.raw().count();
                results.push(if cursor.rows_written() > 0 {
                    ElementStatus::Stored
                } else {
                    ElementStatus::Duplicate
                });
            }
            Ok(results)
        })?;
        if results.contains(&ElementStatus::Stored) {
            let window = var_u64(
                &self.env,
                bindings::EVENTS_REORDER_MS,
                rules::DEFAULT_REORDER_MS,
            ) as i64;
            let storage = self.state.storage();
            let due = now + window;
            if storage.get_alarm().await?.is_none_or(|at| at > due) {
                storage.set_alarm(at(due)).await?;
            }
        }
        self.state.storage().sync().await?;
        Ok(Appended { results })
    }

    fn pending(&self) -> Result<Vec<Pending>> {
        let rows = rows(
            &self.sql(),
            "SELECT seq, ts_us, arrived_ms, not_before_ms FROM events WHERE state = 'pending'",
            Vec::new(),
        )?;
        Ok(rows
            .iter()
            .map(|r| Pending {
                seq: r.int(0).unwrap_or(0),
                ts_us: r.int(1),
                arrived_ms: r.int(2).unwrap_or(0),
                not_before_ms: r.int(3).unwrap_or(0),
            })
            .collect())
    }

    /// Decides (once) and posts the event's actions, then records the outcome.
    async fn apply(&self, seq: i64) -> Result<()> {
        let found = rows(
            &self.sql(),
            "SELECT event_sid, event_name, arrived_ms, body, attempts, actions FROM events WHERE seq = ? AND state = 'pending'",
            vec![i(seq)],
        )?;
        let Some(r) = found.first() else {
            return Ok(());
        };
        let row = WorkRow {
            event_sid: r.string(0),
            event_name: r.string(1),
            arrived_ms: r.int(2).unwrap_or(0),
            body: r.string(3),
            attempts: r.int(4).unwrap_or(0),
            actions: r.text(5),
        };
        let attempts = u32::try_from(row.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let policy = retry::Policy::exotel_actions(var_u64(
            &self.env,
            bindings::EVENTS_BACKOFF_MS,
            retry::BACKOFF_BASE_MS,
        ));
        let event = match Event::from_json(row.body.as_bytes()) {
            Ok(e) => e,
            Err(e) => {
                return self.finish(
                    seq,
                    &row,
                    attempts,
                    Vec::new(),
                    Err(format!("stored event unreadable: {e}")),
                )
            }
        };
        let mut actions = match row
            .actions
            .as_deref()
            .map(serde_json::from_str::<Vec<ActionRecord>>)
        {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                return self.finish(
                    seq,
                    &row,
                    attempts,
                    Vec::new(),
                    Err(format!("stored actions unreadable: {e}")),
                )
            }
            None => match self.decide(&event).await {
                Decided::Actions(a) => {
                    // Kept before posting, so a retry posts the same actions.
                    let json = serde_json::to_string(&a)
                        .map_err(|e| worker::Error::from(e.to_string()))?;
                    self.sql().exec(
                        "UPDATE events SET actions = ? WHERE seq = ?",
                        vec![s(&json), i(seq)],
                    )?;
                    a
                }
                Decided::Nothing(result) => {
                    return self.finish(seq, &row, attempts, Vec::new(), Ok(result))
                }
                Decided::Retry(why) => {
                    let wait = policy.backoff_ms(attempts - 1, js_sys::Math::random());
                    return self.failed(seq, &row, attempts, &[], wait, &why);
                }
            },
        };
        let credentials = (
            secret(&self.env, bindings::EVENTS_API_KEY),
            secret(&self.env, bindings::EVENTS_API_TOKEN),
        );
        let (Some(key), Some(token)) = credentials else {
            let wait = policy.backoff_ms(attempts - 1, js_sys::Math::random());
            let why = format!(
                "{} / {} not set",
                bindings::EVENTS_API_KEY,
                bindings::EVENTS_API_TOKEN
            );
            return self.failed(seq, &row, attempts, &actions, wait, &why);
        };
        let account = var(&self.env, bindings::EVENTS_ACCOUNT_SID)
            .or_else(|| event.data.account_sid.clone())
            .unwrap_or_default();
        let base = var_or(
            &self.env,
            bindings::EXOTEL_CPAAS_BASE,
            bindings::DEFAULT_EXOTEL_CPAAS_BASE,
        );
        let auth = events::basic_auth(&key, &token);
        let timeout = var_u64(
            &self.env,
            bindings::EVENTS_ACTION_BUDGET_MS,
            bindings::DEFAULT_EVENTS_ACTION_BUDGET_MS,
        );
        // The output gate holds an outgoing request until the writes before
        // it are durable; waiting for them here keeps that wait out of the
        // action's timeout. Counted in it, a slow disk made POSTs Exotel had
        // received "time out", and their retries acted twice (tests/soak.mjs
        // under load).
        self.state.storage().sync().await?;
        for a in actions
            .iter_mut()
            .filter(|a| a.status == ActionStatus::Pending)
        {
            if !events::is_sid(&account) || !events::is_sid(&a.leg_sid) {
                console_error!("events: account or leg sid unusable in a URL; action dropped");
                a.status = ActionStatus::Rejected;
                continue;
            }
            let url = format!(
                "{}/v2/accounts/{account}/legs/{}/actions",
                base.trim_end_matches('/'),
                a.leg_sid
            );
            a.tries += 1;
            let (status, retry_after) = post(&url, &auth, &a.request, timeout)
                .await
                .unwrap_or_else(|e| (0, Some(e)));
            a.http_status = Some(status);
            let jitter = js_sys::Math::random();
            let delivery = if status == 0 {
                Outcome::Retry {
                    after_ms: policy.backoff_ms(attempts - 1, jitter),
                }
            } else {
                policy.after_response(
                    status,
                    retry_after.as_deref(),
                    attempts - 1,
                    jitter,
                    now_ms(),
                )
            };
            match delivery {
                Outcome::Done => {
                    console_log!(
                        "events: {} posted to leg {} ({})",
                        a.verbs,
                        a.leg_sid,
                        a.custom_param
                    );
                    a.status = ActionStatus::Done;
                }
                Outcome::Fail => {
                    console_error!(
                        "events: Exotel refused {} on leg {} with {status}; not retried",
                        a.verbs,
                        a.leg_sid
                    );
                    a.status = ActionStatus::Rejected;
                }
                Outcome::Retry { after_ms } => {
                    let why = if status == 0 {
                        format!("no answer from Exotel: {}", retry_after.unwrap_or_default())
                    } else {
                        format!("Exotel answered {status}")
                    };
                    return self.failed(seq, &row, attempts, &actions, after_ms, &why);
                }
            }
        }
        let result = if actions.iter().any(|a| a.status == ActionStatus::Rejected) {
            "action_rejected"
        } else {
            "ok"
        };
        self.finish(seq, &row, attempts, actions, Ok(result))
    }

    /// What the flow does with `event`, with the routing config.
    async fn decide(&self, event: &Event) -> Decided {
        if event.name().is_none() {
            console_warn!(
                "events: unknown event name {:?} (sid {:?}); ignored",
                event.event_name,
                event.event_sid
            );
            return Decided::Nothing("ignored");
        }
        // The object's state has the same waitUntil a fetch context has,
        // which the config cache uses for its background refresh.
        let state: &JsValue = self.state.as_raw().as_ref();
        let ctx = Context::new(state.clone().unchecked_into());
        let cfg = match config::current(&self.env, &ctx, now_ms()).await {
            Ok(c) => c,
            Err(e) => return Decided::Retry(format!("config unavailable: {e}")),
        };
        let Some(flow) = cfg.events.as_ref() else {
            // The embedded default has no flow: if KV's document could not
            // be read, that is not an answer yet.
            if let Some(e) = config::status().error {
                return Decided::Retry(format!("config unavailable: {e}"));
            }
            return Decided::Nothing("no_flow");
        };
        let actions = events::decide(event, flow, &cfg, now_ms());
        console_log!(
            "events: {} leg={:?} param={:?} -> {} action(s)",
            event.event_name,
            event.data.leg_sid.as_deref().unwrap_or("-"),
            event.action_custom_parameter.as_deref().unwrap_or(""),
            actions.len()
        );
        if actions.is_empty() {
            return Decided::Nothing("ok");
        }
        match ActionRecord::from_actions(&actions) {
            Ok(a) => Decided::Actions(a),
            Err(e) => {
                console_error!(
                    "events: cannot write the ExoML for {:?}: {e}",
                    event.event_sid
                );
                Decided::Nothing("action_rejected")
            }
        }
    }

    /// An attempt that must be retried: after `wait_ms`, or dead-lettered
    /// when the attempts are spent.
    fn failed(
        &self,
        seq: i64,
        row: &WorkRow,
        attempts: u32,
        actions: &[ActionRecord],
        wait_ms: u64,
        why: &str,
    ) -> Result<()> {
        let max = var_u64(
            &self.env,
            bindings::EVENTS_MAX_ATTEMPTS,
            u64::from(rules::DEFAULT_MAX_ATTEMPTS),
        ) as u32;
        let now = now_ms();
        let actions_json = if actions.is_empty() {
            SqlStorageValue::Null
        } else {
            s(&serde_json::to_string(actions).unwrap_or_default())
        };
        match rules::after_failure(attempts, max, wait_ms, now) {
            AfterFailure::RetryAt(at) => {
                console_warn!(
                    "events: {:?} attempt {attempts} failed ({why}); retrying in {wait_ms} ms",
                    row.event_sid
                );
                self.sql().exec(
                    "UPDATE events SET attempts = ?, not_before_ms = ?, error = ?, actions = COALESCE(?, actions) WHERE seq = ?",
                    vec![i(i64::from(attempts)), i(at), s(why), actions_json, i(seq)],
                )?;
            }
            AfterFailure::Dead => {
                console_error!(
                    "events: {:?} dead-lettered after {attempts} attempt(s): {why}",
                    row.event_sid
                );
                self.trace(
                    row,
                    500,
                    &format!("dead letter after {attempts} attempt(s): {why}"),
                    actions,
                );
                let dead = DeadLetter {
                    key: self.key().unwrap_or_default(),
                    event_sid: row.event_sid.clone(),
                    event_name: row.event_name.clone(),
                    arrived_ms: row.arrived_ms,
                    dead_ms: now,
                    error: why.to_owned(),
                };
                let entry = serde_json::to_string(&dead).unwrap_or_default();
                let sql = self.sql();
                let sid = row.event_sid.clone();
                let why = why.to_owned();
                transaction_sync(&self.state.storage(), move || {
                    sql.exec(
                        "UPDATE events SET state = 'dead', attempts = ?, done_ms = ?, error = ?, actions = COALESCE(?, actions) WHERE seq = ?",
                        vec![i(i64::from(attempts)), i(now), s(&why), actions_json, i(seq)],
                    )?;
                    sql.exec("INSERT OR REPLACE INTO index_outbox (event_sid, op, entry) VALUES (?, 'add', ?)", vec![s(&sid), s(&entry)])?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Keeps trace rows of an event's outcome and of each of its actions,
    /// filed under the key's sid (the leg's, as the console shows calls).
    fn trace(&self, row: &WorkRow, status: u16, detail: &str, actions: &[ActionRecord]) {
        if !crate::trace::enabled(&self.env) {
            return;
        }
        let key = self.key().unwrap_or_default();
        let sid = key
            .split_once(':')
            .map_or(row.event_sid.as_str(), |(_, v)| v)
            .to_owned();
        let (m, now) = (crate::trace::masker(), now_ms());
        let mut traces = self.traces.borrow_mut();
        traces.push(handlers::trace::event_row(
            &m,
            handlers::trace::Kind::Event,
            &sid,
            &row.event_name,
            now,
            status,
            detail,
        ));
        for a in actions {
            let detail = format!(
                "{} ({}) {:?} after {} POST(s)",
                a.verbs, a.custom_param, a.status, a.tries
            );
            traces.push(handlers::trace::event_row(
                &m,
                handlers::trace::Kind::Action,
                &sid,
                "leg action",
                now,
                a.http_status.unwrap_or(0),
                &detail,
            ));
        }
    }

    /// Applied (`Ok(result)`), or dead for good (`Err(why)`: unreadable).
    fn finish(
        &self,
        seq: i64,
        row: &WorkRow,
        attempts: u32,
        actions: Vec<ActionRecord>,
        outcome: std::result::Result<&str, String>,
    ) -> Result<()> {
        match outcome {
            Ok(result) => {
                let actions_json = if actions.is_empty() {
                    SqlStorageValue::Null
                } else {
                    s(&serde_json::to_string(&actions).unwrap_or_default())
                };
                self.sql().exec(
                    "UPDATE events SET state = 'applied', result = ?, attempts = ?, done_ms = ?, error = NULL,
                     actions = COALESCE(?, actions) WHERE seq = ?",
                    vec![s(result), i(i64::from(attempts)), i(now_ms()), actions_json, i(seq)],
                )?;
                self.trace(row, 200, &format!("applied: {result}"), &actions);
                Ok(())
            }
            Err(why) => self.failed(seq, row, u32::MAX, &actions, 0, &why),
        }
    }

    fn view(&self, limit: usize) -> Result<LogView> {
        let mut found = rows(
            &self.sql(),
            "SELECT seq, event_sid, event_name, ts_us, arrived_ms, body, state, result, attempts, done_ms, error, actions
             FROM events ORDER BY seq DESC LIMIT ?",
            vec![i(limit as i64)],
        )?;
        found.reverse();
        let events = found
            .iter()
            .map(|r| LogEntry {
                seq: r.int(0).unwrap_or(0),
                event_sid: r.string(1),
                event_name: r.string(2),
                event_ts_us: r.int(3),
                arrived_ms: r.int(4).unwrap_or(0),
                state: EventState::parse(&r.string(6)).unwrap_or(EventState::Pending),
                result: r.text(7),
                attempts: u32::try_from(r.int(8).unwrap_or(0)).unwrap_or(0),
                done_ms: r.int(9),
                error: r.text(10),
                actions: r
                    .text(11)
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or_default(),
                event: serde_json::from_str(&r.string(5)).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok(LogView {
            key: self.key(),
            events,
        })
    }

    /// Dead events back to pending, attempts reset, accepted actions kept
    /// (never posted twice); the index is told.
    fn replay(&self, range: Range, sids: Option<Vec<String>>) -> Result<usize> {
        let sql = self.sql();
        let dead = rows(
            &sql,
            "SELECT seq, event_sid, done_ms FROM events WHERE state = 'dead'",
            Vec::new(),
        )?;
        let chosen: Vec<(i64, String)> = dead
            .iter()
            .map(|r| (r.int(0).unwrap_or(0), r.string(1), r.int(2).unwrap_or(0)))
            .filter(|(_, sid, done)| {
                range.contains(*done) && sids.as_ref().is_none_or(|s| s.contains(sid))
            })
            .map(|(seq, sid, _)| (seq, sid))
            .collect();
        let n = chosen.len();
        if n == 0 {
            return Ok(0);
        }
        let now = now_ms();
        transaction_sync(&self.state.storage(), move || {
            for (seq, sid) in &chosen {
                sql.exec(
                    "UPDATE events SET state = 'pending', attempts = 0, not_before_ms = ?, done_ms = NULL, error = NULL WHERE seq = ?",
                    vec![i(now), i(*seq)],
                )?;
                sql.exec("INSERT OR REPLACE INTO index_outbox (event_sid, op, entry) VALUES (?, 'remove', NULL)", vec![s(sid)])?;
            }
            Ok(())
        })?;
        console_log!("events: {n} dead letter(s) replayed");
        Ok(n)
    }

    /// Sends the outbox to the index; what was sent is removed unless it changed meanwhile.
    async fn flush_index(&self) {
        let rows: Vec<OutboxRow> = match rows(
            &self.sql(),
            "SELECT event_sid, op, entry FROM index_outbox LIMIT 500",
            Vec::new(),
        ) {
            Ok(r) => r
                .iter()
                .map(|r| OutboxRow {
                    event_sid: r.string(0),
                    op: r.string(1),
                    entry: r.text(2),
                })
                .collect(),
            Err(e) => return console_error!("event log: outbox unreadable: {e}"),
        };
        if rows.is_empty() {
            return;
        }
        let key = self.key().unwrap_or_default();
        let mut op = IndexOp::Report {
            add: Vec::new(),
            remove: Vec::new(),
        };
        if let IndexOp::Report { add, remove } = &mut op {
            for r in &rows {
                match (
                    r.op.as_str(),
                    r.entry.as_deref().map(serde_json::from_str::<DeadLetter>),
                ) {
                    ("add", Some(Ok(d))) => add.push(d),
                    _ => remove.push((key.clone(), r.event_sid.clone())),
                }
            }
        }
        let sent = match self.env.durable_object(bindings::EVENT_INDEX) {
            Ok(ns) => {
                budget::within(
                    5_000,
                    object::call::<_, DeadList>(
                        &ns,
                        bindings::DEAD_LETTER_INDEX_NAME,
                        OBJECT_URL,
                        &op,
                    ),
                )
                .await
            }
            Err(_) => {
                return console_error!(
                    "event log: {} is not bound; dead letters are not indexed",
                    bindings::EVENT_INDEX
                )
            }
        };
        match sent {
            Some(Ok(_)) => {
                for r in &rows {
                    let _ = self.sql().exec(
                        "DELETE FROM index_outbox WHERE event_sid = ? AND op = ?",
                        vec![s(&r.event_sid), s(&r.op)],
                    );
                }
            }
            Some(Err(e)) => {
                console_error!("event log: dead-letter index unavailable: {e}; retrying later")
            }
            None => console_error!(
                "event log: dead-letter index did not answer in time; retrying later"
            ),
        }
    }

    /// Sets the next alarm, or forgets everything when nothing is left.
    async fn schedule(&self) -> Result<()> {
        let now = now_ms();
        let window = var_u64(
            &self.env,
            bindings::EVENTS_REORDER_MS,
            rules::DEFAULT_REORDER_MS,
        ) as i64;
        let head = rules::next_to_apply(&self.pending()?, now, window);
        let sql = self.sql();
        let oldest = scalar(
            &sql,
            "SELECT MIN(done_ms) FROM events WHERE state != 'pending'",
        )?;
        let unsent = scalar(&sql, "SELECT COUNT(*) FROM index_outbox")?.unwrap_or(0) > 0;
        let storage = self.state.storage();
        match rules::next_alarm(head, oldest, retention_ms(&self.env), unsent, now) {
            Some(t) => storage.set_alarm(at(t)).await?,
            None => {
                if scalar(&sql, "SELECT COUNT(*) FROM events")?.unwrap_or(0) == 0 {
                    self.schema_ready.set(false);
                    storage.delete_all().await?;
                }
            }
        }
        Ok(())
    }
}

/// One POST with a timeout: the status and `Retry-After`, or the error text.
async fn post(
    url: &str,
    auth: &str,
    body: &str,
    timeout_ms: u64,
) -> std::result::Result<(u16, Option<String>), String> {
    let headers = Headers::new();
    headers
        .set("authorization", auth)
        .map_err(|e| e.to_string())?;
    headers
        .set("content-type", "application/json")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let fetch = Fetch::Request(req);
    match budget::within(timeout_ms, fetch.send()).await {
        Some(Ok(resp)) => Ok((
            resp.status_code(),
            resp.headers().get("retry-after").ok().flatten(),
        )),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("timed out".into()),
    }
}

/// Every key's dead letters, so they can be listed and replayed by time
/// range without visiting every log. The logs report to it (from their
/// alarms, retried until it answers); the logs stay the truth, so a replay
/// through the index is checked against each log.
#[durable_object(alarm)]
pub struct DeadLetterIndex {
    state: State,
    env: Env,
}

impl DurableObject for DeadLetterIndex {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: IndexOp = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad index op: {e}"), 400),
        };
        let sql = self.state.storage().sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS dead (key TEXT NOT NULL, event_sid TEXT NOT NULL, dead_ms INTEGER NOT NULL,
             entry TEXT NOT NULL, PRIMARY KEY (key, event_sid))",
            None,
        )?;
        sql.exec(
            "CREATE INDEX IF NOT EXISTS dead_time ON dead (dead_ms)",
            None,
        )?;
        match op {
            IndexOp::Report { add, remove } => {
                let sql2 = sql.clone();
                transaction_sync(&self.state.storage(), move || {
                    for d in &add {
                        let entry = serde_json::to_string(d)
                            .map_err(|e| worker::Error::from(e.to_string()))?;
                        sql2.exec(
                            "INSERT OR REPLACE INTO dead (key, event_sid, dead_ms, entry) VALUES (?, ?, ?, ?)",
                            vec![s(&d.key), s(&d.event_sid), i(d.dead_ms), s(&entry)],
                        )?;
                    }
                    for (key, sid) in &remove {
                        sql2.exec(
                            "DELETE FROM dead WHERE key = ? AND event_sid = ?",
                            vec![s(key), s(sid)],
                        )?;
                    }
                    Ok(())
                })?;
                let storage = self.state.storage();
                if storage.get_alarm().await?.is_none() {
                    storage
                        .set_alarm(at(
                            now_ms() + retention_ms(&self.env).clamp(1_000, 86_400_000)
                        ))
                        .await?;
                }
                storage.sync().await?;
                Response::from_json(&DeadList::default())
            }
            IndexOp::List { range, limit } => {
                let found = rows(
                    &sql,
                    "SELECT entry FROM dead WHERE dead_ms >= ? AND dead_ms <= ? ORDER BY dead_ms, key, event_sid LIMIT ?",
                    vec![i(range.from_ms), i(range.to_ms.min(Range::MAX_MS)), i(limit as i64)],
                )?;
                let dead = found
                    .iter()
                    .filter_map(|r| serde_json::from_str(&r.string(0)).ok())
                    .collect();
                Response::from_json(&DeadList { dead })
            }
        }
    }

    /// Forgets dead letters older than the retention (their logs have
    /// deleted them by then), and wakes again while any are left.
    async fn alarm(&self) -> Result<Response> {
        let sql = self.state.storage().sql();
        let retention = retention_ms(&self.env);
        sql.exec(
            "DELETE FROM dead WHERE dead_ms <= ?",
            vec![i(now_ms() - retention)],
        )?;
        if scalar(&sql, "SELECT COUNT(*) FROM dead")?.unwrap_or(0) > 0 {
            self.state
                .storage()
                .set_alarm(at(now_ms() + retention.clamp(1_000, 86_400_000)))
                .await?;
        }
        Response::ok("done")
    }
}
