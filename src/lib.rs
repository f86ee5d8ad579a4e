//! exoedge's Cloudflare Worker: the thin shell around `handlers`.
//!
//! Routing, bindings and I/O live here; every decision lives in the
//! `handlers` crate, which is tested natively. See README.md.
//!
//! One crate, two workers (README, "Two workers"):
//! - the default build is the callback worker, what Exotel calls while a
//!   caller waits: the applet callbacks and `/healthz`, nothing else; every
//!   other request goes through the `BACKEND` service binding unchanged.
//!   Half the wasm of the whole (BENCHMARKS.md), so a cold isolate decodes
//!   and compiles less before it answers.
//! - `--features backend` is the whole worker: every route and the Durable
//!   Object classes (the callback worker binds them by `script_name`). On
//!   its own it also serves the callbacks, as one worker.
//!
//! Without `backend` the modules only the backend's routes use are not
//! compiled, and the shared ones keep items only the backend calls: those
//! are not warned about in that build (clippy checks both builds, and the
//! backend build uses every item).
#![cfg_attr(not(feature = "backend"), allow(dead_code, unused_imports))]

use std::future::Future;
use std::task::{self, Poll, Waker};

use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::{event, web_sys, Context, Env, Response};

#[cfg(feature = "backend")]
mod app;
mod bindings;
#[cfg(feature = "backend")]
mod body;
mod config;
#[cfg(feature = "backend")]
mod console;
mod error;
#[cfg(feature = "backend")]
mod event_log;
mod http;
mod lookup;
#[cfg(feature = "backend")]
mod push_clients;
mod router;
mod routes;
mod routing_state;
mod runtime;
mod trace;
mod user_state;
#[cfg(feature = "backend")]
mod webcrypto;
mod zones;

// The Durable Object classes, exported by the backend build only.
#[cfg(feature = "backend")]
pub use event_log::{DeadLetterIndex, EventLog};
#[cfg(feature = "backend")]
pub use routing_state::RoutingState;
#[cfg(feature = "backend")]
pub use user_state::UserState;

#[event(start)]
fn start() {
    // Turn a panic's message into a console error instead of a bare trap;
    // worker-build's panic recovery then resets the instance for the next request.
    console_error_panic_hook::set_once();
}

/// The runtime's `fetch` entry (what `#[event(fetch)]` would generate,
/// minus one thing): the request's future is polled once right here, and
/// when it is already done (every applet callback whose answer needs no
/// I/O, most of Exotel's requests) its response is returned as is, with
/// no `Promise`, closure or microtask; only a request that waits on I/O is
/// handed to `future_to_promise`. A future may be polled again with a new
/// waker, so the first (no-op) one is simply replaced.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    let mut answer = Box::pin(answer(req, env, Context::new(ctx)));
    let mut cx = task::Context::from_waker(Waker::noop());
    match answer.as_mut().poll(&mut cx) {
        Poll::Ready(response) => response.into(),
        Poll::Pending => {
            wasm_bindgen_futures::future_to_promise(async move { Ok(answer.await.into()) }).into()
        }
    }
}

/// One request's response; a failure the router did not answer itself is
/// logged and answered 500, as worker-rs's entry does.
async fn answer(req: web_sys::Request, env: Env, ctx: Context) -> web_sys::Response {
    // Test builds only (tests/panic.test.mjs builds build-test/ with it): a
    // panic on demand, to prove the next request is served after one.
    #[cfg(feature = "test-panic")]
    if req.url().contains("/__test/panic") {
        panic!("panic injected by the test-panic feature");
    }
    match router::dispatch(req, env, ctx).await {
        Ok(response) => response,
        Err(e) => {
            worker::console_error!("{e}");
            Response::error("INTERNAL SERVER ERROR", 500)
                .map(Into::into)
                .unwrap_or_else(|_| web_sys::Response::new().expect("an empty Response"))
        }
    }
}
