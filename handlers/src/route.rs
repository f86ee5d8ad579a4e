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
}

impl Route {
    /// Whether the route needs the callback token.
    pub fn is_protected(self) -> bool {
        !matches!(self, Self::Health)
    }

    /// The HTTP method that reaches it (HEAD is served wherever GET is).
    pub fn method(self) -> &'static str {
        match self {
            Self::Status => "POST",
            _ => "GET",
        }
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
        _ => None,
    };
    Resolved { token, route }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_prefix_and_plain_paths() {
        assert_eq!(resolve("/exotel/connect"), Resolved { token: None, route: Some(Route::Connect) });
        assert_eq!(resolve("/t/abc/exotel/gather/"), Resolved { token: Some("abc"), route: Some(Route::Gather) });
        assert_eq!(resolve("/t//exotel/status"), Resolved { token: Some(""), route: Some(Route::Status) });
        assert_eq!(resolve("/healthz").route, Some(Route::Health));
        assert_eq!(resolve("/t/x/healthz").route, None);
        assert_eq!(resolve("/exotel/nope").route, None);
        assert_eq!(resolve("/").route, None);
    }
}
