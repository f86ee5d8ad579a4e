//! The routing config, parsed once per isolate and cached.
//!
//! The first request of an isolate reads KV within a time budget; later
//! requests use the cached copy, and once it is older than the config's
//! `cache_ttl_seconds` they still use it while one background task
//! (`ctx.wait_until`) reads KV again. So KV sits on the caller's path only
//! once per isolate, and never longer than its budget. A KV document that
//! fails validation never replaces a good config: the last good one (or the
//! embedded default) keeps serving, and /healthz says why.

use std::cell::RefCell;
use std::rc::Rc;

use handlers::config::Config;
use handlers::error::ConfigError;
use serde::Serialize;
use worker::{console_error, Context, Env};

use crate::error::EdgeError;
use crate::runtime::budget::within;
use crate::runtime::clock::now_ms;
use crate::runtime::env::var_u64;
use crate::{bindings, zones};

/// Where the config in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Compiled into the worker.
    Embedded,
    /// Read from KV.
    Kv,
}

/// How long to wait before asking KV again after a failed read.
const RETRY_AFTER_FAILURE_MS: i64 = 5_000;

struct Cached {
    config: Rc<Config>,
    source: Source,
    /// The KV text the config was parsed from, to skip re-parsing it.
    raw: Option<String>,
    expires_at: i64,
    refreshing: bool,
    last_error: Option<String>,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    static EMBEDDED: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

/// What /healthz reports.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Where the config came from.
    pub source: Source,
    /// Why KV's document is not in use, if it is not.
    pub error: Option<String>,
    /// Lines configured.
    pub lines: usize,
}

/// Parses and validates a document, reading its hours with the runtime's tz
/// database: a zone the runtime does not know is refused like any invalid
/// value (path and reason), so it never serves.
fn parse(text: &str) -> Result<Config, ConfigError> {
    with_zones(Config::from_json(text)?)
}

/// A valid document given the runtime's tz database to read its hours
/// with, once the runtime knows every zone it names.
fn with_zones(cfg: Config) -> Result<Config, ConfigError> {
    let cfg = cfg.with_zone_offsets(zones::offset_minutes);
    cfg.check_zones(zones::known)?;
    Ok(cfg)
}

/// The embedded default as build.rs wrote it out: Rust values, validated
/// at build time, so building it decodes nothing (handlers/src/bake.rs);
/// `None` for a document too large to be worth it (build.rs says why).
fn baked() -> Option<Config> {
    include!(concat!(env!("OUT_DIR"), "/embedded_config.rs"))
}

/// The embedded default, built (or, when large, parsed) on first use; its
/// zones are checked against the runtime's tz database as a KV
/// document's are.
pub fn embedded() -> Result<Rc<Config>, EdgeError> {
    EMBEDDED.with(|e| {
        if let Some(c) = e.borrow().as_ref() {
            return Ok(c.clone());
        }
        let cfg = match baked() {
            Some(cfg) => with_zones(cfg)?,
            None => parse(handlers::DEFAULT_CONFIG)?,
        };
        let c = Rc::new(cfg);
        *e.borrow_mut() = Some(c.clone());
        Ok(c)
    })
}

/// The config `?fallback=1` answers from: the one in memory, whatever its
/// age (a fallback must not wait on a refresh of what may be failing).
/// Only an isolate that has none yet reads it, once, as any first request
/// does (within `KV_BUDGET_MS`, the embedded default when KV fails): else
/// a fresh isolate would answer the embedded default's fallback instead of
/// the customer's.
pub async fn for_fallback(env: &Env, ctx: &Context) -> Result<Rc<Config>, EdgeError> {
    match loaded() {
        Some(c) => Ok(c),
        None => current(env, ctx, now_ms()).await,
    }
}

/// The config already in memory, or the embedded one: never touches KV
/// (the trace and the console describe what is loaded).
pub fn in_memory() -> Result<Rc<Config>, EdgeError> {
    match loaded() {
        Some(c) => Ok(c),
        None => embedded(),
    }
}

/// For work off the caller's path (trace writes, the console's pages):
/// brings this isolate's copy up to date now, reading KV (within its
/// budget) when it has none or its copy is past its TTL and no refresh is
/// under way, so it acts on what a callback is served. The backend worker
/// answers no callback: without this its trace rows would be masked and
/// pruned, and its console would describe, by the embedded default while
/// callbacks use KV's document.
pub async fn refresh_off_path(env: &Env) {
    let now = now_ms();
    let due = CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .is_none_or(|c| now >= c.expires_at && !c.refreshing)
    });
    if due {
        refresh(env).await;
    }
}

/// The config this isolate has loaded, if any, whatever its age.
fn loaded() -> Option<Rc<Config>> {
    CACHE.with(|c| c.borrow().as_ref().map(|c| c.config.clone()))
}

