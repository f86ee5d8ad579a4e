//! The request path, in the order issue 17 fixed: resolve the route in
//! `handlers::route::ROUTES` (404), check the method as sent (405 with
//! `Allow`), check the route's credential (401), and only then call its
//! handler, the first code that may read the body. The one `match` on
//! [`Route`] below is where a row of the table meets its handler.
//!
//! The callback worker (the default build) resolves the route, then hands
//! every route but the applet callbacks and `/healthz` to the backend
//! before any other check: the backend (`--features backend`) runs this
//! whole path itself (README, "Two workers").

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;

use handlers::auth::Tokens;
use handlers::params::CallParams;
use handlers::push::app_api::AppError;
use handlers::reply::Reply;
use handlers::route::{self, Credential, Family, Route};
use worker::{console_error, console_log, console_warn, web_sys, Context, Env, Request};

#[cfg(feature = "backend")]
use crate::app::{self, Caller};
use crate::error::EdgeError;
use crate::http::{error_reply, error_response, head_of, respond, respond_result};
use crate::routes;
#[cfg(feature = "backend")]
use crate::routes::{admin, devices, subscriber_token};
use crate::runtime::clock::now_ms;
use crate::runtime::env::secret;
use crate::{bindings, config};

thread_local! {
    /// Tokens are a secret fixed for the isolate's life: hash them once.
    static TOKENS: OnceCell<Tokens> = const { OnceCell::new() };
}

/// Runs `check` on this isolate's tokens (parsed on first use), without
/// copying them per request.
fn with_tokens<T>(env: &Env, check: impl FnOnce(&Tokens) -> T) -> T {
    TOKENS.with(|t| {
        check(t.get_or_init(|| {
            let secret = secret(env, bindings::CALLBACK_TOKENS).unwrap_or_default();
            let (tokens, dropped) = Tokens::parse(&secret);
            if tokens.is_empty() {
                console_error!(
                    "no callback token configured ({}): every /exotel request gets 401",
                    bindings::CALLBACK_TOKENS
                );
            }
            if dropped > 0 {
                console_warn!(
                    "{dropped} callback token(s) ignored: shorter than {} characters",
                    handlers::auth::MIN_TOKEN_LEN
                );
            }
            tokens
        }))
    })
}

/// Handles one request.
///
/// Takes the runtime's request as it is: an applet callback needs only its
/// URL and method (and, without a path token, one header), so Exotel's
/// requests skip worker-rs's `Request` conversion (a handful of JS
/// crossings; BENCHMARKS.md, "Per request"); every other route gets a
/// `worker::Request`. Every reply is answered by [`respond`] in one
/// runtime call.
pub async fn dispatch(
    raw: web_sys::Request,
    env: Env,
    ctx: Context,
) -> worker::Result<web_sys::Response> {
    let started_ms = now_ms();
    let raw_url = raw.url();
    // Plain URLs (all of Exotel's) are split by hand; anything a WHATWG
    // parser would change goes through the url crate as before.
    let parsed;
    let (path, query) = match route::split_plain_url(&raw_url) {
        Some(parts) => parts,
        None => {
            parsed = url::Url::parse(&raw_url)
                .map_err(|e| worker::Error::RustError(format!("bad request URL: {e}")))?;
            (parsed.path(), parsed.query())
        }
    };
    let resolved = route::resolve(path);
    // The method as the client sent it: `Request::method()` maps every
    // method it has no variant for (PROPFIND, PURGE, MKCOL...) to GET.
    let method = raw.method();
    let head = method == "HEAD";
    let Some(route) = resolved.route else {
        return error_response(&EdgeError::NoRoute, head);
    };
    // The callback worker hands every other route to the backend as it
    // came: its methods, credentials and body limits are the backend's.
    #[cfg(not(feature = "backend"))]
    if !route.is_callback() && route != Route::Health {
        return forward(raw, &env, head).await;
    }
    let def = route.def();
    if resolved.refuses(&method) {
        let allow = resolved.allow().unwrap_or_default();
        let e = EdgeError::MethodNotAllowed {
            allow,
            family: def.family,
        };
        return error_response(&e, head);
    }
    let query = query.unwrap_or("");

    // The callback token, before any handler runs (so before any body is
    // read). A token in the path decides alone (`Tokens::authorize`): the
    // header is read only when there is none.
    if def.credential == Credential::CallbackToken {
        let authorization = match resolved.token {
            Some(_) => None,
            None => raw.headers().get("authorization")?,
        };
        if let Err(e) = with_tokens(&env, |t| {
            t.authorize(resolved.token, authorization.as_deref())
        }) {
            return error_response(&e.into(), head);
        }
    }
    if route.is_callback() {
        let reply = own(callback(route, query, &env, &ctx, head, started_ms)).await;
        if !head {
            // Off the caller's path: copies now, the D1 write in wait_until.
            crate::trace::callback(&env, &ctx, route, query, &reply, started_ms);
        }
        return Ok(respond(&reply, head));
    }
    // In the callback worker only `/healthz` is left here.
    #[cfg(feature = "backend")]
    if route != Route::Health {
        return own(backend(route, raw, &resolved, &env, &ctx, head, &method)).await;
    }
    Ok(respond(&routes::health::handle_health(), head))
}

