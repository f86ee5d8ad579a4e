//! Agent popups: logged (masked), acknowledged, and an answered popup
//! teaches sticky routing who talked to whom.

use handlers::answer::popup::{self, Popup};
use handlers::config::Config;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::routing;
use worker::{Context, Env};

use crate::lookup;

/// Records the popup and answers 200.
pub fn handle_popup(p: &CallParams, cfg: &Config, env: &Env, ctx: &Context, now_ms: i64) -> Reply {
    let pop = Popup::from_params(p);
    worker::console_log!("{}", pop.log_line());
    if let Some(fact) = routing::learn_from_popup(&pop) {
        lookup::remember_sticky(env, ctx, fact, routing::sticky_ttl_seconds(cfg), now_ms);
    }
    popup::reply()
}
