//! What Exotel sends, in Exotel's formats: the query parameters of each
//! applet request, `Legs` in both forms, IST timestamps, quoted digits, and
//! the StatusCallback bodies.

use serde::Serialize;
use time::macros::{format_description, offset};
use time::{Duration, OffsetDateTime};

use crate::call::{Direction, LegsForm};

/// `EndTime` is always this constant in applet requests (seed 17190).
pub const END_TIME: &str = "1970-01-01 05:30:00";

/// `yyyy-mm-dd hh:mm:ss`, wall clock in IST.
pub fn ist(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(offset!(+5:30)).format(f).unwrap_or_default()
}

/// `Wed, 27 Dec 2023 12:17:05`: the RFC-1123-like `Created` of the Passthru
/// samples (seed 18044), IST with no zone.
pub fn rfc_like(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second]"
    );
    t.to_offset(offset!(+5:30)).format(f).unwrap_or_default()
}

/// `digits` as Exotel sends it: wrapped in double quotes (seed 17230).
pub fn quoted_digits(d: &str) -> String {
    format!("\"{d}\"")
}

/// One dial attempt, as `Legs[i]` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Leg {
    /// The number dialled.
    pub number: String,
    /// `single` or `parallel`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Seconds on call (0 when nobody talked).
    pub on_call_duration: String,
    /// The ExoPhone used.
    pub caller_id: String,
    /// e.g. `NORMAL_CLEARING`.
    pub cause_code: String,
    /// The ISDN cause number.
    pub cause: String,
    /// `Caller` or `Callee`, when someone talked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnected_by: Option<String>,
    /// AMD result, when AMD is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// AMD reason, when AMD is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amd_cause: Option<String>,
}

impl Leg {
    /// The leg's fields as (key, value), in Exotel's order.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("Number", self.number.clone()),
            ("Type", self.kind.clone()),
            ("OnCallDuration", self.on_call_duration.clone()),
            ("CallerId", self.caller_id.clone()),
            ("CauseCode", self.cause_code.clone()),
            ("Cause", self.cause.clone()),
        ];
        if let Some(d) = &self.disconnected_by {
            v.push(("DisconnectedBy", d.clone()));
        }
        if let Some(a) = &self.answered_by {
            v.push(("AnsweredBy", a.clone()));
        }
        if let Some(a) = &self.amd_cause {
            v.push(("AmdCause", a.clone()));
        }
        v
    }
}

