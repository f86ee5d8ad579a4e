//! `?fallback=1`: the config's static safe answers. Point Exotel's Fallback
//! URL here; it reads no KV and needs no valid parameters.

use handlers::reply::Reply;
use handlers::route::Route;

use crate::config;

/// The safe answer for a route.
pub fn handle_fallback(route: Route) -> Reply {
    let cfg = match config::in_memory() {
        Ok(c) => c,
        Err(e) => return Reply::error(500, format!("no usable config: {e}")),
    };
    match route {
        Route::Connect => handlers::connect::fallback(&cfg),
        Route::DialWhom => handlers::dialwhom::fallback(&cfg),
        Route::Gather => handlers::gather::fallback(&cfg),
        Route::Greeting => handlers::greeting::fallback(&cfg),
        Route::Playback => handlers::playback::fallback(&cfg),
        Route::Passthru => handlers::passthru::fallback(&cfg),
        Route::Popup => handlers::popup::reply(),
        _ => Reply::error(404, "no fallback for this route"),
    }
}
