//! The web console at `/console` (docs/console.md): its session cookie and
//! its pages, as pure functions the worker calls with rows it read from D1.
//!
//! Access needs an admin token from the secret `EXOEDGE_ADMIN_TOKENS` (not
//! the callback tokens), checked in constant time by [`crate::auth::Tokens`].
//! A browser trades it once, on the login form, for a session cookie that
//! holds only an expiry and an HMAC of it under a key derived from the
//! secret, so the token itself never sits in a cookie or URL, and rotating
//! the secret ends every session. Pages are plain HTML with one small
//! stylesheet and script served by the worker.

use std::collections::BTreeMap;
use std::fmt::Write;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::trace::{Kind, Outcome, Reason, Row};

/// The session cookie's name.
pub const COOKIE: &str = "exoedge_console";

/// How long a session lasts, in seconds.
pub const SESSION_SECS: u64 = 8 * 3600;

/// Calls listed per page.
pub const PAGE_CALLS: u32 = 100;

/// Signs and checks session cookies.
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// The key for a value of `EXOEDGE_ADMIN_TOKENS`: a hash of the whole
    /// secret, so changing the secret invalidates every session.
    pub fn from_secret(secret: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"exoedge console session v1\n");
        h.update(secret.as_bytes());
        Self(h.finalize().into())
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(payload.as_bytes());
        m
    }

    /// A cookie value valid until `now_secs + SESSION_SECS`.
    pub fn issue(&self, now_secs: u64) -> String {
        let payload = format!("v1.{}", now_secs + SESSION_SECS);
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", hex(&tag))
    }

    /// Whether a cookie value is ours and not expired (constant-time tag check).
    pub fn verify(&self, value: &str, now_secs: u64) -> bool {
        let mut parts = value.splitn(3, '.');
        let (Some("v1"), Some(exp), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Ok(exp_secs) = exp.parse::<u64>() else {
            return false;
        };
        let Some(tag) = unhex(tag) else { return false };
        self.mac(&format!("v1.{exp}")).verify_slice(&tag).is_ok() && now_secs < exp_secs
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether cookies must be `Secure`: always, except over plain http to the
/// local machine (`wrangler dev`, scripts/run.sh), where a browser would drop them.
pub fn secure_cookie(scheme: &str, host: &str) -> bool {
    !(scheme == "http" && matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1"))
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(value: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/console; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that ends the session.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's value in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// The token a login form posted (`token=...`).
pub fn posted_token(form: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(form)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// A row as stored in D1 (JSON columns as text, numbers as the runtime's doubles).
#[derive(Debug, Clone, Deserialize)]
pub struct StoredRow {
    #[allow(missing_docs)]
    pub call_sid: String,
    #[allow(missing_docs)]
    pub at_ms: f64,
    #[allow(missing_docs)]
    pub kind: String,
    #[allow(missing_docs)]
    pub route: String,
    #[allow(missing_docs)]
    #[serde(default)]
    pub line: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub caller: Option<String>,
    #[allow(missing_docs)]
    pub status: f64,
    #[allow(missing_docs)]
    pub outcome: String,
    #[allow(missing_docs)]
    pub latency_ms: f64,
    #[allow(missing_docs)]
    #[serde(default)]
    pub summary: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub params: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub reason: Option<String>,
}

/// A row for the timeline and the JSON export.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Unix ms.
    pub at_ms: i64,
    /// `callback`, `event`, `action`, `push`.
    pub kind: String,
    /// Route or event name.
    pub route: String,
    /// Line.
    pub line: String,
    /// Caller (masked unless the config allows full numbers).
    pub caller: String,
    /// HTTP status.
    pub status: u16,
    /// `ok`, `no-dial`, `fallback`, `error`.
    pub outcome: String,
    /// ms.
    pub latency_ms: i64,
    /// The answer.
    pub summary: String,
    /// Parameters that mattered.
    pub params: BTreeMap<String, String>,
    /// Why.
    pub reason: Reason,
}

impl From<StoredRow> for Entry {
    fn from(r: StoredRow) -> Self {
        Self {
            at_ms: r.at_ms as i64,
            kind: r.kind,
            route: r.route,
            line: r.line.unwrap_or_default(),
            caller: r.caller.unwrap_or_default(),
            status: r.status as u16,
            outcome: r.outcome,
            latency_ms: r.latency_ms as i64,
            summary: r.summary.unwrap_or_default(),
            params: r
                .params
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default(),
            reason: r
                .reason
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default(),
        }
    }
}

impl From<&Row> for Entry {
    fn from(r: &Row) -> Self {
        Self {
            at_ms: r.at_ms,
            kind: r.kind.as_str().into(),
            route: r.route.clone(),
            line: r.line.clone(),
            caller: r.caller.clone(),
            status: r.status,
            outcome: r.outcome.as_str().into(),
            latency_ms: r.latency_ms,
            summary: r.summary.clone(),
            params: r.params.clone(),
            reason: r.reason.clone(),
        }
    }
}

/// The JSON export of one call.
#[derive(Debug, Serialize)]
pub struct Export<'a> {
    /// The call.
    pub call_sid: &'a str,
    /// Its rows, oldest first.
    pub rows: &'a [Entry],
}

/// One call in the list.
#[derive(Debug, Clone, Deserialize)]
pub struct CallSummary {
    #[allow(missing_docs)]
    pub call_sid: String,
    #[allow(missing_docs)]
    pub first_ms: f64,
    #[allow(missing_docs)]
    pub last_ms: f64,
    #[allow(missing_docs)]
    #[serde(default)]
    pub line: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub caller: Option<String>,
    #[allow(missing_docs)]
    pub n: f64,
    /// Comma-separated outcomes seen.
    #[serde(default)]
    pub outcomes: Option<String>,
}

/// The list's filters, from the page's query string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filters {
    /// Line name, exact.
    pub line: String,
    /// Hours back from now (0: all retained).
    pub hours: u32,
    /// One of [`Outcome`]'s names, or empty.
    pub outcome: String,
    /// Last digits of the caller (up to 4).
    pub last: String,
}

impl Filters {
    /// Reads `line`, `hours`, `outcome`, `last`; drops what is not valid.
    pub fn from_query(q: &str) -> Self {
        let mut f = Filters {
            hours: 24,
            ..Default::default()
        };
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            match &*k {
                "line" => f.line = v.chars().take(80).collect(),
                "hours" => {
                    f.hours = v
                        .parse()
                        .ok()
                        .filter(|h| [0, 1, 24, 168, 720].contains(h))
                        .unwrap_or(24)
                }
                "outcome" if Outcome::ALL.iter().any(|o| o.as_str() == v) => {
                    f.outcome = v.into_owned()
                }
                "last" => f.last = v.chars().filter(char::is_ascii_digit).take(4).collect(),
                _ => {}
            }
        }
        f
    }

    /// The earliest time listed (Unix ms).
    pub fn since_ms(&self, now_ms: i64) -> i64 {
        if self.hours == 0 {
            0
        } else {
            now_ms - i64::from(self.hours) * 3_600_000
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A UTC timestamp, replaced by local time by the page's script.
fn when(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "<time data-ms=\"{ms}\">{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC</time>",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The stylesheet (`/console/app.css`).
pub const CSS: &str = r#"*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,sans-serif;color:#1b1f24;background:#f6f7f9}
header{display:flex;gap:1em;align-items:center;flex-wrap:wrap;padding:.6em 1em;background:#123;color:#fff}header a{color:#cde}header b{margin-right:auto}
main{padding:1em;max-width:60em;margin:auto}h1{font-size:1.2em}form.f{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em}
input,select,button{font:inherit;padding:.4em;border:1px solid #aab;border-radius:4px}button{background:#235;color:#fff;border:0;cursor:pointer}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.4em;border-bottom:1px solid #e3e5e8;text-align:left;vertical-align:top}
.ok{color:#176b2c}.no-dial,.fallback{color:#8a5300}.error{color:#b00020}
.ev{background:#fff;border-left:4px solid #235;margin:.6em 0;padding:.5em .8em;border-radius:4px}.ev.event,.ev.action{border-color:#6a3}.ev.push{border-color:#a63}
.ev h2{font-size:1em;margin:0 0 .3em}dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em .8em;margin:.3em 0}dt{color:#567}dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#eef1f4;padding:.5em;margin:.3em 0;font-size:13px}.err{color:#b00020}
@media(max-width:600px){.wide{display:none}}"#;

/// The script (`/console/app.js`): times in the viewer's zone, filters
/// applied as they change.
pub const JS: &str = r#"document.querySelectorAll("time[data-ms]").forEach(function(t){var d=new Date(+t.dataset.ms);t.title=t.textContent;t.textContent=d.toLocaleString()});
document.querySelectorAll("form.f select").forEach(function(s){s.addEventListener("change",function(){s.form.submit()})});"#;

/// The page frame.
pub fn page(title: &str, logged_in: bool, body: &str) -> String {
    let nav = if logged_in {
        r#"<a href="/console">Calls</a><a href="/console/config">Config</a><form method="post" action="/console/logout"><button>Log out</button></form>"#
    } else {
        ""
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{t} · exoedge</title><link rel="stylesheet" href="/console/app.css"></head><body><header><b>exoedge console</b>{nav}</header><main>{body}</main><script src="/console/app.js"></script></body></html>"#,
        t = esc(title)
    )
}

/// The login form; `failed` after a wrong credential (which shows nothing else).
pub fn login_page(failed: bool) -> String {
    let msg = if failed {
        r#"<p class="err" id="login-error">Wrong credential.</p>"#
    } else {
        ""
    };
    page(
        "Log in",
        false,
        &format!(
            r#"<h1>Log in</h1>{msg}<form method="post" action="/console/login"><p><label>Admin token<br><input type="password" name="token" autocomplete="current-password" required minlength="16" autofocus></label></p><p><button type="submit">Log in</button></p></form>"#
        ),
    )
}

/// The list of recent calls with its filters.
pub fn calls_page(
    f: &Filters,
    lines: &[String],
    calls: &[CallSummary],
    full_numbers: bool,
) -> String {
    let mut b =
        String::from("<h1>Recent calls</h1><form class=\"f\" method=\"get\" action=\"/console\">");
    b.push_str("<select name=\"line\" aria-label=\"line\"><option value=\"\">every line</option>");
    for l in lines {
        let _ = write!(
            b,
            "<option{}>{}</option>",
            if *l == f.line { " selected" } else { "" },
            esc(l)
        );
    }
    b.push_str("</select><select name=\"hours\" aria-label=\"time range\">");
    for (h, label) in [
        (1, "last hour"),
        (24, "last 24 h"),
        (168, "last 7 days"),
        (720, "last 30 days"),
        (0, "all kept"),
    ] {
        let _ = write!(
            b,
            "<option value=\"{h}\"{}>{label}</option>",
            if h == f.hours { " selected" } else { "" }
        );
    }
    b.push_str("</select><select name=\"outcome\" aria-label=\"outcome\"><option value=\"\">any outcome</option>");
    for o in Outcome::ALL {
        let _ = write!(
            b,
            "<option{}>{}</option>",
            if o.as_str() == f.outcome {
                " selected"
            } else {
                ""
            },
            o.as_str()
        );
    }
    let _ = write!(
        b,
        "</select><input name=\"last\" inputmode=\"numeric\" maxlength=\"4\" size=\"6\" placeholder=\"last digits\" value=\"{}\" aria-label=\"caller's last digits\"><button>Filter</button></form>",
        esc(&f.last)
    );
    if calls.is_empty() {
        b.push_str("<p id=\"no-calls\">No calls traced in this range.</p>");
    } else {
        b.push_str("<table id=\"calls\"><thead><tr><th>Last seen</th><th>Call</th><th>Line</th><th>Caller</th><th class=\"wide\">Rows</th><th>Outcome</th></tr></thead><tbody>");
        for c in calls {
            let outcomes = c.outcomes.clone().unwrap_or_default();
            let worst = ["error", "fallback", "no-dial", "ok"]
                .into_iter()
                .find(|o| outcomes.split(',').any(|x| x == *o))
                .unwrap_or("");
            let _ = write!(
                b,
                "<tr><td>{}</td><td><a href=\"/console/call?sid={}\">{}</a></td><td>{}</td><td>{}</td><td class=\"wide\">{}</td><td class=\"{worst}\">{}</td></tr>",
                when(c.last_ms as i64),
                enc(&c.call_sid),
                esc(&c.call_sid),
                esc(c.line.as_deref().unwrap_or("")),
                esc(c.caller.as_deref().unwrap_or("")),
                c.n as i64,
                esc(&outcomes.replace(',', ", "))
            );
        }
        b.push_str("</tbody></table>");
    }
    if !full_numbers {
        b.push_str("<p><small>Numbers are masked (config <code>trace.full_numbers</code> is off).</small></p>");
    }
    page("Calls", true, &b)
}

fn reason_items(r: &Reason) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let mut put = |k: &'static str, x: Option<String>| {
        if let Some(x) = x {
            v.push((k, x));
        }
    };
    put("line", r.line.clone());
    put("rule", r.rule.clone());
    put("group", r.group.clone());
    put(
        "offered",
        (!r.offered.is_empty()).then(|| r.offered.join(", ")),
    );
    put(
        "hours",
        r.open
            .map(|o| if o { "open".into() } else { "closed".into() }),
    );
    put(
        "caller",
        match (r.vip, r.blocked) {
            (true, _) => Some("VIP".into()),
            (_, true) => Some("blocked".into()),
            _ => None,
        },
    );
    put("fallback", r.fallback.clone());
    put(
        "personalised",
        r.personalised
            .map(|p| if p { "yes".into() } else { "no".into() }),
    );
    put("detail", r.detail.clone());
    v
}

/// One call's timeline: every callback with its answer and reason, and the
/// events, actions and pushes filed under it.
pub fn timeline_page(call_sid: &str, rows: &[Entry]) -> String {
    let mut b = format!(
        "<h1>Call <code id=\"sid\">{}</code></h1><p><a href=\"/console/export?sid={}\" download>JSON export</a> · {} row(s)</p>",
        esc(call_sid),
        enc(call_sid),
        rows.len()
    );
    if rows.is_empty() {
        b.push_str("<p id=\"no-rows\">Nothing traced for this call (or it is older than the retention).</p>");
    }
    b.push_str("<div id=\"timeline\">");
    for r in rows {
        let _ = write!(
            b,
            "<section class=\"ev {kind}\"><h2>{} · {} {} <span class=\"{o}\">{} {o}</span> <small>{} ms</small></h2><dl>",
            when(r.at_ms),
            esc(&r.kind),
            esc(&r.route),
            r.status,
            r.latency_ms,
            kind = esc(&r.kind),
            o = esc(&r.outcome),
        );
        for (k, v) in reason_items(&r.reason) {
            let _ = write!(b, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
        }
        if !r.params.is_empty() {
            let p: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = write!(b, "<dt>request</dt><dd>{}</dd>", esc(&p.join(" · ")));
        }
        let _ = write!(b, "</dl><pre>{}</pre></section>", esc(&r.summary));
    }
    b.push_str("</div>");
    page(&format!("Call {call_sid}"), true, &b)
}

/// The config in force: where it came from, any validation error, and the
/// document itself (numbers masked unless the config allows full numbers).
pub fn config_page(source: &str, error: Option<&str>, document: &str) -> String {
    let mut b = format!(
        "<h1>Config in force</h1><dl><dt>source</dt><dd id=\"source\">{}</dd>",
        esc(source)
    );
    match error {
        Some(e) => {
            let _ = write!(b, "<dt>error</dt><dd class=\"err\" id=\"config-error\">{} (the last good config keeps serving)</dd>", esc(e));
        }
        None => b.push_str("<dt>error</dt><dd>none</dd>"),
    }
    let _ = write!(b, "</dl><pre id=\"config\">{}</pre>", esc(document));
    page("Config", true, &b)
}

/// Kinds of rows, for docs and filters.
pub const KINDS: [Kind; 4] = [Kind::Callback, Kind::Event, Kind::Action, Kind::Push];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_cannot_be_forged() {
        let k = SessionKey::from_secret("admin-token-0123456789");
        let v = k.issue(1000);
        assert!(k.verify(&v, 1001));
        assert!(!k.verify(&v, 1000 + SESSION_SECS), "expired");
        assert!(
            !SessionKey::from_secret("other-admin-token-0123").verify(&v, 1001),
            "another secret"
        );
        let forged = v.replacen(
            &format!("{}", 1000 + SESSION_SECS),
            &format!("{}", 9_000_000 + SESSION_SECS),
            1,
        );
        assert!(!k.verify(&forged, 1001), "a longer expiry breaks the tag");
        for junk in ["", "v1", "v1.x.y", "v2.1.00", "admin-token-0123456789"] {
            assert!(!k.verify(junk, 1), "{junk}");
        }
        assert!(!v.contains("admin-token"));
    }

    #[test]
    fn cookies_are_strict_and_secure_off_localhost() {
        let c = session_cookie("v", true);
        assert!(
            c.contains("HttpOnly")
                && c.contains("SameSite=Strict")
                && c.contains("Secure")
                && c.contains("Max-Age=")
        );
        assert!(secure_cookie("https", "localhost"));
        assert!(!secure_cookie("http", "127.0.0.1"));
        assert!(secure_cookie("http", "exoedge.example.com"));
        assert_eq!(
            cookie_value("a=1; exoedge_console=v1.2.ab; b=2"),
            Some("v1.2.ab")
        );
        assert_eq!(posted_token(b"token=abc%2Bd").as_deref(), Some("abc+d"));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let e = Entry {
            at_ms: 0,
            kind: "callback".into(),
            route: "greeting".into(),
            line: "<x>".into(),
            caller: String::new(),
            status: 200,
            outcome: "ok".into(),
            latency_ms: 1,
            summary: "<script>alert(1)</script>".into(),
            params: BTreeMap::new(),
            reason: Reason {
                line: Some("\"q\"".into()),
                ..Reason::default()
            },
        };
        let html = timeline_page("<sid>", &[e]);
        assert!(
            !html.contains("<script>alert")
                && !html.contains("<sid>")
                && html.contains("&lt;script&gt;")
        );
        let f = Filters::from_query("line=Support&hours=168&outcome=no-dial&last=12ab34567");
        assert_eq!(
            f,
            Filters {
                line: "Support".into(),
                hours: 168,
                outcome: "no-dial".into(),
                last: "1234".into()
            }
        );
        assert_eq!(Filters::from_query("hours=5&outcome=evil").hours, 24);
    }
}
