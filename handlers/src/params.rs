//! The query parameters Exotel appends to every applet URL, parsed once into
//! a typed [`CallParams`].
//!
//! Exotel's parameter sets differ by where the applet sits in the flow, so
//! every field but `CallSid` is optional. Unknown and deprecated parameters
//! (`tenant_id`, `ProcessStatus`, ...) are never an error; parameters the
//! customer put in the URL themselves (`?event=ivr`) are kept in
//! [`CallParams::extra`] so routing rules can use them. When a key repeats,
//! the first value wins, so a value appended later cannot override one the
//! customer wrote into the URL.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::error::ParamError;
use crate::time::IstDateTime;

/// Longest query string we parse. Exotel's largest (passthru with Legs) is a
/// few KB; anything far larger is abuse and gets 414.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Most legs we keep from one request; Exotel's parallel ringing tops out at 10
/// numbers per attempt, a few attempts per call.
pub const MAX_LEGS: usize = 64;

/// Direction of the call as Exotel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direction {
    /// A caller dialled an ExoPhone.
    Incoming,
    /// The call was placed by the flow or the API (`outbound-dial`, `outbound dial`).
    OutboundDial,
    /// Placed through the Calls API (`outbound-api`, seen in StatusCallback).
    OutboundApi,
    /// Anything else, kept verbatim.
    Other(String),
}

impl Direction {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "incoming" | "inbound" => Self::Incoming,
            "outbound-dial" | "outbound dial" | "outbound_dial" => Self::OutboundDial,
            "outbound-api" | "outbound api" => Self::OutboundApi,
            _ => Self::Other(s.to_owned()),
        }
    }
}

/// Status of the second leg when the previous applet was Connect.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialCallStatus {
    /// A conversation happened.
    Completed,
    /// The agent was busy.
    Busy,
    /// Nobody picked up.
    NoAnswer,
    /// The dial failed.
    Failed,
    /// The caller hung up first.
    Canceled,
    /// A value this version does not know.
    #[serde(other)]
    Other,
}

impl DialCallStatus {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" | "no_answer" | "noanswer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            _ => Self::Other,
        }
    }
}

/// What happened in the call so far (`CallType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallType {
    /// IVR only, no Connect applet yet.
    CallAttempt,
    /// A conversation happened.
    Completed,
    /// The caller hung up during Connect.
    ClientHangup,
    /// Connect ran and no agent picked up.
    Incomplete,
    /// The call went to the voicemail applet.
    Voicemail,
    /// Anything else, kept verbatim.
    Other(String),
}

impl CallType {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "call-attempt" => Self::CallAttempt,
            "completed" => Self::Completed,
            "client-hangup" => Self::ClientHangup,
            "incomplete" => Self::Incomplete,
            "voicemail" => Self::Voicemail,
            _ => Self::Other(s.to_owned()),
        }
    }
}

/// Answering-machine detection result on a leg (seed lines 153-320).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    /// A person answered.
    Human,
    /// Voicemail or an IVR answered.
    Machine,
    /// Detection reached no verdict.
    NotSure,
    /// AMD did not apply (always so on leg 1).
    NotApplicable,
}

impl AnsweredBy {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HUMAN" => Some(Self::Human),
            "MACHINE" => Some(Self::Machine),
            "NOTSURE" | "NOT_SURE" => Some(Self::NotSure),
            "NA" => Some(Self::NotApplicable),
            _ => None,
        }
    }
}

/// One dial attempt reported in `Legs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leg {
    /// The number that was dialled.
    pub number: Option<String>,
    /// `single` or `parallel`.
    pub leg_type: Option<String>,
    /// Seconds on call; 0 when nobody talked.
    pub on_call_duration: Option<u32>,
    /// Seconds spent ringing (StatusCallback).
    pub ringing_duration: Option<u32>,
    /// Caller id used on this leg.
    pub caller_id: Option<String>,
    /// Operator cause code, e.g. `NORMAL_CLEARING`.
    pub cause_code: Option<String>,
    /// Numeric ISDN cause.
    pub cause: Option<String>,
    /// Who hung up.
    pub disconnected_by: Option<String>,
    /// Leg status (StatusCallback): completed, busy, ...
    pub status: Option<String>,
    /// AMD verdict, when AMD is enabled.
    pub answered_by: Option<AnsweredBy>,
    /// AMD's reason, e.g. `HUMAN-080-880`.
    pub amd_cause: Option<String>,
}

