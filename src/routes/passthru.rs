//! Passthru: 200 or 302 by the line's rules (sync), or 200 and a record (async).

use handlers::config::Config;
use handlers::params::CallParams;
use handlers::passthru::{self, Mode};
use handlers::reply::Reply;

/// Decides the branch and logs it.
pub fn handle_passthru(p: &CallParams, cfg: &Config) -> Reply {
    let (mode, branch) = passthru::decide(cfg, p);
    if mode == Mode::Async {
        worker::console_log!("passthru async record call={} digits={}", p.call_sid, p.digits.is_some());
    }
    passthru::reply(branch)
}
