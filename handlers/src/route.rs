//! The worker's URL space: one table, [`ROUTES`], with a row per route
//! (its path, the methods it answers, the credential it takes and the
//! shape of its errors), parsed without the runtime so it is tested here.
//!
//! Adding a route is one row in [`routes!`] below plus its handler in the
//! worker (`src/router.rs` dispatches on [`Route`]). The worker checks, in
//! this order and before its handler reads anything: the path (404), the
//! method (405 with `Allow`), then the credential (401).

use crate::event_log::AdminRequest;

/// Where a row's path is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPattern {
    /// Exactly this path (no leading `/`, a trailing one ignored), after
    /// the `/t/<token>` prefix when the row takes the callback token.
    /// A `{name}` segment is captured into [`PathParams`] (percent-decoded;
    /// not empty, no `/`, at most 128 bytes).
    Exact(&'static str),
    /// This path and everything below it, as sent (`/console`, `/console/...`).
    Under(&'static str),
    /// Every path that starts with this text, as sent; the rest is
    /// [`Resolved::rest`], for the handler.
    Prefix(&'static str),
}

/// The methods a row answers.
#[derive(Debug, Clone, Copy)]
pub enum Methods {
    /// These, as the `Allow` header of a 405 lists them. HEAD is listed
    /// wherever GET is (Exotel checks, and RFC 9110 says so); every other
    /// method, including ones the runtime's Rust types do not name
    /// (PROPFIND, PURGE...), gets 405.
    Only(&'static str),
    /// Decided by the rest of the path (`None`: no such path; the handler
    /// answers whatever the method).
    ByRest(fn(&str) -> Option<&'static str>),
}

/// The credential a route takes. The worker checks the first three
/// before the handler runs; [`Credential::Open`] needs none; the others
/// are the handler's, which checks them before it reads a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The callback token: `/t/<token>/...` or Basic (Exotel's routes).
    CallbackToken,
    /// An app token, or the narrower credentials of the unchanged sample
    /// apps (`handlers::push::app_api`, docs/push.md).
    AppToken,
    /// The admin bearer token (`EXOEDGE_ADMIN_TOKENS`).
    AdminToken,
    /// None: anyone may ask.
    Open,
    /// A Standard Webhooks signature over the body (`/events`).
    Signature,
    /// The user's password, in the body (`/login`).
    Password,
    /// The console's session cookie or admin token; its login page is open.
    ConsoleSession,
}

/// The shape of a route's error answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `{"error": ...}`.
    Plain,
    /// `{"http_code": .., "message": ..}`: what the sample apps read.
    App,
    /// The app shape with `message` empty and the words in `error`: for
    /// answers whose `message` the apps display (the context).
    AppQuiet,
    /// The console's own (its security headers, docs/console.md).
    Console,
}

/// One row of [`ROUTES`].
#[derive(Debug, Clone, Copy)]
pub struct RouteDef {
    /// The route.
    pub route: Route,
    /// Name for logs and metrics.
    pub name: &'static str,
    /// Its path.
    pub path: PathPattern,
    /// Its methods.
    pub methods: Methods,
    /// Its credential.
    pub credential: Credential,
    /// Its errors' shape.
    pub family: Family,
}

/// Declares [`Route`] and [`ROUTES`] from one list, so a route's variant
/// and its row cannot drift apart.
macro_rules! routes {
    ($($(#[doc = $doc:literal])* $variant:ident: $name:literal, $path:expr, $methods:expr, $credential:ident, $family:ident;)*) => {
        /// A route of the worker (one per row of [`ROUTES`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $($(#[doc = $doc])* $variant,)*
        }

        /// The route table, matched in order.
        pub static ROUTES: &[RouteDef] = &[
            $(RouteDef {
                route: Route::$variant,
                name: $name,
                path: $path,
                methods: $methods,
                credential: Credential::$credential,
                family: Family::$family,
            },)*
        ];
    };
}

const GET: Methods = Methods::Only("GET, HEAD");
const POST: Methods = Methods::Only("POST");
use PathPattern::{Exact, Prefix, Under};

routes! {
    /// `GET /exotel/connect`
    Connect: "connect", Exact("exotel/connect"), GET, CallbackToken, Plain;
    /// `GET /exotel/dialwhom`
    DialWhom: "dialwhom", Exact("exotel/dialwhom"), GET, CallbackToken, Plain;
    /// `GET /exotel/gather`
    Gather: "gather", Exact("exotel/gather"), GET, CallbackToken, Plain;
    /// `GET /exotel/greeting`
    Greeting: "greeting", Exact("exotel/greeting"), GET, CallbackToken, Plain;
    /// `GET /exotel/playback`
    Playback: "playback", Exact("exotel/playback"), GET, CallbackToken, Plain;
    /// `GET /exotel/passthru`
    Passthru: "passthru", Exact("exotel/passthru"), GET, CallbackToken, Plain;
    /// `GET /exotel/popup`
    Popup: "popup", Exact("exotel/popup"), GET, CallbackToken, Plain;
    /// `POST /exotel/status`
    Status: "status", Exact("exotel/status"), POST, CallbackToken, Plain;
    /// `GET /healthz`
    Health: "healthz", Exact("healthz"), GET, Open, Plain;
    /// `POST /events`: real-time call events from proto-gateway, authenticated
    /// by their Standard Webhooks signature instead of the callback token.
    Events: "events", Exact("events"), POST, Signature, Plain;
    /// `POST /exotel/push`: Exotel's push notification endpoint.
    Push: "push", Exact("exotel/push"), POST, CallbackToken, Plain;
    /// `POST /login` (app API; sample-app backend).
    Login: "login", Exact("login"), POST, Password, App;
    /// `POST /v1/devices` (app API).
    Devices: "devices", Exact("v1/devices"), POST, AppToken, App;
    /// `DELETE /v1/devices/{subscriber}/{device_id}` (app API).
    Device: "device", Exact("v1/devices/{subscriber}/{device_id}"), Methods::Only("DELETE"), AppToken, App;
    /// `POST /v1/subscriber-token` (app API).
    SubscriberToken: "subscriber-token", Exact("v1/subscriber-token"), POST, AppToken, App;
    /// `POST /accounts/{sid}/subscribers/{user}/devicetoken` (app API; sample apps).
    DeviceToken: "devicetoken", Exact("accounts/{account_sid}/subscribers/{user}/devicetoken"), POST, AppToken, App;
    /// `GET|POST|DELETE /accounts/{sid}/subscribers/{user}/context` (app API; sample apps).
    Context: "context", Exact("accounts/{account_sid}/subscribers/{user}/context"), Methods::Only("GET, HEAD, POST, DELETE"), AppToken, AppQuiet;
    /// `GET /accounts/{sid}/subscribers/{user}/contacts` (app API; sample apps).
    Contacts: "contacts", Exact("accounts/{account_sid}/subscribers/{user}/contacts"), GET, AppToken, App;
    /// `/console` and below: the call-trace console (docs/console.md).
    Console: "console", Under("/console"), Methods::Only("GET, HEAD, POST"), ConsoleSession, Console;
    /// `/admin/events/...`: operating the event logs (docs/events.md).
    Admin: "admin", Prefix("/admin/events"), Methods::ByRest(AdminRequest::allow), AdminToken, Plain;
}

impl Route {
    /// Its row of [`ROUTES`].
    pub fn def(self) -> &'static RouteDef {
        // `routes!` lists the variants and the rows in one order.
        &ROUTES[self as usize]
    }

    /// Whether the route needs the callback token.
    pub fn is_protected(self) -> bool {
        self.def().credential == Credential::CallbackToken
    }

    /// Whether the route belongs to the app API: called by phones with an
    /// app credential (see `handlers::push::app_api`), not by Exotel with
    /// the callback token.
    pub fn is_app(self) -> bool {
        matches!(self.def().family, Family::App | Family::AppQuiet)
    }

    /// Whether the route is an applet callback answered from config and
    /// routing state (the ones the call trace records per request).
    pub fn is_callback(self) -> bool {
        matches!(
            self,
            Self::Connect
                | Self::DialWhom
                | Self::Gather
                | Self::Greeting
                | Self::Playback
                | Self::Passthru
                | Self::Popup
        )
    }

    /// The methods the route answers, as the `Allow` header of its 405
    /// lists them; empty for a route whose methods depend on the rest of
    /// its path (see [`Resolved::allow`]).
    pub fn allow(self) -> &'static str {
        match self.def().methods {
            Methods::Only(allow) => allow,
            Methods::ByRest(_) => "",
        }
    }

    /// Whether `method`, exactly as the request line has it (methods are
    /// case-sensitive), is one of [`Route::allow`]'s.
    pub fn allows(self, method: &str) -> bool {
        allows(self.allow(), method)
    }

    /// Name for logs and metrics.
    pub fn name(self) -> &'static str {
        self.def().name
    }
}

