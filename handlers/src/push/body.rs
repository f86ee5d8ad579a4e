//! The body Exotel POSTs to the push URL (seed 5687-5720): `subscriberName`,
//! `payload`, `payloadVersion`. The seed names the fields but not the
//! encoding, so both JSON and form encoding are read; the content type
//! decides, and without one the first byte does.

use serde::Serialize;
use serde_json::Value;

use super::subscriber::{NameError, SubscriberName};

/// Largest body read. FCM refuses data messages over 4 KB, so a larger
/// payload could never be delivered anyway.
pub const MAX_BODY: usize = 8 * 1024;

/// Why a push body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// More than [`MAX_BODY`] bytes.
    #[error("push body is {0} bytes; at most 8192 are read")]
    TooLarge(usize),
    /// Neither JSON object nor form pairs.
    #[error("push body is not a JSON object or form-encoded: {0}")]
    Malformed(String),
    /// A field the phone needs is absent or empty.
    #[error("push body lacks {0}")]
    Missing(&'static str),
    /// `subscriberName` breaks Exotel's naming rule.
    #[error("subscriberName: {0}")]
    BadName(#[from] NameError),
}

/// The three keys the apps read, exactly as named on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushBody {
    /// Who the call is for.
    #[serde(rename = "subscriberName")]
    pub subscriber_name: SubscriberName,
    /// Opaque call data for the SDK's `relaySessionData`.
    pub payload: String,
    /// Version of the payload scheme, passed through as text.
    #[serde(rename = "payloadVersion")]
    pub payload_version: String,
}

impl PushBody {
    /// Reads a body given its `content-type` header.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, BodyError> {
        if body.len() > MAX_BODY {
            return Err(BodyError::TooLarge(body.len()));
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let json = if ct.contains("json") {
            true
        } else if ct.contains("x-www-form-urlencoded") {
            false
        } else {
            body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        };
        let (name, payload, version) = if json {
            from_json(body)?
        } else {
            from_form(body)
        };
        let name = name.ok_or(BodyError::Missing("subscriberName"))?;
        let payload = payload.ok_or(BodyError::Missing("payload"))?;
        let payload_version = version.ok_or(BodyError::Missing("payloadVersion"))?;
        Ok(Self {
            subscriber_name: SubscriberName::parse(name.trim())?,
            payload,
            payload_version,
        })
    }
}

type Fields = (Option<String>, Option<String>, Option<String>);

fn from_form(body: &[u8]) -> Fields {
    let mut f: Fields = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "subscriberName" => &mut f.0,
            "payload" => &mut f.1,
            "payloadVersion" => &mut f.2,
            _ => continue,
        };
        if slot.is_none() && !v.is_empty() {
            *slot = Some(v.into_owned());
        }
    }
    f
}

fn from_json(body: &[u8]) -> Result<Fields, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let Value::Object(map) = v else {
        return Err(BodyError::Malformed("not an object".into()));
    };
    let text = |k: &str| -> Option<String> {
        match map.get(k)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            // A number version, or a payload sent as an object: the phone
            // gets its JSON text, which is what a string field would carry.
            other => Some(other.to_string()),
        }
    };
    Ok((
        text("subscriberName"),
        text("payload"),
        text("payloadVersion"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(name: &str) -> PushBody {
        PushBody {
            subscriber_name: SubscriberName::parse(name).unwrap(),
            payload: "eyJjYWxsIjoxfQ==".into(),
            payload_version: "1".into(),
        }
    }

    #[test]
    fn form_and_json_read_the_same() {
        let form = b"subscriberName=bob&payload=eyJjYWxsIjoxfQ%3D%3D&payloadVersion=1";
        assert_eq!(
            PushBody::parse(Some("application/x-www-form-urlencoded"), form).unwrap(),
            body("bob")
        );
        let json = br#"{"subscriberName":"bob","payload":"eyJjYWxsIjoxfQ==","payloadVersion":"1"}"#;
        assert_eq!(
            PushBody::parse(Some("application/json; charset=utf-8"), json).unwrap(),
            body("bob")
        );
        // no content type: sniffed
        assert_eq!(PushBody::parse(None, json).unwrap(), body("bob"));
        assert_eq!(PushBody::parse(None, form).unwrap(), body("bob"));
        // number version in JSON
        let json = br#"{"subscriberName":"bob","payload":"eyJjYWxsIjoxfQ==","payloadVersion":1}"#;
        assert_eq!(PushBody::parse(None, json).unwrap(), body("bob"));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            PushBody::parse(None, b"payload=x&payloadVersion=1"),
            Err(BodyError::Missing("subscriberName"))
        );
        assert_eq!(
            PushBody::parse(None, b"subscriberName=bob&payloadVersion=1"),
            Err(BodyError::Missing("payload"))
        );
        assert_eq!(
            PushBody::parse(None, b"subscriberName=bob&payload=x"),
            Err(BodyError::Missing("payloadVersion"))
        );
        assert!(matches!(
            PushBody::parse(Some("application/json"), b"[1]"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            PushBody::parse(Some("application/json"), b"{"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            PushBody::parse(None, b"subscriberName=a+b&payload=x&payloadVersion=1"),
            Err(BodyError::BadName(_))
        ));
        let big = vec![b'a'; MAX_BODY + 1];
        assert_eq!(
            PushBody::parse(None, &big),
            Err(BodyError::TooLarge(MAX_BODY + 1))
        );
    }
}
