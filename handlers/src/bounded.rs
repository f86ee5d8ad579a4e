//! Small validated value types: numbers with Exotel's ranges, keys, URLs and
//! texts. Each one refuses a bad value when it is built (from config or code),
//! so an answer that holds one cannot be rejected by Exotel for it.

use serde::{Deserialize, Serialize};

/// Declares an integer newtype that only holds values in `$min..=$max`.
macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($inner);

        impl $name {
            /// Smallest accepted value.
            pub const MIN: $inner = $min;
            /// Largest accepted value.
            pub const MAX: $inner = $max;
            /// The value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        baked_newtype!($name, $inner);

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                if v < i64::from($min) || v > i64::from($max) {
                    Err(format!("must be between {} and {}, got {}", $min, $max, v))
                } else {
                    Ok(Self(v as $inner))
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                i64::from(v.0)
            }
        }
    };
}

bounded_int!(
    /// `max_ringing_duration`: Exotel allows up to 60 seconds.
    RingingSeconds, u16, 1, 60
);
bounded_int!(
    /// `max_conversation_duration`: up to 75 minutes.
    ConversationSeconds, u16, 1, 4500
);
bounded_int!(
    /// `parallel_ringing.max_parallel_attempts`: 1 to 10.
    ParallelAttempts, u8, 1, 10
);
bounded_int!(
    /// Gather `max_input_digits`: Exotel's default and ceiling is 255.
    MaxInputDigits, u16, 1, 255
);
bounded_int!(
    /// Gather `input_timeout` in seconds between key presses.
    InputTimeout, u16, 1, 60
);
bounded_int!(
    /// Gather `repeat_menu`: how often to replay the prompt on silence.
    RepeatMenu, u8, 0, 10
);
bounded_int!(
    /// Playback delays and frequencies in seconds.
    PlaybackSeconds, u16, 0, 4500
);

/// Gather `finish_on_key`: empty (no finish key), a digit, `*` or `#`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FinishOnKey(String);

baked_newtype!(FinishOnKey, String);

impl TryFrom<String> for FinishOnKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok =
            s.is_empty() || (s.len() == 1 && matches!(s.as_bytes()[0], b'0'..=b'9' | b'*' | b'#'));
        if ok {
            Ok(Self(s))
        } else {
            Err(format!("must be \"\", a digit, \"*\" or \"#\", got {s:?}"))
        }
    }
}

impl From<FinishOnKey> for String {
    fn from(k: FinishOnKey) -> String {
        k.0
    }
}

/// An absolute http(s) URL: Exotel fetches audio and event URLs itself and
/// fails the applet on anything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(String);

baked_newtype!(HttpUrl, String);

impl HttpUrl {
    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // The worker carries no Unicode tables for international domain
        // names (Cargo.lock pins idna_adapter to its ASCII-only 1.0 line:
        // ~47 KB gzip of wasm, BENCHMARKS.md); such a host is refused and
        // its `xn--` form works.
        let parsed = url::Url::parse(s.trim()).map_err(|e| {
            if s.is_ascii() {
                format!("not a URL ({e}): {s:?}")
            } else {
                format!("not a URL ({e}): {s:?}; write an international domain name in its xn-- (punycode) form")
            }
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!("must be an http or https URL, got {s:?}"));
        }
        Ok(Self(parsed.to_string()))
    }
}

impl From<HttpUrl> for String {
    fn from(u: HttpUrl) -> String {
        u.0
    }
}

/// Text for Exotel's text-to-speech: non-empty, one line (a greeting body of
/// several lines could be read as a list of audio URLs), at most 2000 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpokenText(String);

baked_newtype!(SpokenText, String);

impl SpokenText {
    /// Longest text we send to TTS.
    pub const MAX_BYTES: usize = 2000;

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SpokenText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.is_empty() {
            return Err("text must not be empty".into());
        }
        if one_line.len() > Self::MAX_BYTES {
            return Err(format!("text longer than {} bytes", Self::MAX_BYTES));
        }
        Ok(Self(one_line))
    }
}

impl From<SpokenText> for String {
    fn from(t: SpokenText) -> String {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold() {
        assert!(RingingSeconds::try_from(60).is_ok());
        assert!(RingingSeconds::try_from(61).is_err());
        assert!(RingingSeconds::try_from(0).is_err());
        assert!(ConversationSeconds::try_from(4500).is_ok());
        assert!(ConversationSeconds::try_from(4501).is_err());
        assert!(ParallelAttempts::try_from(11).is_err());
        let e = serde_json::from_str::<RingingSeconds>("90")
            .unwrap_err()
            .to_string();
        assert!(e.contains("between 1 and 60"), "{e}");
    }

    #[test]
    fn finish_keys() {
        for ok in ["", "#", "*", "0", "9"] {
            assert!(FinishOnKey::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["##", "a", " ", "10"] {
            assert!(FinishOnKey::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http() {
        assert!(HttpUrl::try_from("https://a.example/x.wav".to_string()).is_ok());
        for bad in ["ftp://a/x", "javascript:alert(1)", "/relative.wav", ""] {
            assert!(HttpUrl::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn international_hosts_in_punycode_only() {
        let u = HttpUrl::try_from("https://xn--bcher-kva.example/x.wav".to_string()).unwrap();
        assert_eq!(u.as_str(), "https://xn--bcher-kva.example/x.wav");
        let e = HttpUrl::try_from("https://bücher.example/x.wav".to_string()).unwrap_err();
        assert!(e.contains("xn--"), "{e}");
        // Non-ASCII in the path is percent-encoded as before.
        assert_eq!(
            HttpUrl::try_from("https://a.example/ä.wav".to_string())
                .unwrap()
                .as_str(),
            "https://a.example/%C3%A4.wav"
        );
    }

    #[test]
    fn text_is_one_line() {
        let t = SpokenText::try_from("Hello\r\nhttp://evil/x.wav".to_string()).unwrap();
        assert_eq!(t.as_str(), "Hello http://evil/x.wav");
        assert!(SpokenText::try_from("  \n ".to_string()).is_err());
    }
}