fn allows(allow: &str, method: &str) -> bool {
    allow.split(", ").any(|m| m == method)
}

/// The parameters an app route's path carries (`{name}` in its row);
/// empty for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    /// `{account_sid}`: the Exotel account.
    pub account_sid: String,
    /// `{user}`: the login user (or subscriber) name.
    pub user: String,
    /// `{subscriber}`: the Exotel subscriber.
    pub subscriber: String,
    /// `{device_id}`: a device of the registry.
    pub device_id: String,
}

impl PathParams {
    fn slot(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "account_sid" => Some(&mut self.account_sid),
            "user" => Some(&mut self.user),
            "subscriber" => Some(&mut self.subscriber),
            "device_id" => Some(&mut self.device_id),
            _ => None,
        }
    }
}

/// A path resolved: its optional token prefix, its route and what the
/// path carries for the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The `/t/<token>` prefix, if any.
    pub token: Option<&'a str>,
    /// The route, if the path names one (`None`: the shell answers 404).
    pub route: Option<Route>,
    /// The `{name}` segments of an app route's path.
    pub params: PathParams,
    /// For a [`PathPattern::Prefix`] row, the path after the prefix.
    pub rest: &'a str,
}

impl Resolved<'_> {
    /// The methods this request's route answers, as its 405's `Allow`
    /// lists them; `None` when the handler answers every method.
    pub fn allow(&self) -> Option<&'static str> {
        match self.route?.def().methods {
            Methods::Only(allow) => Some(allow),
            Methods::ByRest(by) => by(self.rest),
        }
    }

    /// Whether `method` (as sent) is refused with 405 before anything else.
    pub fn refuses(&self, method: &str) -> bool {
        self.allow().is_some_and(|allow| !allows(allow, method))
    }
}

