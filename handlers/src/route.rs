//! The worker's URL space, parsed without the runtime so it is tested here.

/// A callback or service route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /exotel/connect`
    Connect,
    /// `GET /exotel/dialwhom`
    DialWhom,
    /// `GET /exotel/gather`
    Gather,
    /// `GET /exotel/greeting`
    Greeting,
    /// `GET /exotel/playback`
    Playback,
    /// `GET /exotel/passthru`
    Passthru,
    /// `GET /exotel/popup`
    Popup,
    /// `POST /exotel/status`
    Status,
    /// `GET /healthz`
    Health,
    /// `POST /events`: real-time call events from proto-gateway, authenticated
    /// by their Standard Webhooks signature instead of the callback token.
    Events,
    /// `POST /exotel/push`: Exotel's push notification endpoint.
    Push,
    /// `POST /login` (app API; sample-app backend).
    Login,
    /// `POST /v1/devices` (app API).
    Devices,
    /// `DELETE /v1/devices/{subscriber}/{device_id}` (app API).
    Device,
    /// `POST /v1/subscriber-token` (app API).
    SubscriberToken,
    /// `POST /accounts/{sid}/subscribers/{user}/devicetoken` (app API; sample apps).
    DeviceToken,
    /// `GET|POST|DELETE /accounts/{sid}/subscribers/{user}/context` (app API; sample apps).
    Context,
    /// `GET /accounts/{sid}/subscribers/{user}/contacts` (app API; sample apps).
    Contacts,
}

impl Route {
    /// Whether the route needs the callback token.
    pub fn is_protected(self) -> bool {
        !matches!(self, Self::Health | Self::Events) && !self.is_app()
    }

    /// Whether the route belongs to the app API: called by phones with an
    /// app credential (see `handlers::push::backend`), not by Exotel with the
    /// callback token, and dispatched with its own methods.
    pub fn is_app(self) -> bool {
        matches!(
            self,
            Self::Login
                | Self::Devices
                | Self::Device
                | Self::SubscriberToken
                | Self::DeviceToken
                | Self::Context
                | Self::Contacts
        )
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

    /// The HTTP method that reaches it (HEAD is served wherever GET is).
    pub fn method(self) -> &'static str {
        match self {
            Self::Status => "POST",
            Self::Events => "POST",
            Self::Push => "POST",
            _ => "GET",
        }
    }

    /// The methods the route answers, as the `Allow` header of its 405
    /// lists them. HEAD is served wherever GET is (Exotel checks, and RFC
    /// 9110 says so); every other method, including ones the runtime's
    /// Rust types do not name (PROPFIND, PURGE...), gets 405.
    pub fn allow(self) -> &'static str {
        match self {
            Self::Device => "DELETE",
            Self::Context => "GET, HEAD, POST, DELETE",
            Self::Contacts => "GET, HEAD",
            r if r.is_app() || r.method() == "POST" => "POST",
            _ => "GET, HEAD",
        }
    }

    /// Whether `method`, exactly as the request line has it (methods are
    /// case-sensitive), is one of [`Route::allow`]'s.
    pub fn allows(self, method: &str) -> bool {
        self.allow().split(", ").any(|m| m == method)
    }

    /// Name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::DialWhom => "dialwhom",
            Self::Gather => "gather",
            Self::Greeting => "greeting",
            Self::Playback => "playback",
            Self::Passthru => "passthru",
            Self::Popup => "popup",
            Self::Status => "status",
            Self::Health => "healthz",
            Self::Events => "events",
            Self::Push => "push",
            Self::Login => "login",
            Self::Devices => "devices",
            Self::Device => "device",
            Self::SubscriberToken => "subscriber-token",
            Self::DeviceToken => "devicetoken",
            Self::Context => "context",
            Self::Contacts => "contacts",
        }
    }
}

/// A path split into its optional token prefix and its route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The `/t/<token>` prefix, if any.
    pub token: Option<&'a str>,
    /// The route, if the rest of the path names one.
    pub route: Option<Route>,
}

/// Splits `/t/<token>/exotel/connect` into token and route. Unknown paths
/// resolve to `route: None` (the shell answers 404).
pub fn resolve(path: &str) -> Resolved<'_> {
    let (token, rest) = match path.strip_prefix("/t/") {
        Some(r) => match r.split_once('/') {
            Some((t, rest)) => (Some(t), rest),
            None => (Some(r), ""),
        },
        None => (None, path.trim_start_matches('/')),
    };
    let rest = rest.trim_end_matches('/');
    let route = match rest {
        "exotel/connect" => Some(Route::Connect),
        "exotel/dialwhom" => Some(Route::DialWhom),
        "exotel/gather" => Some(Route::Gather),
        "exotel/greeting" => Some(Route::Greeting),
        "exotel/playback" => Some(Route::Playback),
        "exotel/passthru" => Some(Route::Passthru),
        "exotel/popup" => Some(Route::Popup),
        "exotel/status" => Some(Route::Status),
        "healthz" if token.is_none() => Some(Route::Health),
        "events" if token.is_none() => Some(Route::Events),
        "exotel/push" => Some(Route::Push),
        "login" if token.is_none() => Some(Route::Login),
        "v1/devices" if token.is_none() => Some(Route::Devices),
        "v1/subscriber-token" if token.is_none() => Some(Route::SubscriberToken),
        r if token.is_none() => crate::push::backend::AppPath::parse(r).map(|p| p.route()),
        _ => None,
    };
    Resolved { token, route }
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

    #[test]
    fn token_prefix_and_plain_paths() {
        assert_eq!(
            resolve("/exotel/connect"),
            Resolved {
                token: None,
                route: Some(Route::Connect)
            }
        );
        assert_eq!(
            resolve("/t/abc/exotel/gather/"),
            Resolved {
                token: Some("abc"),
                route: Some(Route::Gather)
            }
        );
        assert_eq!(
            resolve("/t//exotel/status"),
            Resolved {
                token: Some(""),
                route: Some(Route::Status)
            }
        );
        assert_eq!(resolve("/healthz").route, Some(Route::Health));
        assert_eq!(resolve("/t/x/healthz").route, None);
        assert_eq!(resolve("/events").route, Some(Route::Events));
        assert_eq!(resolve("/t/x/events").route, None);
        assert!(!Route::Events.is_protected());
        assert_eq!(resolve("/exotel/nope").route, None);
        assert_eq!(resolve("/").route, None);
    }

    #[test]
    fn push_and_app_routes() {
        assert_eq!(resolve("/t/abc/exotel/push").route, Some(Route::Push));
        assert!(Route::Push.is_protected() && Route::Push.method() == "POST");
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