/// `Legs` as query pairs in one form.
pub fn legs_pairs(legs: &[Leg], json: bool) -> Vec<(String, String)> {
    if legs.is_empty() {
        return Vec::new();
    }
    if json {
        // Exotel's sample writes `", "` and `": "` between items; keep that shape.
        let items: Vec<String> = legs
            .iter()
            .map(|l| {
                let inner: Vec<String> = l
                    .fields()
                    .iter()
                    .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            })
            .collect();
        return vec![("Legs".into(), format!("[{}]", items.join(", ")))];
    }
    legs.iter()
        .enumerate()
        .flat_map(|(i, l)| {
            l.fields()
                .into_iter()
                .map(move |(k, v)| (format!("Legs[{i}][{k}]"), v))
        })
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// What the last Connect (or Dial whom) did, for the applets after it.
#[derive(Debug, Clone, Default)]
pub struct DialResult {
    /// `completed`, `busy`, `no-answer`, `failed`, `canceled`.
    pub dial_call_status: String,
    /// Seconds from the first dial to the end of the conversation.
    pub dial_call_duration: i64,
    /// The last number dialled.
    pub dial_whom: String,
    /// `completed` when someone talked, else `incomplete`.
    pub call_type: String,
    /// Every attempt so far.
    pub legs: Vec<Leg>,
    /// Set when the conversation was recorded.
    pub recording_url: Option<String>,
    /// The ExoPhone used to dial out.
    pub outgoing_phone_number: Option<String>,
}

/// The call as it stands: fixed facts plus what happened so far.
#[derive(Debug, Clone)]
pub struct CallState {
    /// `CallSid`.
    pub call_sid: String,
    /// The caller.
    pub from: String,
    /// The ExoPhone.
    pub to: String,
    /// `Direction`.
    pub direction: Direction,
    /// `CustomField`.
    pub custom_field: Option<String>,
    /// `flow_id`.
    pub flow_id: String,
    /// When the call started.
    pub start: OffsetDateTime,
    /// Simulated seconds since the start.
    pub elapsed: i64,
    /// The last Gather's digits.
    pub digits: Option<String>,
    /// The last Connect's outcome.
    pub dial: Option<DialResult>,
    /// How Legs travel.
    pub legs_form: LegsForm,
    /// How many times Legs were sent (for [`LegsForm::Alternate`]).
    pub legs_sent: usize,
}

impl CallState {
    /// Simulated now.
    pub fn now(&self) -> OffsetDateTime {
        self.start + Duration::seconds(self.elapsed)
    }

    fn push_common(&self, q: &mut Vec<(String, String)>) {
        let mut add = |k: &str, v: String| q.push((k.to_owned(), v));
        add("CallSid", self.call_sid.clone());
        add("CallFrom", self.from.clone());
        add("CallTo", self.to.clone());
        add("Direction", self.direction.as_str().to_owned());
        add("Created", ist(self.start));
        let d = self.dial.as_ref();
        add(
            "DialCallDuration",
            d.map_or(0, |d| d.dial_call_duration).to_string(),
        );
        add("StartTime", ist(self.start));
        add("EndTime", END_TIME.to_owned());
        add(
            "CallType",
            d.map_or_else(|| "call-attempt".to_owned(), |d| d.call_type.clone()),
        );
        add(
            "DialWhomNumber",
            d.map(|d| d.dial_whom.clone()).unwrap_or_default(),
        );
        add("flow_id", self.flow_id.clone());
        add("From", self.from.clone());
        add("To", self.to.clone());
        add("CurrentTime", ist(self.now()));
    }

    fn push_conditional(&mut self, q: &mut Vec<(String, String)>, with_legs: bool) {
        if let Some(d) = &self.dial {
            q.push(("DialCallStatus".into(), d.dial_call_status.clone()));
            if with_legs && !d.legs.is_empty() {
                let json = match self.legs_form {
                    LegsForm::Bracketed => false,
                    LegsForm::Json => true,
                    LegsForm::Alternate => self.legs_sent % 2 == 1,
                };
                q.extend(legs_pairs(&d.legs, json));
                self.legs_sent += 1;
            }
            if let Some(r) = &d.recording_url {
                q.push(("RecordingUrl".into(), r.clone()));
            }
        }
        if let Some(digits) = &self.digits {
            q.push(("digits".into(), quoted_digits(digits)));
        }
        if let Some(c) = &self.custom_field {
            q.push(("CustomField".into(), c.clone()));
        }
    }

    /// Connect and Dial whom (seed 17196-17232). `Legs` is documented for
    /// Gather and Passthru; Connect gets it on re-fetch ("<connect> params
    /// from the previous dial attempts").
    pub fn connect_query(&mut self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        self.push_common(&mut q);
        let with_legs = self.dial.as_ref().is_some_and(|d| !d.legs.is_empty());
        self.push_conditional(&mut q, with_legs);
        q
    }

    /// Dial whom (seed 5640-5652, the SDK sample): Connect's set with
    /// CallStatus `ringing` and the RFC-like `Created` of that sample.
    pub fn dialwhom_query(&mut self) -> Vec<(String, String)> {
        let mut q = self.connect_query();
        q.insert(3, ("CallStatus".into(), "ringing".into()));
        if let Some(c) = q.iter_mut().find(|(k, _)| k == "Created") {
            c.1 = rfc_like(self.start);
        }
        q
    }

    /// Gather (seed 17420-17462): Connect's set plus CallStatus and Legs.
    pub fn gather_query(&mut self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        self.push_common(&mut q);
        q.insert(3, ("CallStatus".into(), "in-progress".into()));
        self.push_conditional(&mut q, true);
        q
    }

    /// Passthru (seed 17995-18037): the RFC-like `Created` of its samples,
    /// CallStatus, Legs, OutgoingPhoneNumber.
    pub fn passthru_query(&mut self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        self.push_common(&mut q);
        q.insert(3, ("CallStatus".into(), "in-progress".into()));
        if let Some(c) = q.iter_mut().find(|(k, _)| k == "Created") {
            c.1 = rfc_like(self.start);
        }
        self.push_conditional(&mut q, true);
        if let Some(o) = self
            .dial
            .as_ref()
            .and_then(|d| d.outgoing_phone_number.clone())
        {
            q.push(("OutgoingPhoneNumber".into(), o));
        }
        q
    }

    /// Greeting (seed 17862-17868): CallSid, From, To, DialWhomNumber, CustomField.
    pub fn greeting_query(&self) -> Vec<(String, String)> {
        let mut q = self.playback_query(
            self.dial
                .as_ref()
                .map(|d| d.dial_whom.as_str())
                .unwrap_or(""),
        );
        if let Some(c) = &self.custom_field {
            q.push(("CustomField".into(), c.clone()));
        }
        q
    }

    /// Connect playback (seed 17056-17062): CallSid, From, To, DialWhomNumber.
    pub fn playback_query(&self, dial_whom: &str) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("From".into(), self.from.clone()),
            ("To".into(), self.to.clone()),
            ("DialWhomNumber".into(), dial_whom.to_owned()),
        ]
    }

    /// Popup (seed 17935-17941).
    pub fn popup_query(&self, agent: &str, busy: bool, event: &str) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("From".into(), self.from.clone()),
            ("DialWhomNumber".into(), agent.to_owned()),
            ("Status".into(), if busy { "busy" } else { "free" }.into()),
            ("EventType".into(), event.to_owned()),
        ]
    }

    /// The call's final status for StatusCallback.
    pub fn final_status(&self) -> &str {
        match &self.dial {
            None => "completed",
            Some(d) => match d.dial_call_status.as_str() {
                "completed" => "completed",
                "busy" => "busy",
                "failed" => "failed",
                _ => "no-answer",
            },
        }
    }

    /// StatusCallback as multipart/form-data fields (seed 18198, 18298).
    pub fn status_form(&self) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("Status".into(), self.final_status().to_owned()),
            (
                "RecordingUrl".into(),
                self.dial
                    .as_ref()
                    .and_then(|d| d.recording_url.clone())
                    .unwrap_or_default(),
            ),
            ("DateUpdated".into(), ist(self.now())),
        ]
    }

    /// StatusCallback as the JSON terminal event (seed 190-230): Legs[0] is
    /// the caller's leg (AnsweredBy NA), Legs[1] the dialled one.
    pub fn status_json(&self) -> serde_json::Value {
        let d = self.dial.as_ref();
        let last = d.and_then(|d| d.legs.last());
        let talk = last.map_or(0, |l| l.on_call_duration.parse::<i64>().unwrap_or(0));
        let mut legs = vec![serde_json::json!({
            "OnCallDuration": self.elapsed.to_string(),
            "RingingDuration": "0",
            "Status": "completed",
            "AnsweredBy": "NA",
            "AmdCause": "",
        })];
        if let Some(l) = last {
            legs.push(serde_json::json!({
                "OnCallDuration": l.on_call_duration,
                "RingingDuration": "5",
                "Status": d.map(|d| d.dial_call_status.clone()).unwrap_or_default(),
                "AnsweredBy": l.answered_by.clone().unwrap_or_else(|| "NA".into()),
                "AmdCause": l.amd_cause.clone().unwrap_or_default(),
            }));
        }
        serde_json::json!({
            "CallSid": self.call_sid,
            "ConversationDuration": talk.to_string(),
            "DateCreated": ist(self.start),
            "DateUpdated": ist(self.now()),
            "Direction": match self.direction { Direction::Incoming => "inbound", Direction::OutboundDial => "outbound-api" },
            "DisconnectedBy": last.and_then(|l| l.disconnected_by.clone()).unwrap_or_else(|| "NA".into()),
            "EndTime": ist(self.now()),
            "EventTime": ist(self.now()),
            "EventType": "terminal",
            "From": self.from,
            "Legs": legs,
            "RecordingUrl": d.and_then(|d| d.recording_url.clone()),
            "StartTime": ist(self.start),
            "Status": self.final_status(),
            "To": self.to,
        })
    }
}