impl Leg {
    /// Sets a field from its Exotel name; unknown names are ignored.
    fn set(&mut self, key: &str, value: &str) {
        let v = non_empty(value);
        match key {
            "Number" => self.number = v,
            "Type" => self.leg_type = v,
            "OnCallDuration" => self.on_call_duration = v.and_then(|s| s.parse().ok()),
            "RingingDuration" => self.ringing_duration = v.and_then(|s| s.parse().ok()),
            "CallerId" => self.caller_id = v,
            "CauseCode" => self.cause_code = v,
            "Cause" | "Code" => self.cause = v,
            "DisconnectedBy" => self.disconnected_by = v,
            "Status" => self.status = v,
            "AnsweredBy" => self.answered_by = v.as_deref().and_then(AnsweredBy::parse),
            "AmdCause" => self.amd_cause = v,
            _ => {}
        }
    }
}

/// A JSON leg: every value may be a string or a number.
impl<'de> Deserialize<'de> for Leg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
        let mut leg = Leg::default();
        for (k, v) in &map {
            match v {
                serde_json::Value::String(s) => leg.set(k, s),
                serde_json::Value::Number(n) => leg.set(k, &n.to_string()),
                serde_json::Value::Bool(b) => leg.set(k, if *b { "true" } else { "false" }),
                _ => {}
            }
        }
        Ok(leg)
    }
}

/// Every documented parameter of an applet request, typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallParams {
    /// Unique id of the call; the one parameter Exotel always sends.
    pub call_sid: String,
    /// The caller (incoming) or the first leg (outgoing).
    pub call_from: Option<String>,
    /// The ExoPhone (incoming) or the dialled number (outgoing).
    pub call_to: Option<String>,
    /// `From`: same meaning as CallFrom in most applets.
    pub from: Option<String>,
    /// `To`: same meaning as CallTo in most applets.
    pub to: Option<String>,
    /// `Direction`.
    pub direction: Option<Direction>,
    /// `CallStatus` (`Call status` in the Gather table).
    pub call_status: Option<String>,
    /// `Created` as sent, in either of Exotel's two forms
    /// ([`CallParams::created_at`] reads it as a time).
    pub created: Option<String>,
    /// `StartTime` as sent ([`CallParams::start_time_at`]).
    pub start_time: Option<String>,
    /// `CurrentTime` (`Current Time` in the tables) as sent
    /// ([`CallParams::current_time_at`]).
    pub current_time: Option<String>,
    /// `DialCallStatus`, when the previous applet was Connect.
    pub dial_call_status: Option<DialCallStatus>,
    /// `DialCallDuration` in seconds.
    pub dial_call_duration: Option<u32>,
    /// `DialWhomNumber`: the agent dialled last.
    pub dial_whom_number: Option<String>,
    /// `CallType`.
    pub call_type: Option<CallType>,
    /// `digits` with Exotel's surrounding double quotes removed.
    pub digits: Option<String>,
    /// `CustomField` from the API call that placed the call.
    pub custom_field: Option<String>,
    /// `RecordingUrl` (`RecordingURL` in the Connect table).
    pub recording_url: Option<String>,
    /// `OutgoingPhoneNumber` used by the previous Connect.
    pub outgoing_phone_number: Option<String>,
    /// `flow_id` of the flow.
    pub flow_id: Option<String>,
    /// `Legs`, from either the bracketed or the JSON-string form.
    pub legs: Vec<Leg>,
    /// Popup: `Status` busy/free.
    pub status: Option<String>,
    /// Popup: `EventType` Dial/Ringing/Answered/Terminal.
    pub event_type: Option<String>,
    /// Parameters Exotel does not document: the customer's own, kept for rules.
    pub extra: BTreeMap<String, String>,
}

/// Keys Exotel documents but that carry nothing we use (deprecated or constant).
const IGNORED: &[&str] = &[
    "EndTime",
    "RecordingAvailableBy",
    "ForwardedFrom",
    "ProcessStatus",
    "tenant_id",
];

/// Most distinct customer parameters we keep, so a hostile query cannot grow
/// memory without bound.
const MAX_EXTRA: usize = 32;

impl CallParams {
    /// `Created` as a time (IST), if it parses.
    pub fn created_at(&self) -> Option<IstDateTime> {
        self.created.as_deref().and_then(IstDateTime::parse)
    }

    /// `StartTime` as a time (IST), if it parses.
    pub fn start_time_at(&self) -> Option<IstDateTime> {
        self.start_time.as_deref().and_then(IstDateTime::parse)
    }

