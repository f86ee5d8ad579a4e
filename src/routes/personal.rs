//! Greeting and playback, personalised from the caller's record when the
//! line has templates; the static text when the lookup is slow or empty.

use std::collections::BTreeMap;

use handlers::config::Config;
use handlers::params::CallParams;
use handlers::phone;
use handlers::reply::Reply;
use worker::Env;

use crate::lookup;

/// What to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The greeting's text/plain body.
    Greeting,
    /// The playback JSON.
    Playback,
}

/// Looks up the caller's variables only when the line has templates.
pub async fn handle_personal(
    p: &CallParams,
    cfg: &Config,
    env: &Env,
    now_ms: i64,
    kind: Kind,
) -> Reply {
    let mut vars = BTreeMap::new();
    if let (Some(pz), Some(caller)) = (
        handlers::decide::personalize(cfg, p, now_ms),
        p.caller().and_then(phone::normalize),
    ) {
        let wanted = match kind {
            Kind::Greeting => pz.greeting.is_some(),
            Kind::Playback => pz.playback.is_some(),
        };
        if wanted {
            vars = lookup::caller_vars(env, &pz.lookup, &caller).await;
        }
    }
    match kind {
        Kind::Greeting => handlers::decide::greeting(cfg, p, now_ms, &vars),
        Kind::Playback => handlers::decide::playback(cfg, p, now_ms, &vars),
    }
}
