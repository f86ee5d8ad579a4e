//! One module per callback; each turns typed parameters into a reply by
//! calling its `handlers` function, and logs with numbers masked.

use handlers::config::Config;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::route::Route;
use worker::{Context, Env};

use crate::router::own;

#[cfg(feature = "backend")]
pub mod admin;
#[cfg(feature = "backend")]
pub mod app_api;
pub mod connect;
#[cfg(feature = "backend")]
pub mod devices;
pub mod dialwhom;
#[cfg(feature = "backend")]
pub mod events;
pub mod fallback;
pub mod health;
pub mod passthru;
pub mod personal;
pub mod popup;
#[cfg(feature = "backend")]
pub mod push;
#[cfg(feature = "backend")]
pub mod status;
#[cfg(feature = "backend")]
pub mod subscriber_token;

/// The applet callbacks answered from config and routing state. A HEAD
/// request changes no state (it would otherwise use up an agent offer or
/// a round-robin turn): Connect and dial-whom read their state without
/// changing it, so HEAD gives the status and headers GET would.
pub async fn callback(
    route: Route,
    p: &CallParams,
    cfg: &Config,
    env: &Env,
    ctx: &Context,
    head: bool,
    arrived_ms: i64,
) -> Reply {
    let now_ms = crate::runtime::clock::decision_now_ms(p, arrived_ms);
    // Each route's future boxed, as in the router (`own`): a cold isolate
    // compiles only the callback it answers.
    let reply = match route {
        Route::Connect => {
            own(connect::handle_connect(
                p,
                cfg,
                env,
                now_ms,
                connect::Form::Json,
                head,
            ))
            .await
        }
        // App-to-app calls: the caller's posted context decides (push docs).
        Route::DialWhom => own(dial_whom(p, cfg, env, now_ms, head)).await,
        Route::Gather => handlers::decide::gather(cfg, p, now_ms),
        Route::Greeting => {
            own(personal::handle_personal(
                p,
                cfg,
                env,
                now_ms,
                personal::Kind::Greeting,
            ))
            .await
        }
        Route::Playback => {
            own(personal::handle_personal(
                p,
                cfg,
                env,
                now_ms,
                personal::Kind::Playback,
            ))
            .await
        }
        Route::Passthru => passthru::handle_passthru(p, cfg, env, ctx, now_ms),
        Route::Popup => popup::handle_popup(p, cfg, env, ctx, now_ms),
        _ => crate::http::error_reply(&crate::error::EdgeError::NotCallback),
    };
    if logs_callbacks(env) {
        log_callback(route, p, reply.status);
    }
    reply
}

/// Dial Whom: the caller's posted context when there is one, else Connect's
/// decision as text.
async fn dial_whom(p: &CallParams, cfg: &Config, env: &Env, now_ms: i64, head: bool) -> Reply {
    match dialwhom::from_context(p, env).await {
        Some(reply) => reply,
        None => connect::handle_connect(p, cfg, env, now_ms, connect::Form::Text, head).await,
    }
}

thread_local! {
    /// [`bindings::CALLBACK_LOG`], read once: vars are fixed for an isolate's life.
    static LOG_CALLBACKS: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
}

/// Whether each callback logs its line: only when `CALLBACK_LOG` asks for
/// it. The runtime already records every invocation (URL, status: `wrangler
/// tail`, Workers Logs) and the D1 trace records each call; the line was
/// that record a third time, at a measured cost on every callback (about
/// 10% of a warm isolate's requests per second, ~2 ms of a cold start:
/// BENCHMARKS.md, "The callback log line").
fn logs_callbacks(env: &Env) -> bool {
    LOG_CALLBACKS.with(|l| {
        *l.get_or_init(|| {
            crate::runtime::env::var(env, crate::bindings::CALLBACK_LOG).is_some_and(|v| {
                ["on", "true", "1", "yes"].contains(&v.to_ascii_lowercase().as_str())
            })
        })
    })
}

/// The callback's log line: numbers masked, no query, no token.
fn log_callback(route: Route, p: &CallParams, status: u16) {
    worker::console_log!(
        "{} call={} from={} to={} -> {}",
        route.name(),
        p.call_sid,
        p.caller().map(handlers::phone::mask).unwrap_or_default(),
        p.exophone().map(handlers::phone::mask).unwrap_or_default(),
        status
    );
}