    /// `CurrentTime` as a time (IST), if it parses.
    pub fn current_time_at(&self) -> Option<IstDateTime> {
        self.current_time.as_deref().and_then(IstDateTime::parse)
    }

    /// Parses a raw (still percent-encoded) query string.
    pub fn from_query(query: &str) -> Result<Self, ParamError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(ParamError::TooLong {
                limit: MAX_QUERY_BYTES,
            });
        }
        let pairs = url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes());
        Self::from_pairs(pairs)
    }

    /// Builds from decoded key/value pairs: a query or a form body.
    ///
    /// The keys already seen are kept as they came (`K`): a query's are
    /// slices of the query itself unless percent-encoded, so "first value
    /// wins" costs no copy of each key on every callback.
    pub fn from_pairs<K, V, I>(pairs: I) -> Result<Self, ParamError>
    where
        K: AsRef<str> + Clone,
        V: AsRef<str>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut p = CallParams::default();
        let mut seen: Vec<K> = Vec::with_capacity(16);
        let mut bracket_legs: BTreeMap<usize, Leg> = BTreeMap::new();
        let mut json_legs: Option<Vec<Leg>> = None;
        for (key, v) in pairs {
            let (k, v) = (key.as_ref(), v.as_ref());
            if let Some((idx, field)) = bracket_leg_key(k) {
                if idx < MAX_LEGS {
                    bracket_legs.entry(idx).or_default().set(field, v);
                }
                continue;
            }
            if seen.iter().any(|s| s.as_ref() == k) {
                continue; // first value wins
            }
            seen.push(key.clone());
            // Trimmed and copied only for the keys kept (not for `CallSid`,
            // which is cleaned its own way, or an ignored key).
            let val = || non_empty(v);
            match k {
                // Exotel SIDs are plain text; control characters could only forge log
                // lines and state keys, so they are replaced (tests/abuse.test.mjs).
                "CallSid" => p.call_sid = crate::phone::log_safe(v.trim()).into_owned(),
                "CallFrom" => p.call_from = val(),
                "CallTo" => p.call_to = val(),
                "From" => p.from = val(),
                "To" => p.to = val(),
                "Direction" => p.direction = some_text(v).map(Direction::parse),
                "CallStatus" | "Call status" | "Status " => p.call_status = val(),
                // Kept as sent: no decision reads them, and parsing three
                // dates was ~4% of a callback's CPU (BENCHMARKS.md).
                "Created" => p.created = val(),
                "StartTime" => p.start_time = val(),
                "CurrentTime" | "Current Time" => p.current_time = val(),
                "DialCallStatus" => p.dial_call_status = some_text(v).map(DialCallStatus::parse),
                "DialCallDuration" | "DialCall Duration" => {
                    p.dial_call_duration = some_text(v).and_then(|s| s.parse().ok())
                }
                "DialWhomNumber" => p.dial_whom_number = val(),
                "CallType" => p.call_type = some_text(v).map(CallType::parse),
                "digits" | "Digits" => p.digits = strip_digit_quotes(v),
                "CustomField" => p.custom_field = val(),
                "RecordingUrl" | "RecordingURL" => p.recording_url = val(),
                "OutgoingPhoneNumber" => p.outgoing_phone_number = val(),
                "flow_id" => p.flow_id = val(),
                "Status" => p.status = val(),
                "EventType" => p.event_type = val(),
                "Legs" => json_legs = some_text(v).map(parse_json_legs).transpose()?,
                k if IGNORED.contains(&k) => {}
                _ => {
                    if p.extra.len() < MAX_EXTRA {
                        p.extra.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
        if p.call_sid.is_empty() {
            return Err(ParamError::MissingCallSid);
        }
        p.legs = match json_legs {
            Some(legs) => legs,
            None => bracket_legs.into_values().collect(),
        };
        Ok(p)
    }

    /// The caller's number, whichever of `CallFrom`/`From` came.
    pub fn caller(&self) -> Option<&str> {
        self.call_from.as_deref().or(self.from.as_deref())
    }

    /// The ExoPhone that was called (for incoming calls), whichever of
    /// `CallTo`/`To` came.
    pub fn exophone(&self) -> Option<&str> {
        self.call_to.as_deref().or(self.to.as_deref())
    }

    /// AMD verdict on the dialled leg: Exotel puts it on leg 2, so the last
    /// leg that has a verdict other than NA decides.
    pub fn answered_by(&self) -> Option<AnsweredBy> {
        self.legs
            .iter()
            .rev()
            .filter_map(|l| l.answered_by)
            .find(|a| *a != AnsweredBy::NotApplicable)
            .or_else(|| self.legs.iter().find_map(|l| l.answered_by))
    }
}

fn non_empty(v: &str) -> Option<String> {
    some_text(v).map(str::to_owned)
}

/// The value trimmed, `None` when nothing is left.
fn some_text(v: &str) -> Option<&str> {
    let t = v.trim();
    (!t.is_empty()).then_some(t)
}

/// Whether a callback's query asks for the safe static answer: Exotel's
/// Fallback URL is the same route with `fallback=1` (or `true`). The router
/// answers it and the trace files it by this one test.
///
/// Asked of every callback, so it decodes only what could be the
/// `fallback` pair: a raw key that is `fallback`, or that has `%` or `+`
/// (which decoding could turn into it); every other pair is skipped
/// undecoded. The answer is the same as decoding every pair.
pub fn wants_fallback(query: &str) -> bool {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            // Bytes, not chars: '%' and '+' are ASCII (runs on every callback).
            key == "fallback" || key.bytes().any(|b| b == b'%' || b == b'+')
        })
        .any(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .any(|(k, v)| k == "fallback" && (v == "1" || v == "true"))
        })
}

