//! The request path, in the order issue 17 fixed: resolve the route in
//! `handlers::route::ROUTES` (404), check the method as sent (405 with
//! `Allow`), check the route's credential (401), and only then call its
//! handler, the first code that may read the body. The one `match` on
//! [`Route`] below is where a row of the table meets its handler.

use std::cell::OnceCell;

use handlers::auth::Tokens;
use handlers::params::CallParams;
use handlers::push::app_api::AppError;
use handlers::reply::Reply;
use handlers::route::{self, Credential, Family, Route};
use worker::{console_error, console_log, console_warn, Context, Env, Request, Response};

use crate::app::{self, Caller};
use crate::error::EdgeError;
use crate::http::{error_reply, error_response, head_of, respond, respond_result};
use crate::routes::{self, admin, devices, subscriber_token};
use crate::runtime::clock::now_ms;
use crate::runtime::env::secret;
use crate::{bindings, config};

thread_local! {
    /// Tokens are a secret fixed for the isolate's life: hash them once.
    static TOKENS: OnceCell<Tokens> = const { OnceCell::new() };
}

fn tokens(env: &Env) -> Tokens {
    TOKENS.with(|t| {
        t.get_or_init(|| {
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
        })
        .clone()
    })
}

/// Handles one request.
pub async fn dispatch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started_ms = now_ms();
    let raw_url = req.inner().url();
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
    let method = req.inner().method();
    let head = method == "HEAD";
    let Some(route) = resolved.route else {
        return error_response(&EdgeError::NoRoute, head);
    };
    let def = route.def();
    if resolved.refuses(&method) {
        let allow = resolved.allow().unwrap_or_default();
        let e = EdgeError::MethodNotAllowed {
            allow,
            family: def.family,
        };
        return error_response(&e, head);
    }

    // The credential, before any handler runs (so before any body is read).
    let mut caller = Caller::Anonymous;
    match def.credential {
        Credential::CallbackToken => {
            // A token in the path decides alone (`Tokens::authorize`): the
            // header is read only when there is none, which saves two
            // runtime crossings on every Exotel callback.
            let authorization = match resolved.token {
                Some(_) => None,
                None => req.headers().get("authorization")?,
            };
            if let Err(e) = tokens(&env).authorize(resolved.token, authorization.as_deref()) {
                return error_response(&e.into(), head);
            }
        }
        Credential::AppToken => match app::authenticate(&req, &env) {
            Ok(c) => caller = c,
            Err(e) => return respond(&app_reply(route, Err(e)), head),
        },
        Credential::AdminToken => {
            if !admin::authorized(&req, &env) {
                return error_response(&EdgeError::Unauthorized, head);
            }
        }
        // The handler's own: checked there before any body is read.
        Credential::Open
        | Credential::Signature
        | Credential::Password
        | Credential::ConsoleSession => {}
    }

    let (env, ctx, params) = (&env, &ctx, &resolved.params);
    let query = query.unwrap_or("");
    let result = match route {
        Route::Connect
        | Route::DialWhom
        | Route::Gather
        | Route::Greeting
        | Route::Playback
        | Route::Passthru
        | Route::Popup => {
            let reply = callback(route, query, env, ctx, head).await;
            if !head {
                // Off the caller's path: copies now, the D1 write in wait_until.
                crate::trace::callback(env, ctx, route, query, &reply, started_ms);
            }
            Ok(reply)
        }
        Route::Status => routes::status::handle_status(req, env, ctx).await,
        Route::Health => Ok(routes::health::handle_health()),
        Route::Events => routes::events::handle_events(req, env, ctx).await,
        Route::Push => routes::push::handle_push(req, env, ctx).await,
        Route::Login => Ok(app_reply(
            route,
            routes::app_api::handle_login(req, env).await,
        )),
        Route::Devices => Ok(app_reply(
            route,
            devices::handle_register(req, env, caller).await,
        )),
        Route::Device => Ok(app_reply(
            route,
            devices::handle_unregister(env, caller, &params.subscriber, &params.device_id).await,
        )),
        Route::SubscriberToken => Ok(app_reply(
            route,
            subscriber_token::handle_subscriber_token(req, env, caller).await,
        )),
        Route::DeviceToken => Ok(app_reply(
            route,
            routes::app_api::handle_devicetoken(req, env, caller, params).await,
        )),
        Route::Context => Ok(app_reply(
            route,
            routes::app_api::handle_context(req, env, caller, params).await,
        )),
        Route::Contacts => Ok(app_reply(
            route,
            routes::app_api::handle_contacts(env, caller, params).await,
        )),
        Route::Admin => admin::handle_admin(req, env, resolved.rest, &method).await,
        Route::Console => {
            let answer = crate::console::handle(req, env).await?;
            return if head {
                head_of(answer).await
            } else {
                Ok(answer)
            };
        }
    };
    respond_result(&result, head)
}

/// An applet callback: `?fallback=1`'s static answer, or the decision
/// from the call's parameters and the config (its fallback when the
/// config is unavailable). Parameters Exotel never sends are a 400.
async fn callback(route: Route, query: &str, env: &Env, ctx: &Context, head: bool) -> Reply {
    if handlers::params::wants_fallback(query) {
        return routes::fallback::handle_fallback(route, env, ctx).await;
    }
    match CallParams::from_query(query) {
        Err(e) => error_reply(&e.into()),
        Ok(params) => match config::current(env, ctx).await {
            Err(e) => {
                console_error!("config unavailable: {e}");
                routes::fallback::handle_fallback(route, env, ctx).await
            }
            Ok(cfg) => routes::callback(route, &params, &cfg, env, ctx, head).await,
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
