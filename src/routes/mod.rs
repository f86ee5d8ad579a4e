//! One module per callback; each turns typed parameters into a reply by
//! calling its `handlers` function, and logs with numbers masked.

use handlers::config::Config;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::route::Route;

pub mod fallback;
pub mod health;
pub mod passthru;
pub mod popup;
pub mod status;

/// The applet callbacks answered from config.
pub fn callback(route: Route, p: &CallParams, cfg: &Config) -> Reply {
    let reply = match route {
        Route::Connect => handlers::connect::decide(cfg, p),
        Route::DialWhom => handlers::dialwhom::decide(cfg, p),
        Route::Gather => handlers::gather::decide(cfg, p),
        Route::Greeting => handlers::greeting::decide(cfg, p),
        Route::Playback => handlers::playback::decide(cfg, p),
        Route::Passthru => passthru::handle_passthru(p, cfg),
        Route::Popup => popup::handle_popup(p),
        Route::Status | Route::Health => Reply::error(500, "not a callback route"),
    };
    worker::console_log!(
        "{} call={} from={} to={} -> {}",
        route.name(),
        p.call_sid,
        p.caller().map(handlers::phone::mask).unwrap_or_default(),
        p.exophone().map(handlers::phone::mask).unwrap_or_default(),
        reply.status
    );
    reply
}