/// `"15246"` → `15246`. Exotel wraps digits in double quotes; some proxies
/// strip them, so both forms are accepted. An empty input means no digits.
pub fn strip_digit_quotes(v: &str) -> Option<String> {
    unquote_digits(v).map(str::to_owned)
}

/// [`strip_digit_quotes`] without a copy: digits from elsewhere (a
/// real-time event's `digits`) read as a query's `digits` would.
pub fn unquote_digits(v: &str) -> Option<&str> {
    let t = v.trim();
    let t = t.strip_prefix('"').unwrap_or(t);
    let t = t.strip_suffix('"').unwrap_or(t);
    let t = t.trim();
    (!t.is_empty()).then_some(t)
}

/// `Legs[3][CauseCode]` → `(3, "CauseCode")`.
fn bracket_leg_key(k: &str) -> Option<(usize, &str)> {
    let rest = k.strip_prefix("Legs[")?;
    let (idx, rest) = rest.split_once("][")?;
    let field = rest.strip_suffix(']')?;
    Some((idx.parse().ok()?, field))
}

fn parse_json_legs(s: &str) -> Result<Vec<Leg>, ParamError> {
    let mut legs: Vec<Leg> =
        serde_json::from_str(s).map_err(|e| ParamError::BadLegs(e.to_string()))?;
    legs.truncate(MAX_LEGS);
    Ok(legs)
}

#[cfg(test)]
mod tests {

    #[test]
    fn fallback_is_asked_by_fallback_1_or_true_only() {
        assert!(wants_fallback("fallback=1"));
        assert!(wants_fallback("CallSid=a&fallback=true"));
        assert!(!wants_fallback("CallSid=a&fallback=0"));
        assert!(!wants_fallback("CallSid=a&fallback=yes"));
        assert!(!wants_fallback("CallSid=fallback"));
    }

    /// The pair-skipping test answers as decoding every pair does.
    #[test]
    fn wants_fallback_matches_a_full_decode() {
        let full = |q: &str| {
            url::form_urlencoded::parse(q.as_bytes())
                .any(|(k, v)| k == "fallback" && (v == "1" || v == "true"))
        };
        let pairs = [
            "fallback=1",
            "fallback=true",
            "fallback=0",
            "fallback",
            "fallback=",
            "fall%62ack=1",
            "%66allback=%31",
            "fallback=%74rue",
            "fallback=+1",
            "+fallback=1",
            "fallback+=1",
            "fall+back=1",
            "CallSid=a",
            "a=fallback=1",
            "=1",
            "",
            "fallback=1=2",
            "x%3D=1",
            "fallback=tru%65",
            "FALLBACK=1",
            "fallback=1%00",
        ];
        for a in pairs {
            for b in pairs {
                for q in [format!("{a}&{b}"), format!("{a}&&{b}"), a.to_owned()] {
                    assert_eq!(wants_fallback(&q), full(&q), "{q}");
                }
            }
        }
    }
    use super::*;