/// The config for this request (see the module docs for when KV is read),
/// as of `now` (ms; the caller's one clock read for the request).
pub async fn current(env: &Env, ctx: &Context, now: i64) -> Result<Rc<Config>, EdgeError> {
    let state = CACHE.with(|c| {
        c.borrow_mut().as_mut().map(|c| {
            let stale = now >= c.expires_at;
            let start_refresh = stale && !c.refreshing;
            if start_refresh {
                c.refreshing = true;
            }
            (c.config.clone(), start_refresh)
        })
    });
    match state {
        Some((config, start_refresh)) => {
            if start_refresh {
                let env = env.clone();
                ctx.wait_until(async move { refresh(&env).await });
            }
            Ok(config)
        }
        None => {
            refresh(env).await;
            in_memory()
        }
    }
}

/// The text of the config document in use: KV's as stored, or the
/// embedded default (the console shows it; no re-serialising needed).
pub fn document() -> String {
    CACHE
        .with(|c| c.borrow().as_ref().and_then(|c| c.raw.clone()))
        .unwrap_or_else(|| handlers::DEFAULT_CONFIG.to_owned())
}

/// Health facts about the config in use.
pub fn status() -> Status {
    CACHE.with(|c| match c.borrow().as_ref() {
        Some(c) => Status {
            source: c.source,
            error: c.last_error.clone(),
            lines: c.config.lines.len(),
        },
        None => Status {
            source: Source::Embedded,
            error: None,
            lines: embedded().map(|c| c.lines.len()).unwrap_or(0),
        },
    })
}

enum Read {
    Found(String),
    Absent,
    Failed(String),
}

async fn read_kv(env: &Env) -> Read {
    let Ok(kv) = env.kv(bindings::CONFIG_KV) else {
        return Read::Absent; // no namespace bound: the embedded config is the config
    };
    let budget = var_u64(env, bindings::KV_BUDGET_MS, bindings::DEFAULT_KV_BUDGET_MS);
    match within(budget, kv.get(bindings::CONFIG_KEY).text()).await {
        Some(Ok(Some(text))) => Read::Found(text),
        Some(Ok(None)) => Read::Absent,
        Some(Err(e)) => Read::Failed(format!("kv read failed: {e}")),
        None => Read::Failed(format!("kv read took longer than {budget} ms")),
    }
}

async fn refresh(env: &Env) {
    let read = read_kv(env).await;
    let now = now_ms();
    let prev = CACHE.with(|c| c.borrow_mut().take());
    let fallback = || -> Option<(Rc<Config>, Source, Option<String>)> {
        match &prev {
            Some(p) => Some((p.config.clone(), p.source, p.raw.clone())),
            None => embedded().ok().map(|c| (c, Source::Embedded, None)),
        }
    };
    let next = match read {
        Read::Found(text)
            if prev.as_ref().and_then(|p| p.raw.as_deref()) == Some(text.as_str()) =>
        {
            prev.map(|p| Cached {
                expires_at: now + ttl_ms(&p.config),
                refreshing: false,
                ..p
            })
        }
        Read::Found(text) => match parse(&text) {
            // No log line for a document loaded: on a cold isolate this runs
            // on the first caller's time, and an isolate's first
            // `console.log` costs ~2 ms there (BENCHMARKS.md, "The callback
            // log line"); /healthz says where the config came from.
            Ok(cfg) => {
                let cfg = Rc::new(cfg);
                Some(Cached {
                    expires_at: now + ttl_ms(&cfg),
                    config: cfg,
                    source: Source::Kv,
                    raw: Some(text),
                    refreshing: false,
                    last_error: None,
                })
            }
            Err(e) => {
                console_error!("config: KV document rejected, keeping the last good config: {e}");
                fallback().map(|(config, source, raw)| Cached {
                    expires_at: now + ttl_ms(&config),
                    config,
                    source,
                    raw,
                    refreshing: false,
                    last_error: Some(e.to_string()),
                })
            }
        },
        Read::Absent => embedded().ok().map(|cfg| Cached {
            expires_at: now + ttl_ms(&cfg),
            config: cfg,
            source: Source::Embedded,
            raw: None,
            refreshing: false,
            last_error: None,
        }),
        Read::Failed(e) => {
            console_error!("config: {e}; serving the cached config");
            fallback().map(|(config, source, raw)| Cached {
                config,
                source,
                raw,
                expires_at: now + RETRY_AFTER_FAILURE_MS,
                refreshing: false,
                last_error: Some(e),
            })
        }
    };
    CACHE.with(|c| *c.borrow_mut() = next);
}

fn ttl_ms(c: &Config) -> i64 {
    i64::from(c.cache_ttl_seconds) * 1000
}