/// The callback worker's way to every route but its own: the same request,
/// body unread, through the `BACKEND` service binding (no network hop:
/// Cloudflare runs the bound worker in the same place). Not bound is a 503
/// that says so.
#[cfg(not(feature = "backend"))]
async fn forward(
    raw: web_sys::Request,
    env: &Env,
    head: bool,
) -> worker::Result<web_sys::Response> {
    use wasm_bindgen::JsCast;
    // The runtime's own binding: the request and its answer pass through
    // untouched (worker-rs's `fetch_request` would rebuild the response).
    let Ok(backend) = env.service(bindings::BACKEND) else {
        let e = EdgeError::Unavailable(format!(
            "this route is served by the backend worker; bind it as {}",
            bindings::BACKEND
        ));
        return error_response(&e, head);
    };
    let backend: worker::worker_sys::Fetcher = backend.into_rpc();
    let answer = wasm_bindgen_futures::JsFuture::from(backend.fetch(&raw)?).await?;
    Ok(answer.dyn_into()?)
}

/// Every route that is not an applet callback or `/healthz`, in the
/// backend build: its credential, then its handler.
#[cfg(feature = "backend")]
async fn backend(
    route: Route,
    raw: web_sys::Request,
    resolved: &route::Resolved<'_>,
    env: &Env,
    ctx: &Context,
    head: bool,
    method: &str,
) -> worker::Result<web_sys::Response> {
    let def = route.def();
    let req = Request::from(raw);

    // The other credentials, before any handler runs.
    let mut caller = Caller::Anonymous;
    match def.credential {
        Credential::AppToken => match app::authenticate(&req, env) {
            Ok(c) => caller = c,
            Err(e) => return Ok(respond(&app_reply(route, Err(e)), head)),
        },
        Credential::AdminToken => {
            if !admin::authorized(&req, env) {
                return error_response(&EdgeError::Unauthorized, head);
            }
        }
        // Checked above, on the runtime's request.
        Credential::CallbackToken => {}
        // The handler's own: checked there before any body is read.
        Credential::Open
        | Credential::Signature
        | Credential::Password
        | Credential::ConsoleSession => {}
    }

    let params = &resolved.params;
    let result = match route {
        // Answered in `dispatch`; they never get here.
        Route::Health
        | Route::Connect
        | Route::DialWhom
        | Route::Gather
        | Route::Greeting
        | Route::Playback
        | Route::Passthru
        | Route::Popup => Err(EdgeError::NotCallback),
        Route::Status => own(routes::status::handle_status(req, env, ctx)).await,
        Route::Events => own(routes::events::handle_events(req, env, ctx)).await,
        Route::Push => own(routes::push::handle_push(req, env, ctx)).await,
        Route::Login => Ok(app_reply(
            route,
            own(routes::app_api::handle_login(req, env)).await,
        )),
        Route::Devices => Ok(app_reply(
            route,
            own(devices::handle_register(req, env, caller)).await,
        )),
        Route::Device => Ok(app_reply(
            route,
            own(devices::handle_unregister(
                env,
                caller,
                &params.subscriber,
                &params.device_id,
            ))
            .await,
        )),
        Route::SubscriberToken => Ok(app_reply(
            route,
            own(subscriber_token::handle_subscriber_token(req, env, caller)).await,
        )),
        Route::DeviceToken => Ok(app_reply(
            route,
            own(routes::app_api::handle_devicetoken(
                req, env, caller, params,
            ))
            .await,
        )),
        Route::Context => Ok(app_reply(
            route,
            own(routes::app_api::handle_context(req, env, caller, params)).await,
        )),
        Route::Contacts => Ok(app_reply(
            route,
            own(routes::app_api::handle_contacts(env, caller, params)).await,
        )),
        Route::Admin => own(admin::handle_admin(req, env, resolved.rest, method)).await,
        Route::Console => {
            let answer = own(crate::console::handle(req, env)).await?;
            return if head {
                head_of(answer).await.map(Into::into)
            } else {
                Ok(answer.into())
            };
        }
    };
    respond_result(&result, head)
}

/// A route's future on the heap, polled through its own function.
///
/// Without it every handler's state machine is inlined into `dispatch`'s,
/// one wasm function of ~135 KB that V8 compiles (lazily, with Liftoff) on
/// an isolate's first request whatever the route: ~9 ms of every cold start
/// (BENCHMARKS.md, "Cold start: where it goes"). Boxed, a cold isolate
/// compiles only the routes it serves; the cost is one allocation per request.
pub(crate) fn own<'a, T>(f: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(f)
}

/// An applet callback: `?fallback=1`'s static answer, or the decision
/// from the call's parameters and the config (its fallback when the
/// config is unavailable). Parameters Exotel never sends are a 400.
/// `now_ms` is when the request arrived: the one clock read it needs.
async fn callback(
    route: Route,
    query: &str,
    env: &Env,
    ctx: &Context,
    head: bool,
    now_ms: i64,
) -> Reply {
    if handlers::params::wants_fallback(query) {
        return routes::fallback::handle_fallback(route, env, ctx).await;
    }
    match CallParams::from_query(query) {
        Err(e) => error_reply(&e.into()),
        Ok(params) => match config::current(env, ctx, now_ms).await {
            Err(e) => {
                console_error!("config unavailable: {e}");
                routes::fallback::handle_fallback(route, env, ctx).await
            }
            Ok(cfg) => routes::callback(route, &params, &cfg, env, ctx, head, now_ms).await,
        },
    }
}

/// An app route's answer: its reply, or its error in the route's shape
/// (`Family::AppQuiet` for the context, whose `message` the apps display).
fn app_reply(route: Route, result: Result<Reply, AppError>) -> Reply {
    let reply = match result {
        Ok(r) => r,
        Err(e) if route.def().family == Family::AppQuiet => error_reply(&EdgeError::AppQuiet(e)),
        Err(e) => error_reply(&EdgeError::App(e)),
    };
    console_log!("{} -> {}", route.name(), reply.status);
    reply
}
