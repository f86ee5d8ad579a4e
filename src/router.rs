//! The request path: resolve the route, check method and token, read the
//! request, call the one `handlers` function for it, convert the reply.

use std::cell::OnceCell;

use handlers::auth::Tokens;
use handlers::params::CallParams;
use handlers::push::backend::api_reply;
use handlers::reply::Reply;
use handlers::route::{self, Route};
use worker::{console_error, console_warn, Context, Env, Request, Response};

use crate::http::{method_not_allowed, param_error, respond, unauthorized};
use crate::{bindings, config, routes};

thread_local! {
    /// Tokens are a secret fixed for the isolate's life: hash them once.
    static TOKENS: OnceCell<Tokens> = const { OnceCell::new() };
}

fn tokens(env: &Env) -> Tokens {
    TOKENS.with(|t| {
        t.get_or_init(|| {
            let secret = env
                .secret(bindings::CALLBACK_TOKENS)
                .map(|s| s.to_string())
                .unwrap_or_default();
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
    let started_ms = js_sys::Date::now();
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
                return method_not_allowed(
                    &Reply::error(405, format!("{allow} only")),
                    allow,
                    head,
                );
            }
        }
        return respond(
            &routes::admin::handle_admin(req, &env, rest, &method).await,
            head,
        );
    }
    let Some(route) = resolved.route else {
        return respond(&Reply::error(404, "no such route"), head);
    };
    if !route.allows(&method) {
        let only = format!("{} only", route.allow());
        let reply = if route.is_app() {
            api_reply(405, &only)
        } else {
            Reply::error(405, only)
        };
        return method_not_allowed(&reply, route.allow(), head);
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
            return unauthorized(e);
        }
    }
    let query = query.unwrap_or("");
    let reply = match route {
        Route::Health => routes::health::handle_health(),
        Route::Status => routes::status::handle_status(req, &env, &ctx).await,
        Route::Events => routes::events::handle_events(req, &env, &ctx).await,
        Route::Push => routes::push::handle_push(req, &env, &ctx).await,
        _ if wants_fallback(query) => routes::fallback::handle_fallback(route),
        _ => match CallParams::from_query(query) {
            Err(e) => param_error(&e),
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
