//! `?fallback=1`: the config's static safe answers. Point Exotel's Fallback
//! URL here; it needs no valid parameters and reads no KV, except once on
//! an isolate that has no config in memory yet (`config::for_fallback`).

use handlers::reply::Reply;
use handlers::route::Route;
use worker::{Context, Env};

use crate::config;
use crate::error::EdgeError;
use crate::http::error_reply;

/// The safe answer for a route.
pub async fn handle_fallback(route: Route, env: &Env, ctx: &Context) -> Reply {
    let cfg = match config::for_fallback(env, ctx).await {
        Ok(c) => c,
        Err(e) => return error_reply(&e),
    };
    match route {
        Route::Connect => handlers::decide::fallback::connect(&cfg),
        Route::DialWhom => handlers::decide::fallback::dialwhom(&cfg),
        Route::Gather => handlers::decide::fallback::gather(&cfg),
        Route::Greeting => handlers::decide::fallback::greeting(&cfg),
        Route::Playback => handlers::decide::fallback::playback(&cfg),
        Route::Passthru => handlers::decide::fallback::passthru(&cfg),
        Route::Popup => handlers::decide::fallback::popup(),
        _ => error_reply(&EdgeError::NoFallback),
    }
}
