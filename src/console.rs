//! `/console`: the web console over the call trace (docs/console.md). The
//! pages and the session cookie are `handlers::console`; this reads the
//! credential, the trace rows in D1 and the config in force.

use std::cell::OnceCell;

use handlers::auth::Tokens;
use handlers::console::{
    self as pages, CallSummary, Entry, Export, Filters, SessionKey, StoredRow,
};
use wasm_bindgen::JsValue;
use worker::{console_error, console_warn, Env, Headers, Method, Request, Response};

use crate::runtime::budget;
use crate::runtime::clock::{now_ms, now_secs};
use crate::runtime::env::secret;
use crate::{bindings, config, trace};

thread_local! {
    /// The admin tokens and the session key, fixed for the isolate's life.
    static ADMIN: OnceCell<Option<(Tokens, SessionKey)>> = const { OnceCell::new() };
}

/// The admin credential (`EXOEDGE_ADMIN_TOKENS`), read once per isolate:
/// the tokens and the session key derived from them, `None` when none is
/// set. `/console` and `/admin/events` both check it here.
pub(crate) fn with_admin<T>(env: &Env, f: impl FnOnce(Option<&(Tokens, SessionKey)>) -> T) -> T {
    ADMIN.with(|a| {
        let admin = a.get_or_init(|| {
            let secret = secret(env, bindings::ADMIN_TOKENS).unwrap_or_default();
            let (tokens, dropped) = Tokens::parse(&secret);
            if dropped > 0 {
                console_warn!(
                    "{dropped} admin token(s) ignored: shorter than {} characters",
                    handlers::auth::MIN_TOKEN_LEN
                );
            }
            (!tokens.is_empty()).then(|| (tokens, SessionKey::from_secret(&secret)))
        });
        f(admin.as_ref())
    })
}

/// Largest login form read.
const MAX_LOGIN_BYTES: usize = 4096;

/// Security headers every console answer carries: nothing from elsewhere,
/// no framing, no caching, no referrer (call sids are in URLs).
fn headers(content_type: &str) -> worker::Result<Headers> {
    let h = Headers::new();
    h.set("content-type", content_type)?;
    h.set("cache-control", "no-store")?;
    h.set(
        "content-security-policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )?;
    h.set("x-content-type-options", "nosniff")?;
    h.set("referrer-policy", "no-referrer")?;
    Ok(h)
}

fn html(status: u16, body: String) -> worker::Result<Response> {
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers("text/html; charset=utf-8")?)
        .fixed(body.into_bytes()))
}

fn redirect(to: &str, cookie: Option<String>) -> worker::Result<Response> {
    let h = headers("text/plain")?;
    h.set("location", to)?;
    if let Some(c) = cookie {
        h.set("set-cookie", &c)?;
    }
    Ok(Response::builder().with_status(303).with_headers(h).empty())
}

/// Whether the request carries a valid session cookie or an admin Bearer token.
fn signed_in(req: &Request, env: &Env) -> bool {
    let cookie = req.headers().get("cookie").ok().flatten();
    let bearer = req.headers().get("authorization").ok().flatten();
    with_admin(env, |admin| {
        let Some((tokens, key)) = admin else {
            return false;
        };
        if let Some(t) = handlers::event_log::bearer(bearer.as_deref()) {
            return tokens.accepts(t);
        }
        cookie
            .as_deref()
            .and_then(pages::cookie_value)
            .is_some_and(|v| key.verify(v, now_secs()))
    })
}

