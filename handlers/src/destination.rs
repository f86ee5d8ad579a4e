//! Whom Exotel dials: one number (E.164) or app user (`sip:<user>`), and a
//! non-empty list of them. Exotel fails the applet ("we didn't dial anyone")
//! on an empty list or a number it cannot parse, so neither can be built.

use serde::{Deserialize, Serialize};

use crate::phone;

/// A number in E.164 or a `sip:<user>` address, normalised on the way in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Destination(String);

baked_newtype!(Destination, String);

impl Destination {
    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an app user rather than a phone number.
    pub fn is_sip(&self) -> bool {
        self.0.starts_with("sip:")
    }
}

impl TryFrom<String> for Destination {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        phone::normalize(&s).map(Self).ok_or_else(|| {
            format!("not a phone number (E.164 or Indian national) or sip:<user>: {s:?}")
        })
    }
}

impl TryFrom<&str> for Destination {
    type Error = String;
    fn try_from(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_owned())
    }
}

impl From<Destination> for String {
    fn from(d: Destination) -> String {
        d.0
    }
}

/// One or more destinations, dialled in order. Exotel mixes neither PSTN and
/// SIP in one dial, nor accepts an empty list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Destination>", into = "Vec<Destination>")]
pub struct Numbers(Vec<Destination>);

baked_newtype!(Numbers, Vec<Destination>);

impl Numbers {
    /// Most destinations in one answer; Exotel's parallel ringing stops at 10
    /// and a sequential list longer than this outlasts any caller's patience.
    pub const MAX: usize = 50;

    /// The destinations, in dial order.
    pub fn as_slice(&self) -> &[Destination] {
        &self.0
    }

    /// A single destination.
    pub fn one(d: Destination) -> Self {
        Self(vec![d])
    }
}

impl TryFrom<Vec<Destination>> for Numbers {
    type Error = String;
    fn try_from(v: Vec<Destination>) -> Result<Self, String> {
        if v.is_empty() {
            return Err("numbers must not be empty".into());
        }
        if v.len() > Self::MAX {
            return Err(format!("at most {} numbers, got {}", Self::MAX, v.len()));
        }
        let sip = v.iter().filter(|d| d.is_sip()).count();
        if sip != 0 && sip != v.len() {
            return Err(
                "numbers must be all phone numbers or all sip: users; Exotel does not mix them"
                    .into(),
            );
        }
        Ok(Self(v))
    }
}

impl From<Numbers> for Vec<Destination> {
    fn from(n: Numbers) -> Self {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_and_never_empty() {
        let n: Numbers = serde_json::from_str(r#"["09812345678", "+622131921111"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            r#"["+919812345678","+622131921111"]"#
        );
        assert!(serde_json::from_str::<Numbers>("[]").is_err());
        assert!(serde_json::from_str::<Numbers>(r#"["hello"]"#).is_err());
        assert!(serde_json::from_str::<Numbers>(r#"["sip:bob", "09812345678"]"#).is_err());
    }
}
