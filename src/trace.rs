//! Writes the per-call trace to D1 (binding `TRACE`), always in
//! `ctx.wait_until`, after the answer is on its way (docs/console.md).
//!
//! Tracing never delays or fails an answer: on the request path it only
//! copies the query and the reply; the row is built (`handlers::trace`)
//! and written afterwards, within [`WRITE_BUDGET_MS`], and a D1 error is
//! logged and dropped. Without a `TRACE` binding tracing is off.

use std::cell::Cell;

use handlers::config::trace_settings::TraceSettings;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::route::Route;
use handlers::trace::{self, CallbackFacts, Masker, Row};
use wasm_bindgen::{JsCast, JsValue};
use worker::{console_warn, Context, D1Database, D1PreparedStatement, Env};

use crate::runtime::budget::within;
use crate::runtime::clock::now_ms;
use crate::{bindings, config};

/// Longest a trace write may take in the background before it is dropped.
const WRITE_BUDGET_MS: u64 = 3_000;

/// How often one isolate deletes rows past the retention.
const PRUNE_EVERY_MS: i64 = 10 * 60_000;

thread_local! {
    /// Whether the binding exists (fixed for the isolate's life).
    static ENABLED: Cell<Option<bool>> = const { Cell::new(None) };
    /// When this isolate last pruned old rows.
    static LAST_PRUNE: Cell<i64> = const { Cell::new(i64::MIN) };
}

/// The trace database, if bound.
pub fn database(env: &Env) -> Option<D1Database> {
    env.d1(bindings::TRACE_DB).ok()
}

/// Whether tracing is on (a `TRACE` binding exists); cached per isolate.
pub fn enabled(env: &Env) -> bool {
    ENABLED.with(|e| match e.get() {
        Some(b) => b,
        None => {
            let b = database(env).is_some();
            e.set(Some(b));
            b
        }
    })
}

/// The masking the config in force asks for.
pub fn masker() -> Masker {
    Masker {
        full: settings().full_numbers,
    }
}

fn settings() -> TraceSettings {
    config::in_memory()
        .map(|c| c.trace.clone())
        .unwrap_or_default()
}

/// Traces one answered callback (the applet routes; HEAD is not traced: it
/// answers no call). Cheap on the request path: two copies and a task.
pub fn callback(
    env: &Env,
    ctx: &Context,
    route: Route,
    query: &str,
    reply: &Reply,
    started_ms: i64,
) {
    if !enabled(env) {
        return;
    }
    let latency_ms = now_ms() - started_ms;
    let (env, query, reply) = (env.clone(), query.to_owned(), reply.clone());
    ctx.wait_until(async move {
        // A task given to wait_until starts in the same microtask turn as
        // the handler's return: yield to the event loop first so the answer
        // is on the wire before the row is built.
        crate::runtime::timer::sleep(0).await;
        let cfg = config::in_memory().ok();
        let now_ms = CallParams::from_query(&query)
            .map(|p| crate::runtime::clock::decision_now_ms(&p, started_ms))
            .unwrap_or(started_ms);
        let facts = CallbackFacts {
            route,
            query: &query,
            reply: &reply,
            config: cfg.as_deref(),
            now_ms,
            latency_ms,
        };
        if let Some(row) = trace::callback_row(&facts) {
            write(&env, &row).await;
        }
    });
}

/// Files a row built by `build` with the config's masking, off the path:
/// built in the task, once this isolate's config is current (the backend
/// answers no callback, so it may not have loaded KV's yet).
fn record(env: &Env, ctx: &Context, build: impl FnOnce(&Masker) -> Row + 'static) {
    if !enabled(env) {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        crate::runtime::timer::sleep(0).await;
        config::refresh_off_path(&env).await;
        write_current(&env, &build(&masker())).await
    });
}

