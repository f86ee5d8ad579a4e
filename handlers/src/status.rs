//! StatusCallback (seed 153-320, 16427-16460, 18109-18300): Exotel POSTs the
//! outcome of a call, as multipart/form-data by default or as JSON with a
//! `Legs` array carrying AMD results. The worker's runtime decodes form and
//! multipart bodies into pairs; JSON is parsed here.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::body;
use crate::error::ParamError;
use crate::params::{AnsweredBy, Leg, MAX_LEGS};
use crate::phone;
use crate::reply::Reply;

/// Largest body we accept; Exotel's are a few KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A call's reported outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusReport {
    /// The call.
    pub call_sid: String,
    /// Leg sid, for leg callbacks.
    pub leg_sid: Option<String>,
    /// completed, failed, busy, no-answer.
    pub status: Option<String>,
    /// Link to the recording, if any.
    pub recording_url: Option<String>,
    /// When Exotel last updated the call.
    pub date_updated: Option<String>,
    /// `EventType`, e.g. `terminal`.
    pub event_type: Option<String>,
    /// Caller side (`From`).
    pub from: Option<String>,
    /// Called side (`To`).
    pub to: Option<String>,
    /// Seconds of conversation.
    pub conversation_duration: Option<u32>,
    /// Caller or Callee.
    pub disconnected_by: Option<String>,
    /// `CustomField` passed when the call was placed.
    pub custom_field: Option<String>,
    /// Per-leg details, AMD included.
    pub legs: Vec<Leg>,
}