/// Handles every `/console` path.
pub async fn handle(mut req: Request, env: &Env) -> worker::Result<Response> {
    let url = req.url()?;
    let path = url.path().trim_end_matches('/').to_owned();
    let secure = pages::secure_cookie(url.scheme(), url.host_str().unwrap_or(""));
    // Methods other than GET, HEAD and POST were refused by the router
    // (its table's row for `/console`), with the raw method.
    let method = req.method();
    // The pages name lines and show the config in use: what KV holds now.
    config::refresh_off_path(env).await;
    match (method.clone(), path.as_str()) {
        (Method::Get, "/console/app.css") => {
            return Ok(Response::builder()
                .with_headers(headers("text/css")?)
                .fixed(pages::CSS.as_bytes().to_vec()))
        }
        (Method::Get, "/console/app.js") => {
            return Ok(Response::builder()
                .with_headers(headers("text/javascript")?)
                .fixed(pages::JS.as_bytes().to_vec()))
        }
        _ => {}
    }
    if with_admin(env, |a| a.is_none()) {
        return html(503, pages::page("Console off", false, "<h1>Console off</h1><p>Set the secret <code>EXOEDGE_ADMIN_TOKENS</code> to use it.</p>"));
    }
    match (method, path.as_str()) {
        (Method::Post, "/console/login") => {
            // A login form is a few dozen bytes: never read past the limit,
            // declared or streamed (src/body.rs).
            let form = match crate::body::read(&mut req, MAX_LOGIN_BYTES).await {
                Ok(f) => f,
                Err(e) => return json_error(handlers::body::status(&e), &e.to_string()),
            };
            let token = pages::posted_token(&form);
            let cookie = with_admin(env, |a| {
                let (tokens, key) = a?;
                let t = token?;
                tokens
                    .accepts(&t)
                    .then(|| pages::session_cookie(&key.issue(now_secs()), secure))
            });
            match cookie {
                Some(c) => redirect("/console", Some(c)),
                None => html(401, pages::login_page(true)),
            }
        }
        (Method::Post, "/console/logout") => {
            redirect("/console", Some(pages::clear_cookie(secure)))
        }
        (Method::Get | Method::Head, _) if !signed_in(&req, env) => {
            html(401, pages::login_page(false))
        }
        (Method::Get | Method::Head, "/console") => calls(env, url.query().unwrap_or("")).await,
        (Method::Get | Method::Head, "/console/call") => match sid(&url) {
            Some(sid) => match rows(env, &sid).await {
                Ok(rows) => html(200, pages::timeline_page(&sid, &rows)),
                Err(e) => {
                    console_error!("console: trace read failed: {e}");
                    unavailable()
                }
            },
            None => html(
                400,
                pages::page(
                    "Call",
                    true,
                    "<p>Which call? <code>?sid=</code> is missing.</p>",
                ),
            ),
        },
        (Method::Get | Method::Head, "/console/export") => match sid(&url) {
            Some(sid) => {
                let Ok(rows) = rows(env, &sid).await else {
                    return json_error(503, "the trace database did not answer");
                };
                let body = serde_json::to_string(&Export {
                    call_sid: &sid,
                    rows: &rows,
                })
                .unwrap_or_default();
                let h = headers("application/json")?;
                let name: String = sid
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .take(64)
                    .collect();
                h.set(
                    "content-disposition",
                    &format!("attachment; filename=\"call-{name}.json\""),
                )?;
                Ok(Response::builder().with_headers(h).fixed(body.into_bytes()))
            }
            None => json_error(400, "sid is missing"),
        },
        (Method::Get | Method::Head, "/console/config") => config_view(),
        (Method::Get | Method::Head | Method::Post, _) => {
            html(404, pages::page("Not found", true, "<h1>Not found</h1>"))
        }
        _ => {
            let mut r = json_error(405, "GET, HEAD, POST only")?;
            r.headers_mut().set("allow", "GET, HEAD, POST")?;
            Ok(r)
        }
    }
}

pub(crate) fn json_error(status: u16, msg: &str) -> worker::Result<Response> {
    let body = serde_json::json!({ "error": msg }).to_string();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers("application/json")?)
        .fixed(body.into_bytes()))
}

fn sid(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "sid")
        .map(|(_, v)| v.chars().take(80).collect::<String>())
        .filter(|s| !s.is_empty())
}

