//! The HTTP side: resolve applet URLs against `--base`, turn URL
//! credentials into a Basic header, send with Exotel's 5 second limit, and
//! redact secrets from every URL the transcript shows.

use std::time::{Duration, Instant};

use url::Url;

/// Exotel waits this long for an answer (seed 17294, 17538).
pub const EXOTEL_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolved request target: the URL without credentials, and the Basic
/// header they become.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL to send to (no userinfo).
    pub url: Url,
    /// `Basic ...` when the configured URL carried `user:token@`.
    pub authorization: Option<String>,
}

/// Why a URL could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// Relative URL and no `--base`.
    #[error("{0} is relative and no --base was given")]
    NoBase(String),
    /// Not a URL.
    #[error("{url} is not a valid URL: {why}")]
    Invalid {
        /// The URL, redacted.
        url: String,
        /// The parser's words.
        why: String,
    },
}

/// Resolves an applet URL: absolute as is, or appended to `base` (whose
/// path, e.g. `/t/<token>`, is kept: this is not RFC 3986 joining).
pub fn resolve(url: &str, base: Option<&str>) -> Result<Target, UrlError> {
    let full = if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        let base = base.ok_or_else(|| UrlError::NoBase(url.to_owned()))?;
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            url.trim_start_matches('/')
        )
    };
    let mut u = Url::parse(&full).map_err(|e| UrlError::Invalid {
        url: redact(&full),
        why: e.to_string(),
    })?;
    let authorization = if u.username().is_empty() && u.password().is_none() {
        None
    } else {
        let user = decode(u.username());
        let pass = decode(u.password().unwrap_or(""));
        let _ = u.set_username("");
        let _ = u.set_password(None);
        Some(format!(
            "Basic {}",
            base64(format!("{user}:{pass}").as_bytes())
        ))
    };
    Ok(Target {
        url: u,
        authorization,
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Standard base64 with padding; a dozen lines rather than a dependency.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Query keys whose values are secrets.
fn secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["token", "secret", "key", "password", "sig", "auth"]
        .iter()
        .any(|s| k.contains(s))
}

/// A URL fit to print: no password, no `/t/<token>/` segment, no secret
/// query values. Unparseable text is cut to its scheme and host.
pub fn redact(raw: &str) -> String {
    let Ok(mut u) = Url::parse(raw) else {
        return raw
            .split('@')
            .next_back()
            .unwrap_or("")
            .split('/')
            .take(3)
            .collect::<Vec<_>>()
            .join("/")
            + "/…";
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if let Some(segs) = u.path_segments() {
        let segs: Vec<String> = segs.map(str::to_owned).collect();
        let mut out = Vec::with_capacity(segs.len());
        let mut hide = false;
        for s in segs {
            out.push(if hide { "***".to_owned() } else { s.clone() });
            hide = s == "t";
        }
        u.set_path(&out.join("/"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret_key(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// An answer as received.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for HEAD).
    pub body: String,
    /// Milliseconds until the whole answer arrived.
    pub elapsed_ms: u64,
}

impl Answer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Over Exotel's limit.
    #[error("no answer within {0} ms (Exotel gives up after 5 s)")]
    Timeout(u64),
    /// Connection refused, DNS, TLS...
    #[error("could not reach the URL: {0}")]
    Unreachable(String),
}

/// A blocking client with Exotel's habits: 5 s limit, no redirects
/// followed (a passthru 302 is an answer), no compression.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Client {
    /// A client that waits at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("exoedge-sim (Exotel simulator)")
            .build();
        Self {
            agent: config.into(),
            timeout,
        }
    }

    /// Sends one request: `query` is appended to whatever query the URL
    /// already has (Exotel keeps the customer's own parameters).
    pub fn send(
        &self,
        method: &str,
        target: &Target,
        query: &[(String, String)],
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Answer, FetchError> {
        let mut url = target.url.clone();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let started = Instant::now();
        let result = match (method, body) {
            ("POST", Some((ct, bytes))) => {
                let mut r = self.agent.post(url.as_str()).header("content-type", ct);
                if let Some(a) = &target.authorization {
                    r = r.header("authorization", a);
                }
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.send(bytes)
            }
            _ => {
                let mut r = match method {
                    "HEAD" => self.agent.head(url.as_str()),
                    _ => self.agent.get(url.as_str()),
                };
                if let Some(a) = &target.authorization {
                    r = r.header("authorization", a);
                }
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call()
            }
        };
        let elapsed = || started.elapsed().as_millis() as u64;
        let mut resp = result.map_err(|e| self.classify(e, elapsed()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = if method == "HEAD" {
            String::new()
        } else {
            resp.body_mut()
                .read_to_string()
                .map_err(|e| self.classify(e, elapsed()))?
        };
        Ok(Answer {
            status,
            headers,
            body,
            elapsed_ms: elapsed(),
        })
    }

    fn classify(&self, e: ureq::Error, elapsed_ms: u64) -> FetchError {
        match e {
            ureq::Error::Timeout(_) => FetchError::Timeout(elapsed_ms),
            ureq::Error::Io(io)
                if io.kind() == std::io::ErrorKind::TimedOut
                    || elapsed_ms >= self.timeout.as_millis() as u64 =>
            {
                FetchError::Timeout(elapsed_ms)
            }
            other => FetchError::Unreachable(redact_error(&other.to_string())),
        }
    }
}

/// Error texts may quote the URL; keep secrets out of them too.
fn redact_error(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            if w.contains("://") {
                redact(w.trim_matches(|c| c == '"' || c == '\'' || c == ','))
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_base_keeping_the_token_prefix() {
        let t = resolve(
            "/exotel/connect?x=1",
            Some("http://127.0.0.1:8787/t/secret-token-123/"),
        )
        .unwrap();
        assert_eq!(
            t.url.as_str(),
            "http://127.0.0.1:8787/t/secret-token-123/exotel/connect?x=1"
        );
        assert!(t.authorization.is_none());
        let abs = resolve("https://h.example/a", Some("http://ignored")).unwrap();
        assert_eq!(abs.url.as_str(), "https://h.example/a");
        assert_eq!(
            resolve("/a", None).unwrap_err(),
            UrlError::NoBase("/a".into())
        );
    }

    #[test]
    fn credentials_become_a_basic_header() {
        let t = resolve(
            "/exotel/greeting",
            Some("http://exotel:tok%40en@127.0.0.1:8787"),
        )
        .unwrap();
        assert_eq!(t.url.as_str(), "http://127.0.0.1:8787/exotel/greeting");
        // base64("exotel:tok@en")
        assert_eq!(
            t.authorization.as_deref(),
            Some("Basic ZXhvdGVsOnRva0Blbg==")
        );
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn redaction_hides_every_secret() {
        assert_eq!(
            redact("http://u:pw@h.example/t/abc123/exotel/x?token=zz&a=1"),
            "http://u:***@h.example/t/***/exotel/x?token=***&a=1"
        );
        assert!(!redact_error("error for http://u:pw@h.example/t/abc/x: refused").contains("abc"));
    }
}
