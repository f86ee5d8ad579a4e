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
        Route::Connect => handlers::decide::fallback::connect(&cfg),
        Route::DialWhom => handlers::decide::fallback::dialwhom(&cfg),
        Route::Gather => handlers::decide::fallback::gather(&cfg),
        Route::Greeting => handlers::decide::fallback::greeting(&cfg),
        Route::Playback => handlers::decide::fallback::playback(&cfg),
        Route::Passthru => handlers::decide::fallback::passthru(&cfg),
        Route::Popup => handlers::decide::fallback::popup(),
        _ => Reply::error(404, "no fallback for this route"),
    }
}