impl StatusReport {
    /// Reads a form or multipart body already split into pairs. Legs may be
    /// bracketed keys or one JSON string, as in applet requests.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ParamError> {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        let mut legs: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            if let Some(rest) = k.strip_prefix("Legs[") {
                if let Some((idx, field)) = rest
                    .split_once("][")
                    .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f.strip_suffix(']')?)))
                {
                    if idx < MAX_LEGS {
                        legs.entry(idx)
                            .or_default()
                            .push((field.to_owned(), v.to_owned()));
                    }
                    continue;
                }
            }
            map.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
        let mut value = serde_json::Map::new();
        for (k, v) in map {
            value.insert(k, serde_json::Value::String(v));
        }
        if !legs.is_empty() && !value.contains_key("Legs") {
            let arr = legs
                .into_values()
                .map(|fields| {
                    serde_json::Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k, serde_json::Value::String(v)))
                            .collect(),
                    )
                })
                .collect();
            value.insert("Legs".into(), serde_json::Value::Array(arr));
        } else if let Some(serde_json::Value::String(s)) = value.get("Legs").cloned() {
            let parsed: serde_json::Value =
                serde_json::from_str(&s).map_err(|e| ParamError::BadLegs(e.to_string()))?;
            value.insert("Legs".into(), parsed);
        }
        Self::from_value(serde_json::Value::Object(value))
    }

    /// Reads a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ParamError::BodyTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        // One pass for a well-formed body; the path below only explains
        // what is wrong with one that is not.
        if let Ok(raw) = body::object::<RawStatus>(body) {
            return Self::from_raw(raw);
        }
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ParamError::BadBody {
                kind: "JSON",
                detail: e.to_string(),
            })?;
        Self::from_value(v)
    }

    fn from_value(v: serde_json::Value) -> Result<Self, ParamError> {
        // Errors name the field and the JSON expected, never our types.
        let raw: RawStatus = body::object_value(v).map_err(|e| ParamError::BadBody {
            kind: "StatusCallback",
            detail: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawStatus) -> Result<Self, ParamError> {
        let call_sid = raw
            .call_sid
            .map(|s| s.text())
            .filter(|s| !s.is_empty())
            .ok_or(ParamError::MissingCallSid)?;
        let mut legs = raw.legs.unwrap_or_default();
        legs.truncate(MAX_LEGS);
        Ok(Self {
            call_sid,
            leg_sid: raw.leg_sid.map(Loose::text),
            status: raw.status.map(Loose::text),
            recording_url: raw.recording_url.map(Loose::text).filter(|s| !s.is_empty()),
            date_updated: raw.date_updated.map(Loose::text),
            event_type: raw.event_type.map(Loose::text),
            from: raw.from.map(Loose::text),
            to: raw.to.map(Loose::text),
            conversation_duration: raw
                .conversation_duration
                .and_then(|d| d.text().parse().ok()),
            disconnected_by: raw.disconnected_by.map(Loose::text),
            custom_field: raw.custom_field.map(Loose::text),
            legs,
        })
    }

    /// AMD's verdict on the dialled leg (leg 2; leg 1 is always NA).
    pub fn answered_by(&self) -> Option<AnsweredBy> {
        self.legs
            .iter()
            .rev()
            .filter_map(|l| l.answered_by)
            .find(|a| *a != AnsweredBy::NotApplicable)
    }

    /// A log line with numbers masked.
    pub fn log_line(&self) -> String {
        format!(
            "status call={} status={} event={} from={} to={} amd={:?} legs={}",
            phone::log_safe(&self.call_sid),
            phone::log_safe(self.status.as_deref().unwrap_or("-")),
            phone::log_safe(self.event_type.as_deref().unwrap_or("-")),
            self.from.as_deref().map(phone::mask).unwrap_or_default(),
            self.to.as_deref().map(phone::mask).unwrap_or_default(),
            self.answered_by(),
            self.legs.len()
        )
    }
}

/// A JSON value Exotel sends as a string or a number. Deserialized by
/// hand so a wrong type reads "expected a string or a number", not the
/// name of an untagged enum.
#[derive(Debug)]
enum Loose {
    S(String),
    N(serde_json::Number),
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::S(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::N(v.into()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::N(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Loose, E> {
                serde_json::Number::from_f64(v)
                    .map(Loose::N)
                    .ok_or_else(|| E::custom("a finite number is expected"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Loose {
    fn text(self) -> String {
        match self {
            Loose::S(s) => s.trim().to_owned(),
            Loose::N(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawStatus {
    call_sid: Option<Loose>,
    leg_sid: Option<Loose>,
    status: Option<Loose>,
    #[serde(alias = "RecordingURL")]
    recording_url: Option<Loose>,
    date_updated: Option<Loose>,
    event_type: Option<Loose>,
    from: Option<Loose>,
    to: Option<Loose>,
    conversation_duration: Option<Loose>,
    disconnected_by: Option<Loose>,
    custom_field: Option<Loose>,
    legs: Option<Vec<Leg>>,
}

/// Exotel only needs a 200.
pub fn reply() -> Reply {
    Reply::text(200, "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terminal StatusCallback with AMD from seed 195-240.
    const AMD_SAMPLE: &str = r#"{
      "CallSid": "f3dec10279a310e2831754a4ec841a5f", "ConversationDuration": "13",
      "DateCreated": "2026-05-15 16:46:13", "DateUpdated": "2026-05-15 16:46:50",
      "DetailedStatus": "NA", "Direction": "outbound-api", "DisconnectedBy": "Callee",
      "EndTime": "2026-05-15 16:46:50", "EventType": "terminal", "From": "08203612779",
      "Legs": [
        {"OnCallDuration": "26", "RingingDuration": "5", "Status": "completed", "AnsweredBy": "NA", "AmdCause": ""},
        {"OnCallDuration": "13", "RingingDuration": "4", "Status": "completed", "AnsweredBy": "HUMAN", "AmdCause": "HUMAN-080-880"}
      ],
      "PhoneNumberSid": "8224778996", "RecordingUrl": "https://recordings.example/f3.mp3",
      "StartTime": "2026-05-15 16:46:13", "Status": "completed", "To": "08969916092"
    }"#;

    #[test]
    fn json_terminal_event_with_amd() {
        let s = StatusReport::from_json(AMD_SAMPLE.as_bytes()).unwrap();
        assert_eq!(s.call_sid, "f3dec10279a310e2831754a4ec841a5f");
        assert_eq!(s.status.as_deref(), Some("completed"));
        assert_eq!(s.event_type.as_deref(), Some("terminal"));
        assert_eq!(s.conversation_duration, Some(13));
        assert_eq!(s.legs.len(), 2);
        assert_eq!(s.legs[0].answered_by, Some(AnsweredBy::NotApplicable));
        assert_eq!(s.legs[1].ringing_duration, Some(4));
        assert_eq!(s.legs[1].amd_cause.as_deref(), Some("HUMAN-080-880"));
        assert_eq!(s.answered_by(), Some(AnsweredBy::Human));
        let line = s.log_line();
        assert!(
            !line.contains("3612779") && !line.contains("69916092"),
            "{line}"
        );
    }

    /// The classic four-field multipart callback (seed 18300).
    #[test]
    fn form_pairs_with_the_four_classic_fields() {
        let s = StatusReport::from_pairs([
            ("CallSid", "abc"),
            ("Status", "no-answer"),
            ("RecordingUrl", ""),
            ("DateUpdated", "2012-08-17 12:32:57"),
        ])
        .unwrap();
        assert_eq!(s.status.as_deref(), Some("no-answer"));
        assert_eq!(s.recording_url, None);
        assert_eq!(s.date_updated.as_deref(), Some("2012-08-17 12:32:57"));
    }

    #[test]
    fn form_pairs_with_bracketed_or_json_legs() {
        let s = StatusReport::from_pairs([
            ("CallSid", "a"),
            ("Legs[1][AnsweredBy]", "MACHINE"),
            ("Legs[0][AnsweredBy]", "NA"),
        ])
        .unwrap();
        assert_eq!(s.answered_by(), Some(AnsweredBy::Machine));
        let s =
            StatusReport::from_pairs([("CallSid", "a"), ("Legs", r#"[{"AnsweredBy":"NOTSURE"}]"#)])
                .unwrap();
        assert_eq!(s.answered_by(), Some(AnsweredBy::NotSure));
    }

    #[test]
    fn bad_bodies_are_clear_errors() {
        assert_eq!(
            StatusReport::from_pairs([("Status", "completed")]),
            Err(ParamError::MissingCallSid)
        );
        assert!(matches!(
            StatusReport::from_json(b"{not json"),
            Err(ParamError::BadBody { kind: "JSON", .. })
        ));
        assert!(matches!(
            StatusReport::from_json(br#"{"CallSid": "a", "Legs": 5}"#),
            Err(ParamError::BadBody { .. })
        ));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            StatusReport::from_json(&big),
            Err(ParamError::BodyTooLarge { .. })
        ));
    }

    /// A client that sends the wrong shape is told which field, in JSON's
    /// words; nothing names a type of ours (issue 17).
    #[test]
    fn shape_errors_are_in_the_clients_terms() {
        for (body, want) in [
            (
                r#"[{"CallSid": "a"}]"#,
                "body must be a JSON object, got an array",
            ),
            ("\"CallSid=a\"", "body must be a JSON object, got a string"),
            ("null", "body must be a JSON object, got null"),
            (
                r#"{"CallSid": {"a": 1}}"#,
                "CallSid: invalid type: object, expected a string or a number",
            ),
            (
                r#"{"CallSid": "a", "Status": [1]}"#,
                "Status: invalid type: array, expected a string or a number",
            ),
            (
                r#"{"CallSid": "a", "Legs": 5}"#,
                "Legs: invalid type: integer `5`, expected an array",
            ),
            (
                r#"{"CallSid": "a", "Legs": ["x"]}"#,
                "Legs[0]: invalid type: string \"x\", expected an object",
            ),
        ] {
            let e = StatusReport::from_json(body.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{body}: {e}");
            for ours in ["RawStatus", "Loose", "struct", "enum", "Leg "] {
                assert!(!e.contains(ours), "{body}: {e}");
            }
        }
        assert_eq!(
            StatusReport::from_json(br#"{"CallSid": 12.5}"#)
                .unwrap()
                .call_sid,
            "12.5"
        );
    }
}