fn tracing_off() -> worker::Result<Response> {
    html(
        503,
        pages::page(
            "Tracing off",
            true,
            "<h1>Tracing is off</h1><p>Bind a D1 database as <code>TRACE</code> (wrangler.toml) and apply <code>migrations/</code>.</p>",
        ),
    )
}

const CALLS: &str = "SELECT call_sid, MIN(at_ms) AS first_ms, MAX(at_ms) AS last_ms, MAX(line) AS line, MAX(caller) AS caller, \
     COUNT(*) AS n, GROUP_CONCAT(DISTINCT outcome) AS outcomes FROM trace WHERE at_ms >= ?1 GROUP BY call_sid \
     HAVING (?2 = '' OR MAX(line = ?2)) AND (?3 = '' OR MAX(caller_last LIKE '%' || ?3)) AND (?4 = '' OR MAX(outcome = ?4)) \
     ORDER BY last_ms DESC LIMIT ?5";

async fn calls(env: &Env, query: &str) -> worker::Result<Response> {
    let Some(db) = trace::database(env) else {
        return tracing_off();
    };
    let f = Filters::from_query(query);
    let args: [JsValue; 5] = [
        (f.since_ms(now_ms()) as f64).into(),
        f.line.as_str().into(),
        f.last.as_str().into(),
        f.outcome.as_str().into(),
        f64::from(pages::PAGE_CALLS).into(),
    ];
    let query = async {
        trace::prepare(&db, CALLS)?
            .bind(&args)?
            .all()
            .await?
            .results::<CallSummary>()
    };
    let found = match within_budget(query).await {
        Ok(found) => found,
        Err(e) => {
            console_error!("console: trace read failed: {e}");
            return unavailable();
        }
    };
    let cfg = config::in_memory().ok();
    let m = trace::masker();
    let mut lines: Vec<String> = cfg
        .as_ref()
        .map(|c| {
            c.lines
                .iter()
                .map(|(k, l)| l.name.clone().unwrap_or_else(|| m.number(k)))
                .collect()
        })
        .unwrap_or_default();
    lines.push("default_line".into());
    html(200, pages::calls_page(&f, &lines, &found, m.full))
}

async fn rows(env: &Env, sid: &str) -> worker::Result<Vec<Entry>> {
    let Some(db) = trace::database(env) else {
        return Ok(Vec::new());
    };
    let query = async {
        trace::prepare(
            &db,
            "SELECT call_sid, at_ms, kind, route, line, caller, status, outcome, latency_ms, summary, params, reason \
             FROM trace WHERE call_sid = ?1 ORDER BY at_ms, id LIMIT 1000",
        )?
        .bind(&[sid.into()])?
        .all()
        .await?
        .results::<StoredRow>()
    };
    Ok(within_budget(query)
        .await?
        .into_iter()
        .map(Entry::from)
        .collect())
}

/// Longest a console page waits for D1.
const READ_BUDGET_MS: u64 = 5_000;

async fn within_budget<T>(
    f: impl std::future::Future<Output = worker::Result<T>>,
) -> worker::Result<T> {
    budget::within(READ_BUDGET_MS, f).await.unwrap_or_else(|| {
        Err(worker::Error::RustError(format!(
            "no answer within {READ_BUDGET_MS} ms"
        )))
    })
}

fn unavailable() -> worker::Result<Response> {
    html(
        503,
        pages::page(
            "Trace unavailable",
            true,
            "<p class=\"err\">The trace database did not answer; try again.</p>",
        ),
    )
}

fn config_view() -> worker::Result<Response> {
    let status = config::status();
    let source = match status.source {
        config::Source::Embedded => "embedded (config/default.json compiled into the worker)",
        config::Source::Kv => "KV namespace CONFIG, key config.json",
    };
    let doc = trace::masker().text(&config::document());
    html(
        200,
        pages::config_page(source, status.error.as_deref(), &doc),
    )
}
