//! The request path: resolve the route, check method and token, read the
//! request, call the one `handlers` function for it, convert the reply.

use std::cell::OnceCell;

use handlers::auth::Tokens;
use handlers::params::CallParams;
use handlers::route::{self, Route};
use worker::{console_error, console_warn, Context, Env, Request, Response};

use crate::error::{EdgeError, Family};
use crate::http::{error_reply, error_response, respond, respond_result};
use crate::runtime::env::secret;
use crate::{bindings, config, routes};

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

/// `?fallback=1` (or `true`): the safe static answer, touching nothing.
fn wants_fallback(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k == "fallback" && (v == "1" || v == "true"))
}

/// Handles one request.
pub async fn dispatch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started_ms = crate::runtime::clock::now_ms();
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
    if path == "/console" || path.starts_with("/console/") {
        // The web console has its own credential (docs/console.md).
        let head = req.inner().method() == "HEAD";
        let answer = crate::console::handle(req, &env).await?;
        return if head {
            crate::http::head_of(answer).await
        } else {
            Ok(answer)
        };
    }
    let resolved = route::resolve(path);
    // The method as the client sent it: `Request::method()` maps every
    // method it has no variant for (PROPFIND, PURGE, MKCOL...) to GET.
    let method = req.inner().method();
    let head = method == "HEAD";
    // Operators' routes: their own credential and methods (docs/events.md).
    if let Some(rest) = path.strip_prefix("/admin/events") {
        if let Some(allow) = handlers::event_log::AdminRequest::allow(rest) {
            if !allow.split(", ").any(|m| m == method) {
                let e = EdgeError::MethodNotAllowed {
                    allow,
                    family: Family::Plain,
                };
                return error_response(&e, head);
            }
        }
        return respond(
            &routes::admin::handle_admin(req, &env, rest, &method).await,
            head,
        );
    }
    let Some(route) = resolved.route else {
        return error_response(&EdgeError::NoRoute, head);
    };
    if !route.allows(&method) {
        let family = if route.is_app() {
            Family::App
        } else {
            Family::Plain
        };
        let e = EdgeError::MethodNotAllowed {
            allow: route.allow(),
            family,
        };
        return error_response(&e, head);
    }
    if route.is_app() {
        // The app API has its own credential (docs/push.md).
        return respond(
            &routes::backend::handle_app(route, req, &env, path).await,
            head,
        );
    }
    if route.is_protected() {
        // A token in the path decides alone (`Tokens::authorize`): the
        // header is read only when there is none, which saves two runtime
        // crossings on every Exotel callback.
        let authorization = match resolved.token {
            Some(_) => None,
            None => req.headers().get("authorization")?,
        };
        if let Err(e) = tokens(&env).authorize(resolved.token, authorization.as_deref()) {
            return error_response(&e.into(), head);
        }
    }
    let query = query.unwrap_or("");
    let reply = match route {
        Route::Health => routes::health::handle_health(),
        Route::Status => {
            return respond_result(&routes::status::handle_status(req, &env, &ctx).await, head)
        }
        Route::Events => {
            return respond_result(&routes::events::handle_events(req, &env, &ctx).await, head)
        }
        Route::Push => {
            return respond_result(&routes::push::handle_push(req, &env, &ctx).await, head)
        }
        _ if wants_fallback(query) => routes::fallback::handle_fallback(route),
        _ => match CallParams::from_query(query) {
            Err(e) => error_reply(&e.into()),
            Ok(params) => match config::current(&env, &ctx).await {
                Err(e) => {
                    console_error!("config unavailable: {e}");
                    routes::fallback::handle_fallback(route)
                }
                Ok(cfg) => routes::callback(route, &params, &cfg, &env, &ctx, head).await,
            },
        },
    };
    if route.is_callback() && !head {
        // Off the caller's path: copies now, the D1 write in wait_until.
        crate::trace::callback(&env, &ctx, route, query, &reply, started_ms);
    }
    respond(&reply, head)
}