/// A captured path segment: percent-decoded, not empty, no `/`, at most 128 bytes.
fn segment(s: &str) -> Option<String> {
    let d = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
    (!d.is_empty() && !d.contains('/') && d.len() <= 128).then(|| d.into_owned())
}

/// Matches `rest` (no leading `/`) against an [`PathPattern::Exact`] pattern.
fn match_exact(pattern: &str, rest: &str) -> Option<PathParams> {
    if !pattern.contains('{') {
        return (pattern == rest).then(PathParams::default);
    }
    let mut params = PathParams::default();
    let mut parts = rest.split('/');
    for want in pattern.split('/') {
        let got = parts.next()?;
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) => *params.slot(name)? = segment(got)?,
            None if want == got => {}
            None => return None,
        }
    }
    parts.next().is_none().then_some(params)
}

/// Resolves a request path against [`ROUTES`]: `/t/<token>/exotel/connect`
/// is the token and [`Route::Connect`]; `/v1/devices/bob/d1` is
/// [`Route::Device`] with its subscriber and device id. Only rows that
/// take the callback token accept the `/t/<token>` prefix.
pub fn resolve(path: &str) -> Resolved<'_> {
    let (token, rest) = match path.strip_prefix("/t/") {
        Some(r) => match r.split_once('/') {
            Some((t, rest)) => (Some(t), rest),
            None => (Some(r), ""),
        },
        None => (None, path.trim_start_matches('/')),
    };
    let trimmed = rest.trim_end_matches('/');
    let mut resolved = Resolved {
        token,
        route: None,
        params: PathParams::default(),
        rest: "",
    };
    for def in ROUTES {
        let found = match def.path {
            Under(base) => (path == base
                || path.strip_prefix(base).is_some_and(|r| r.starts_with('/')))
            .then(PathParams::default),
            Prefix(base) => path.strip_prefix(base).map(|r| {
                resolved.rest = r;
                PathParams::default()
            }),
            Exact(_) if token.is_some() && def.credential != Credential::CallbackToken => None,
            Exact(pattern) => match_exact(pattern, trimmed),
        };
        if let Some(params) = found {
            resolved.route = Some(def.route);
            resolved.params = params;
            return resolved;
        }
    }
    resolved
}