/// `D1Database::prepare` panics when the binding throws; this asks the
/// runtime directly so a broken binding is an error, not a trap.
pub fn prepare(db: &D1Database, sql: &str) -> worker::Result<D1PreparedStatement> {
    let sys: &worker::worker_sys::D1Database = db.as_ref().unchecked_ref();
    sys.prepare(sql)
        .map(D1PreparedStatement::from)
        .map_err(worker::Error::from)
}

/// Writes rows made where no request waits (an event log's alarm, after it
/// acted: events applied or dead-lettered, actions posted), one after
/// another; each write has the usual budget and a failure is only logged.
pub async fn write_all(env: &Env, rows: &[Row]) {
    if rows.is_empty() || !enabled(env) {
        return;
    }
    config::refresh_off_path(env).await;
    for row in rows {
        write_current(env, row).await;
    }
}

/// Traces a StatusCallback read (`POST /exotel/status`).
pub fn status(env: &Env, ctx: &Context, report: &handlers::status::StatusReport, reply: &Reply) {
    if enabled(env) {
        let (report, at_ms, status) = (report.clone(), now_ms(), reply.status);
        record(env, ctx, move |m| {
            trace::status_row(m, &report, at_ms, status)
        });
    }
}

/// Traces a push relayed (`POST /exotel/push`) with each device's outcome.
pub fn push(
    env: &Env,
    ctx: &Context,
    subscriber: &str,
    reply: &Reply,
    outcomes: &[handlers::push::DeviceOutcome],
) {
    if enabled(env) {
        let (subscriber, outcomes) = (subscriber.to_owned(), outcomes.to_vec());
        let (at_ms, status) = (now_ms(), reply.status);
        record(env, ctx, move |m| {
            trace::push_outcome_row(m, &subscriber, at_ms, status, &outcomes)
        });
    }
}

const INSERT: &str = "INSERT INTO trace (call_sid, at_ms, kind, route, line, caller, caller_last, status, outcome, latency_ms, summary, params, reason) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 \
     WHERE (SELECT COUNT(*) FROM trace WHERE call_sid = ?1) < ?14";

/// Writes one row with the config's limits: its rows per call and, on a
/// prune, its retention. Off the caller's path, so the isolate's config is
/// brought up to date first (a no-op when it is current).
async fn write(env: &Env, row: &Row) {
    config::refresh_off_path(env).await;
    write_current(env, row).await;
}

/// [`write`] once the config is up to date.
async fn write_current(env: &Env, row: &Row) {
    let Some(db) = database(env) else { return };
    let s = settings();
    let work = async move {
        let params = serde_json::to_string(&row.params).unwrap_or_default();
        let reason = serde_json::to_string(&row.reason).unwrap_or_default();
        let args: [JsValue; 14] = [
            row.call_sid.as_str().into(),
            (row.at_ms as f64).into(),
            row.kind.as_str().into(),
            row.route.as_str().into(),
            row.line.as_str().into(),
            row.caller.as_str().into(),
            row.caller_last.as_str().into(),
            f64::from(row.status).into(),
            row.outcome.as_str().into(),
            (row.latency_ms as f64).into(),
            row.summary.as_str().into(),
            params.into(),
            reason.into(),
            f64::from(s.max_rows_per_call).into(),
        ];
        prepare(&db, INSERT)?.bind(&args)?.run().await?;
        let now = now_ms();
        if now.saturating_sub(LAST_PRUNE.with(Cell::get)) >= PRUNE_EVERY_MS {
            LAST_PRUNE.with(|l| l.set(now));
            let cutoff = s.cutoff_ms(now) as f64;
            prepare(&db, "DELETE FROM trace WHERE at_ms < ?1")?
                .bind(&[cutoff.into()])?
                .run()
                .await?;
        }
        Ok::<(), worker::Error>(())
    };
    // The runtime may throw synchronously from a broken binding: keep it a logged error.
    match within(WRITE_BUDGET_MS, work).await {
        Some(Ok(())) => {}
        Some(Err(e)) => console_warn!("trace: D1 write dropped: {e}"),
        None => {
            console_warn!("trace: D1 write dropped: longer than {WRITE_BUDGET_MS} ms")
        }
    }
}
