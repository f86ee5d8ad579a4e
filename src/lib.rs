//! exoedge's Cloudflare Worker: the thin shell around `handlers`.
//!
//! Routing, bindings and I/O live here; every decision lives in the
//! `handlers` crate, which is tested natively. See README.md.

use worker::{event, web_sys, Context, Env, Result};

mod app;
mod bindings;
mod body;
mod config;
mod console;
mod error;
mod event_log;
mod http;
mod lookup;
mod push_clients;
mod router;
mod routes;
mod routing_state;
mod runtime;
mod trace;
mod user_state;
mod webcrypto;
mod zones;

pub use event_log::{DeadLetterIndex, EventLog};
pub use routing_state::RoutingState;
pub use user_state::UserState;

#[event(start)]
fn start() {
    // Turn a panic's message into a console error instead of a bare trap;
    // worker-build's panic recovery then resets the instance for the next request.
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    // Test builds only (tests/panic.test.mjs builds build-test/ with it): a
    // panic on demand, to prove the next request is served after one.
    #[cfg(feature = "test-panic")]
    if req.url().contains("/__test/panic") {
        panic!("panic injected by the test-panic feature");
    }
    router::dispatch(req, env, ctx).await
}