/// A request URL's path and query, split by hand when the URL is already
/// in the form a WHATWG parser would give it back unchanged; `None`
/// otherwise (dot segments, percent escapes in the path, characters a
/// parser would escape), and the caller parses it properly.
///
/// Why: this is on every request, and the url crate's full parse (host,
/// IDNA, path normalisation) was most of the shell's own CPU per callback
/// (BENCHMARKS.md, "Per request"), for URLs that Exotel and the runtime
/// always send in plain form.
pub fn split_plain_url(url: &str) -> Option<(&str, Option<&str>)> {
    let after_scheme = &url[url.find("://")? + 3..];
    let rest = &after_scheme[after_scheme.find(['/', '?', '#'])?..];
    let rest = rest.split('#').next().unwrap_or("");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let plain_path = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'~'));
    let plain_query = query.is_none_or(|q| {
        q.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_'
                        | b'.'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'@'
                        | b'/'
                        | b'?'
                        | b'%'
                )
        })
    });
    (plain_path && plain_query).then_some((path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast split agrees with the url crate wherever it answers, and
    /// leaves every URL the parser would change to the parser.
    #[test]
    fn plain_urls_split_like_the_url_crate() {
        let plain = [
            "http://127.0.0.1:8787/t/tok-1_2~x/exotel/connect?CallSid=a&CallFrom=0987&Created=Wed%2C+13+May+2026&x=a/b:c@d",
            "https://exoedge.example.workers.dev/healthz",
            "https://h.example/exotel/gather?",
            "https://h.example/exotel/gather?a=1#frag",
            "https://h.example/events",
        ];
        for u in plain {
            let parsed = url::Url::parse(u).unwrap();
            let (path, query) = split_plain_url(u).unwrap_or_else(|| panic!("{u} is plain"));
            assert_eq!((path, query), (parsed.path(), parsed.query()), "{u}");
        }
        // No path at all: the parser supplies `/`.
        assert_eq!(split_plain_url("http://h.example?x=1"), None);
        for u in [
            "http://h.example/t/tok/exotel/../exotel/connect",
            "http://h.example/t/tok/exotel/%2e%2e/x",
            "http://h.example/t/tok/./exotel/connect",
            "http://h.example/a\\b",
            "http://h.example/a b",
            "http://h.example/x?q='1'",
            "http://h.example/x?q=\"1\"",
            "http://h.example/x?q=<a>",
            "http://h.example/x?q=é",
            "http://h.example/é",
            "not a url",
        ] {
            assert_eq!(split_plain_url(u), None, "{u}");
        }
    }

    fn found(path: &str) -> (Option<&str>, Option<Route>) {
        let r = resolve(path);
        (r.token, r.route)
    }

    #[test]
    fn token_prefix_and_plain_paths() {
        assert_eq!(found("/exotel/connect"), (None, Some(Route::Connect)));
        assert_eq!(
            found("/t/abc/exotel/gather/"),
            (Some("abc"), Some(Route::Gather))
        );
        assert_eq!(found("/t//exotel/status"), (Some(""), Some(Route::Status)));
        assert_eq!(resolve("/healthz").route, Some(Route::Health));
        assert_eq!(resolve("/t/x/healthz").route, None);
        assert_eq!(resolve("/events").route, Some(Route::Events));
        assert_eq!(resolve("/t/x/events").route, None);
        assert!(!Route::Events.is_protected());
        assert_eq!(resolve("/exotel/nope").route, None);
        assert_eq!(resolve("/").route, None);
    }

    /// The app routes' parameters come with the route, parsed once.
    #[test]
    fn paths() {
        let params = |path: &str| {
            let r = resolve(path);
            r.route.map(|route| (route, r.params))
        };
        assert_eq!(
            params("/accounts/exotel13m2/subscribers/alice/devicetoken"),
            Some((
                Route::DeviceToken,
                PathParams {
                    account_sid: "exotel13m2".into(),
                    user: "alice".into(),
                    ..PathParams::default()
                }
            ))
        );
        assert_eq!(
            params("/accounts/a/subscribers/b%40c/context").unwrap(),
            (
                Route::Context,
                PathParams {
                    account_sid: "a".into(),
                    user: "b@c".into(),
                    ..PathParams::default()
                }
            )
        );
        assert_eq!(
            params("/accounts/a/subscribers/alice/contacts"),
            Some((
                Route::Contacts,
                PathParams {
                    account_sid: "a".into(),
                    user: "alice".into(),
                    ..PathParams::default()
                }
            ))
        );
        assert_eq!(
            params("/v1/devices/bob/dev%201"),
            Some((
                Route::Device,
                PathParams {
                    subscriber: "bob".into(),
                    device_id: "dev 1".into(),
                    ..PathParams::default()
                }
            ))
        );
        assert_eq!(params("/v1/devices/bob"), None);
        assert_eq!(params("/accounts/a/subscribers//context"), None);
        assert_eq!(params("/accounts/a/subscribers/x%2Fy/context"), None);
        assert_eq!(params("/t/x/accounts/a/subscribers/alice/context"), None);
    }

    /// Every row's pattern names only parameters [`PathParams`] has, and
    /// every variant is its own row (what `Route::def` relies on).
    #[test]
    fn the_table_is_consistent() {
        for (i, def) in ROUTES.iter().enumerate() {
            assert_eq!(def.route as usize, i, "{:?}", def.route);
            assert!(std::ptr::eq(def.route.def(), def));
            if let PathPattern::Exact(p) = def.path {
                assert!(!p.starts_with('/') && !p.ends_with('/'), "{p}");
                for seg in p.split('/') {
                    if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        assert!(PathParams::default().slot(name).is_some(), "{p}: {name}");
                    }
                }
            }
            if def.family == Family::App || def.family == Family::AppQuiet {
                assert!(def.route.is_app() && !def.route.is_protected());
            }
        }
    }

    #[test]
    fn console_and_admin_own_their_prefixes() {
        for p in ["/console", "/console/", "/console/call", "/console/app.css"] {
            assert_eq!(resolve(p).route, Some(Route::Console), "{p}");
        }
        for p in ["/consoles", "/t/x/console", "/console-x"] {
            assert_eq!(resolve(p).route, None, "{p}");
        }
        let r = resolve("/admin/events/log/");
        assert_eq!((r.route, r.rest), (Some(Route::Admin), "/log/"));
        assert_eq!(r.allow(), Some("GET, HEAD"));
        assert!(r.refuses("POST") && !r.refuses("HEAD"));
        let r = resolve("/admin/events/replay");
        assert_eq!(r.allow(), Some("POST"));
        // An unknown admin path: every method reaches the handler (401 first).
        let r = resolve("/admin/events/nope");
        assert_eq!((r.route, r.allow()), (Some(Route::Admin), None));
        assert!(!r.refuses("PROPFIND"));
        assert_eq!(resolve("/t/x/admin/events/log").route, None);
    }

    #[test]
    fn push_and_app_routes() {
        assert_eq!(resolve("/t/abc/exotel/push").route, Some(Route::Push));
        assert!(Route::Push.is_protected() && Route::Push.allow() == "POST");
        assert_eq!(resolve("/login").route, Some(Route::Login));
        assert_eq!(resolve("/v1/devices").route, Some(Route::Devices));
        assert_eq!(resolve("/v1/devices/bob/d1").route, Some(Route::Device));
        assert_eq!(
            resolve("/v1/subscriber-token").route,
            Some(Route::SubscriberToken)
        );
        assert_eq!(
            resolve("/accounts/sid/subscribers/bob/devicetoken").route,
            Some(Route::DeviceToken)
        );
        assert_eq!(
            resolve("/accounts/sid/subscribers/bob/context").route,
            Some(Route::Context)
        );
        assert_eq!(resolve("/t/x/login").route, None);
        assert!(Route::Context.is_app() && !Route::Context.is_protected());
    }

    #[test]
    fn methods_outside_allow_are_refused() {
        let odd = [
            "PROPFIND", "PURGE", "MKCOL", "LOCK", "COPY", "MOVE", "PATCH", "PUT", "OPTIONS",
            "TRACE", "get", "Post", "",
        ];
        for (route, allowed) in [
            (Route::Connect, &["GET", "HEAD"][..]),
            (Route::Health, &["GET", "HEAD"]),
            (Route::Status, &["POST"]),
            (Route::Events, &["POST"]),
            (Route::Push, &["POST"]),
            (Route::Login, &["POST"]),
            (Route::Devices, &["POST"]),
            (Route::Device, &["DELETE"]),
            (Route::SubscriberToken, &["POST"]),
            (Route::DeviceToken, &["POST"]),
            (Route::Context, &["GET", "HEAD", "POST", "DELETE"]),
        ] {
            assert_eq!(
                route.allow().split(", ").collect::<Vec<_>>(),
                allowed,
                "{route:?}"
            );
            for m in allowed {
                assert!(route.allows(m), "{route:?} {m}");
            }
            for m in odd.iter().chain(
                ["GET", "HEAD", "POST", "DELETE"]
                    .iter()
                    .filter(|m| !allowed.contains(m)),
            ) {
                assert!(!route.allows(m), "{route:?} {m}");
            }
        }
    }
}
