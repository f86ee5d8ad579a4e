//! Exotel subscriber names (seed 5880-5890): unique per account, at most 16
//! bytes, no whitespace. They key the device registry and appear in URL
//! paths, so control characters and `/` are refused too.

use serde::{Deserialize, Serialize};

/// Longest name Exotel accepts, in bytes.
pub const MAX_LEN: usize = 16;

/// A subscriber name that satisfies Exotel's rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubscriberName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty after nothing was sent.
    #[error("subscriber name is empty")]
    Empty,
    /// More than [`MAX_LEN`] bytes.
    #[error("subscriber name is {0} bytes; Exotel allows at most 16")]
    TooLong(usize),
    /// Whitespace, a control character or `/`.
    #[error("subscriber name contains whitespace, a control character or '/'")]
    BadCharacter,
}

impl SubscriberName {
    /// Checks a name against Exotel's rule.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(NameError::TooLong(s.len()));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(NameError::BadCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubscriberName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SubscriberName {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        Self::parse(&s)
    }
}

impl From<SubscriberName> for String {
    fn from(n: SubscriberName) -> String {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exotel_rule() {
        assert!(SubscriberName::parse("archit").is_ok());
        assert!(SubscriberName::parse("9889899999").is_ok());
        assert!(SubscriberName::parse("abcdefghijklmnop").is_ok()); // 16 bytes
        assert_eq!(
            SubscriberName::parse("abcdefghijklmnopq"),
            Err(NameError::TooLong(17))
        );
        // bytes, not characters: 6 two-byte letters + 5 = 17 bytes
        assert_eq!(
            SubscriberName::parse("éééééé12345"),
            Err(NameError::TooLong(17))
        );
        assert_eq!(SubscriberName::parse(""), Err(NameError::Empty));
        assert_eq!(SubscriberName::parse("a b"), Err(NameError::BadCharacter));
        assert_eq!(SubscriberName::parse("a\tb"), Err(NameError::BadCharacter));
        assert_eq!(SubscriberName::parse("a/b"), Err(NameError::BadCharacter));
        assert_eq!(
            SubscriberName::parse("a\u{a0}b"),
            Err(NameError::BadCharacter)
        );
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<SubscriberName>("\"bob\"").is_ok());
        assert!(serde_json::from_str::<SubscriberName>("\"bo b\"").is_err());
    }
}
