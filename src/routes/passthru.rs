//! Passthru: 200 or 302 by the line's rules, hours and caller lists (sync),
//! or 200 and a record (async). Either way it teaches sticky routing.

use handlers::answer::passthru::{self, Mode};
use handlers::config::Config;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::routing;
use worker::{Context, Env};

use crate::lookup;

/// Decides the branch, learns the answering agent, logs.
pub fn handle_passthru(
    p: &CallParams,
    cfg: &Config,
    env: &Env,
    ctx: &Context,
    now_ms: i64,
) -> Reply {
    let (mode, branch) = handlers::decide::passthru(cfg, p, now_ms);
    if let Some(fact) = routing::learn_from_passthru(p) {
        lookup::remember_sticky(env, ctx, fact, routing::sticky_ttl_seconds(cfg), now_ms);
    }
    if mode == Mode::Async {
        worker::console_log!(
            "passthru async record call={} digits={}",
            p.call_sid,
            p.digits.is_some()
        );
    }
    passthru::reply(branch)
}
