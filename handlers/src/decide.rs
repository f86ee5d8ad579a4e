//! One function per callback: what the worker (and the trace, which
//! explains the same decision) calls to answer it. Each reads the call's
//! line, the time, the caller and the digits through [`crate::routing`],
//! and writes the answer type of [`crate::answer`]. The safe static answers
//! served for `?fallback=1` are in [`fallback`].
//!
//! Connect and dial-whom have two forms: [`connect`] and [`dialwhom`]
//! answer without routing state (a group's first batch in its listed
//! order); the worker's route does better with [`connect_plan`] and
//! [`dialwhom_plan`], looking up what the plan needs first.

use std::collections::BTreeMap;

use crate::answer::passthru::{Branch, Mode};
use crate::config::personalize::Personalize;
use crate::config::Config;
use crate::params::CallParams;
use crate::reply::Reply;
use crate::routing::{self, Call, ConnectPlan, Explain, Form, Why};

pub mod fallback;

/// What a Connect request needs: see [`routing::plan_connect`].
pub fn connect_plan<'a>(cfg: &'a Config, p: &CallParams, now_ms: i64) -> ConnectPlan<'a> {
    routing::plan_connect(cfg, Call::from(p), now_ms)
}

/// What a dial-whom request needs: see [`routing::plan_dialwhom`].
pub fn dialwhom_plan<'a>(cfg: &'a Config, p: &CallParams, now_ms: i64) -> ConnectPlan<'a> {
    routing::plan_dialwhom(cfg, Call::from(p), now_ms)
}

/// The Connect answer when no routing state can be read: the plan's
/// static answer or its group's first batch. The worker's connect route
/// does better (rotation, sticky, re-fetch state) through [`connect_plan`].
pub fn connect(cfg: &Config, p: &CallParams, now_ms: i64) -> Reply {
    Form::Json.reply(connect_plan(cfg, p, now_ms).stateless())
}

/// The numbers to dial for this call (without state; see
/// [`dialwhom_plan`]): blocked callers and closed lines get "we didn't
/// dial anyone" before any static `dialwhom` number is answered.
pub fn dialwhom(cfg: &Config, p: &CallParams, now_ms: i64) -> Reply {
    Form::Text.reply(dialwhom_plan(cfg, p, now_ms).stateless())
}

/// The Gather answer for this call: the closed variant out of hours.
pub fn gather(cfg: &Config, p: &CallParams, now_ms: i64) -> Reply {
    routing::gather(cfg, Call::from(p), now_ms).reply()
}

/// The personalisation that applies to this call's greeting and playback,
/// if any: what the worker looks the caller's record up for (see
/// [`routing::personalize`]).
pub fn personalize<'a>(cfg: &'a Config, p: &CallParams, now_ms: i64) -> Option<&'a Personalize> {
    routing::personalize(cfg, Call::from(p), now_ms)
}

/// The greeting for this call, personalised with `vars` (the caller's
/// record) when the line has a template and every variable is known.
pub fn greeting(
    cfg: &Config,
    p: &CallParams,
    now_ms: i64,
    vars: &BTreeMap<String, String>,
) -> Reply {
    routing::personal_greeting(cfg, Call::from(p), now_ms, vars).reply()
}

/// The playback for this call, personalised like the greeting.
pub fn playback(
    cfg: &Config,
    p: &CallParams,
    now_ms: i64,
    vars: &BTreeMap<String, String>,
) -> Reply {
    routing::personal_playback(cfg, Call::from(p), now_ms, vars).reply()
}

/// The passthru branch and how Exotel calls (sync or async); the reply is
/// [`crate::answer::passthru::reply`] of the branch.
pub fn passthru(cfg: &Config, p: &CallParams, now_ms: i64) -> (Mode, Branch) {
    routing::passthru(cfg, p, now_ms)
}

/// Why this call got its answer, for the trace (docs/console.md): the
/// same plan the answer was made from, so the two cannot disagree.
pub fn explain(cfg: &Config, p: &CallParams, now_ms: i64, kind: Explain) -> Why {
    routing::explain(cfg, Call::from(p), now_ms, kind)
}