    /// The Dial Whom request from the VoIP SDK section (seed 5655-5660).
    const SDK_QUERY: &str = "CallSid=743ddcf5a0552050bc37b6d0ff9613bn&CallFrom=sip:Alice&CallTo=sip:08040408080&CallStatus=ringing&Direction=incoming&Created=Sat,+23+Nov+2019+22:00:37&DialCallDuration=0&StartTime=2019-11-23+22:00:37&EndTime=1970-01-01+05:30:00&CallType=call-attempt&DialWhomNumber=&flow_id=249196&tenant_id=113828&From=sip:Alice&To=sip:08040408080&CurrentTime=2019-11-23+22:00:37";

    #[test]
    fn parses_the_sdk_dial_whom_sample() {
        let p = CallParams::from_query(SDK_QUERY).unwrap();
        assert_eq!(p.call_sid, "743ddcf5a0552050bc37b6d0ff9613bn");
        assert_eq!(p.caller(), Some("sip:Alice"));
        assert_eq!(p.exophone(), Some("sip:08040408080"));
        assert_eq!(p.direction, Some(Direction::Incoming));
        assert_eq!(p.call_type, Some(CallType::CallAttempt));
        assert_eq!(p.dial_whom_number, None, "empty means absent");
        assert_eq!(p.flow_id.as_deref(), Some("249196"));
        assert_eq!(p.created_at().unwrap().to_string(), "2019-11-23 22:00:37");
        assert_eq!(
            p.start_time_at().unwrap().to_string(),
            "2019-11-23 22:00:37"
        );
        assert!(
            p.extra.is_empty(),
            "tenant_id and EndTime are ignored: {:?}",
            p.extra
        );
    }

    /// Passthru sample 1 (seed 18040-18062): JSON-string Legs and RFC-1123 Created.
    #[test]
    fn parses_passthru_sample_with_json_legs() {
        let q = "CallSid=56ad12c0e29d&CallFrom=086605&CallTo=080468&CallStatus=completed&Direction=incoming&Created=Wed%2C+27+Dec+2023+12%3A17%3A05&DialCallDuration=19&RecordingUrl=https%3A%2F%2Fx%2FE.mp3&StartTime=2023-12-27+12%3A17%3A05&EndTime=1970-01-01+05%3A30%3A00&DialCallStatus=completed&CallType=completed&DialWhomNumber=094490&flow_id=7&tenant_id=15&From=086605&To=080468&RecordingAvailableBy=Wed%2C+27+Dec+2023+12%3A22%3A26&CurrentTime=2023-12-27+12%3A17%3A26&OutgoingPhoneNumber=080468&Legs=%5B%7B%22Number%22%3A+%22094490%22%2C+%22Type%22%3A+%22single%22%2C+%22OnCallDuration%22%3A+%228%22%2C+%22CallerId%22%3A+%22080468%22%2C+%22CauseCode%22%3A+%22NORMAL_CLEARING%22%2C+%22Cause%22%3A+%2216%22%2C+%22DisconnectedBy%22%3A+%22Caller%22%7D%5D";
        let p = CallParams::from_query(q).unwrap();
        assert_eq!(p.dial_call_status, Some(DialCallStatus::Completed));
        assert_eq!(p.dial_call_duration, Some(19));
        assert_eq!(p.created_at().unwrap().to_string(), "2023-12-27 12:17:05");
        assert_eq!(
            p.current_time_at().unwrap().to_string(),
            "2023-12-27 12:17:26"
        );
        assert_eq!(p.outgoing_phone_number.as_deref(), Some("080468"));
        assert_eq!(p.recording_url.as_deref(), Some("https://x/E.mp3"));
        assert_eq!(p.legs.len(), 1);
        let l = &p.legs[0];
        assert_eq!(l.number.as_deref(), Some("094490"));
        assert_eq!(l.on_call_duration, Some(8));
        assert_eq!(l.cause_code.as_deref(), Some("NORMAL_CLEARING"));
        assert_eq!(l.cause.as_deref(), Some("16"));
        assert_eq!(l.disconnected_by.as_deref(), Some("Caller"));
    }

    /// Passthru sample 2 (seed 18064-18083): quoted digits.
    #[test]
    fn strips_quotes_from_digits() {
        let p =
            CallParams::from_query("CallSid=b8013b5546750a&digits=%2215246%22&ProcessStatus=ready")
                .unwrap();
        assert_eq!(p.digits.as_deref(), Some("15246"));
        let p = CallParams::from_query("CallSid=x&digits=15246").unwrap();
        assert_eq!(p.digits.as_deref(), Some("15246"));
        let p = CallParams::from_query("CallSid=x&digits=%22%22").unwrap();
        assert_eq!(p.digits, None);
    }