/// A `multipart/form-data` body and its Content-Type, written by hand: four
/// text fields need no library.
pub fn multipart(fields: &[(String, String)], boundary: &str) -> (String, Vec<u8>) {
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use handlers::params::CallParams;

    fn state() -> CallState {
        CallState {
            call_sid: "sid1".into(),
            from: "09900112233".into(),
            to: "08047115777".into(),
            direction: Direction::Incoming,
            custom_field: Some("order 42".into()),
            flow_id: "7".into(),
            // 2023-12-27 06:47:05 UTC = 12:17:05 IST, the seed's sample call.
            start: OffsetDateTime::from_unix_timestamp(1_703_659_625).unwrap(),
            elapsed: 21,
            digits: Some("15246".into()),
            dial: Some(DialResult {
                dial_call_status: "completed".into(),
                dial_call_duration: 19,
                dial_whom: "+919812345678".into(),
                call_type: "completed".into(),
                legs: vec![Leg {
                    number: "+919812345678".into(),
                    kind: "single".into(),
                    on_call_duration: "8".into(),
                    caller_id: "08047115777".into(),
                    cause_code: "NORMAL_CLEARING".into(),
                    cause: "16".into(),
                    disconnected_by: Some("Caller".into()),
                    answered_by: Some("HUMAN".into()),
                    amd_cause: Some("HUMAN-800-800".into()),
                }],
                recording_url: Some("https://rec.example/a.mp3".into()),
                outgoing_phone_number: Some("08047115777".into()),
            }),
            legs_form: LegsForm::Alternate,
            legs_sent: 0,
        }
    }

    fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
        q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    fn encode(q: &[(String, String)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish()
    }

    #[test]
    fn timestamps_are_ist_in_both_forms() {
        let t = OffsetDateTime::from_unix_timestamp(1_703_659_625).unwrap();
        assert_eq!(ist(t), "2023-12-27 12:17:05");
        assert_eq!(rfc_like(t), "Wed, 27 Dec 2023 12:17:05");
        assert_eq!(quoted_digits("15246"), "\"15246\"");
    }

    #[test]
    fn passthru_query_has_exotels_shapes() {
        let mut s = state();
        let q = s.passthru_query();
        assert_eq!(get(&q, "Created"), Some("Wed, 27 Dec 2023 12:17:05"));
        assert_eq!(get(&q, "StartTime"), Some("2023-12-27 12:17:05"));
        assert_eq!(get(&q, "CurrentTime"), Some("2023-12-27 12:17:26"));
        assert_eq!(get(&q, "EndTime"), Some("1970-01-01 05:30:00"));
        assert_eq!(get(&q, "digits"), Some("\"15246\""));
        assert_eq!(get(&q, "CallStatus"), Some("in-progress"));
        assert_eq!(get(&q, "Legs[0][CauseCode]"), Some("NORMAL_CLEARING"));
        assert_eq!(get(&q, "Legs[0][AnsweredBy]"), Some("HUMAN"));
        assert_eq!(get(&q, "OutgoingPhoneNumber"), Some("08047115777"));
        assert_eq!(get(&q, "CustomField"), Some("order 42"));
        // exoedge's own parser reads it back.
        let p = CallParams::from_query(&encode(&q)).unwrap();
        assert_eq!(p.digits.as_deref(), Some("15246"));
        assert_eq!(p.legs.len(), 1);
        assert_eq!(p.answered_by(), Some(handlers::params::AnsweredBy::Human));
    }

    #[test]
    fn alternate_legs_switch_to_the_json_string_form() {
        let mut s = state();
        let first = s.gather_query();
        assert!(get(&first, "Legs").is_none());
        assert!(get(&first, "Legs[0][Number]").is_some());
        let second = s.gather_query();
        let legs = get(&second, "Legs").unwrap();
        assert!(
            legs.starts_with(r#"[{"Number": "+919812345678", "Type": "single""#),
            "{legs}"
        );
        let v: serde_json::Value = serde_json::from_str(legs).unwrap();
        assert_eq!(v[0]["AmdCause"], "HUMAN-800-800");
        let p = CallParams::from_query(&encode(&second)).unwrap();
        assert_eq!(p.legs.len(), 1);
        assert_eq!(p.answered_by(), Some(handlers::params::AnsweredBy::Human));
    }

    #[test]
    fn applet_specific_sets() {
        let mut s = state();
        s.dial = None;
        let c = s.connect_query();
        assert_eq!(get(&c, "CallType"), Some("call-attempt"));
        assert_eq!(get(&c, "DialWhomNumber"), Some(""));
        assert!(get(&c, "DialCallStatus").is_none());
        assert!(get(&c, "CallStatus").is_none());
        let d = s.dialwhom_query();
        assert_eq!(get(&d, "CallStatus"), Some("ringing"));
        assert_eq!(get(&d, "Created"), Some("Wed, 27 Dec 2023 12:17:05"));
        let g = s.greeting_query();
        let keys: Vec<&str> = g.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["CallSid", "From", "To", "DialWhomNumber", "CustomField"]
        );
        let p = s.popup_query("+919812345678", true, "Dial");
        assert_eq!(get(&p, "Status"), Some("busy"));
        assert_eq!(get(&p, "EventType"), Some("Dial"));
    }

    #[test]
    fn status_bodies() {
        let s = state();
        let (ct, body) = multipart(&s.status_form(), "XyZ");
        assert_eq!(ct, "multipart/form-data; boundary=XyZ");
        let body = String::from_utf8(body).unwrap();
        assert!(body.starts_with(
            "--XyZ\r\nContent-Disposition: form-data; name=\"CallSid\"\r\n\r\nsid1\r\n"
        ));
        assert!(body.ends_with("--XyZ--\r\n"));
        let j = s.status_json();
        assert_eq!(j["EventType"], "terminal");
        assert_eq!(j["Legs"][0]["AnsweredBy"], "NA");
        assert_eq!(j["Legs"][1]["AnsweredBy"], "HUMAN");
        assert_eq!(j["Legs"][1]["AmdCause"], "HUMAN-800-800");
        let report = handlers::status::StatusReport::from_json(
            serde_json::to_string(&j).unwrap().as_bytes(),
        );
        assert!(report.is_ok(), "{report:?}");
    }
}