    /// The bracketed Legs sample from the Gather and Passthru tables.
    #[test]
    fn parses_bracketed_legs_in_index_order() {
        let q = "CallSid=s&Legs%5B1%5D%5BNumber%5D=0722&Legs[0][CauseCode]=NORMAL_CLEARING&Legs[0][Cause]=16&Legs[0][Type]=single&Legs[0][OnCallDuration]=21&Legs[0][Number]=07200498123&Legs[1][AnsweredBy]=MACHINE&Legs[1][AmdCause]=MAXWORDS-5-4";
        let p = CallParams::from_query(q).unwrap();
        assert_eq!(p.legs.len(), 2);
        assert_eq!(p.legs[0].number.as_deref(), Some("07200498123"));
        assert_eq!(p.legs[0].on_call_duration, Some(21));
        assert_eq!(p.legs[0].leg_type.as_deref(), Some("single"));
        assert_eq!(p.legs[1].number.as_deref(), Some("0722"));
        assert_eq!(p.legs[1].answered_by, Some(AnsweredBy::Machine));
        assert_eq!(p.legs[1].amd_cause.as_deref(), Some("MAXWORDS-5-4"));
        assert_eq!(p.answered_by(), Some(AnsweredBy::Machine));
    }

    /// The AMD passthru sample (seed 245-262): numbers where strings were.
    #[test]
    fn json_legs_accept_numbers_and_amd_fields() {
        let legs = r#"[{"Number":"06355212721","Type":"single","OnCallDuration":18,"CauseCode":"NORMAL_CLEARING","AnsweredBy":"HUMAN","AmdCause":"HUMAN-800-800"}]"#;
        let q = format!(
            "CallSid=a&Legs={}",
            url::form_urlencoded::byte_serialize(legs.as_bytes()).collect::<String>()
        );
        let p = CallParams::from_query(&q).unwrap();
        assert_eq!(p.legs[0].on_call_duration, Some(18));
        assert_eq!(p.answered_by(), Some(AnsweredBy::Human));
    }

    #[test]
    fn keeps_customer_params_and_first_value_wins() {
        let p =
            CallParams::from_query("event=ivr&CallSid=a&CallSid=b&From=1&From=2&lang=hi").unwrap();
        assert_eq!(p.call_sid, "a");
        assert_eq!(p.from.as_deref(), Some("1"));
        assert_eq!(p.extra.get("event").map(String::as_str), Some("ivr"));
        assert_eq!(p.extra.get("lang").map(String::as_str), Some("hi"));
    }

    #[test]
    fn rejects_what_cannot_be_a_call() {
        assert_eq!(
            CallParams::from_query("From=1"),
            Err(ParamError::MissingCallSid)
        );
        assert_eq!(
            CallParams::from_query("CallSid=%20"),
            Err(ParamError::MissingCallSid)
        );
        let long = format!("CallSid=a&x={}", "y".repeat(MAX_QUERY_BYTES));
        assert!(matches!(
            CallParams::from_query(&long),
            Err(ParamError::TooLong { .. })
        ));
        assert!(matches!(
            CallParams::from_query("CallSid=a&Legs=%5Bnope"),
            Err(ParamError::BadLegs(_))
        ));
    }

    #[test]
    fn unknown_values_and_bad_numbers_are_not_errors() {
        let p = CallParams::from_query("CallSid=a&Direction=sideways&DialCallStatus=weird&DialCallDuration=x&Created=yesterday&Legs[99999999999999999999][Number]=1").unwrap();
        assert_eq!(p.direction, Some(Direction::Other("sideways".into())));
        assert_eq!(p.dial_call_status, Some(DialCallStatus::Other));
        assert_eq!(p.dial_call_duration, None);
        assert_eq!(p.created.as_deref(), Some("yesterday"));
        assert_eq!(p.created_at(), None);
        assert!(p.legs.is_empty());
    }

    #[test]
    fn invalid_percent_encoding_and_utf8_are_lossy_not_fatal() {
        let p = CallParams::from_query("CallSid=a%ZZ&From=%FF%FE").unwrap();
        assert_eq!(p.call_sid, "a%ZZ");
        assert_eq!(p.from.as_deref(), Some("\u{FFFD}\u{FFFD}"));
    }
}
