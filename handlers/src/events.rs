//! Real-time call events (seed 919-1067 for the object, 1955-2114 and
//! 2797-2852 for the names), as proto-gateway delivers them to `POST /events`,
//! and the configurable flow that reacts to them with leg actions.
//!
//! The gateway posts each event's protobuf-JSON form. Depending on how it
//! prints field names that is `event_sid` (names preserved, proto-gateway's
//! default) or `eventSid` (protobuf JSON's lowerCamelCase), and
//! `event_timestamp` is `{"seconds": .., "nanos": ..}` (Exotel's documented
//! shape; int64 may be a JSON string) or an RFC 3339 string (how
//! `google.protobuf.Timestamp` prints). All of these are accepted. `data` is
//! a `google.protobuf.Struct`, so its numbers may arrive as floats and some
//! values as numbers where a string is expected: read leniently.
//!
//! # The flow
//! [`decide`] is a pure function from an event and the config's `events`
//! section ([`EventsFlow`]) to the leg actions to post. It keeps no state:
//! every action it posts carries an `action_custom_param` naming the step
//! (`exoedge:greeting:0`, `exoedge:menu:0`, `exoedge:dial`, ...), which
//! Exotel echoes back as `action_custom_parameter` in that action's events,
//! so the next step is known from the event alone. Events of actions someone
//! else posted (no `exoedge:` prefix) are left alone.
//!
//! 1. `channel_created` of an inbound leg: `<Answer>` (when `answer_inbound`).
//! 2. `leg_answered`: answered by a machine (`answered_by` in
//!    `hangup_when_answered_by`) → `<Hangup>`; else the greeting (`<Say>` or
//!    `<StartPlay>`).
//! 3. `amd_result_success` (asynchronous AMD) by a machine → `<Hangup>`.
//! 4. Greeting finished (`say_completed`/`play_completed`) → `<Gather>`.
//! 5. `gather_success` → `<Dial>` the routed agent: `routes[digits]`, or
//!    when `routes` is empty whom the routing model would connect this call
//!    to (`routing::plan_connect` with the leg's ExoPhone, caller and
//!    digits: business hours, blocked and VIP callers, the line's IVR
//!    `menu`, agent groups in their stateless order; the first destination).
//!    Digits that match no `routes` entry, and `gather_failed`, replay the
//!    prompt up to `max_retries` times, then say `goodbye` (if set) and hang
//!    up; so does a call the routing model would not dial (blocked, closed).
//! 6. `dial_failed` → goodbye and hang up.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::answer::exoml::{ActionRequest, Dial, ExomlError, Flow, Gather, NetworkType, Verb};
use crate::config::events_flow::{EventsFlow, GatherSettings};
use crate::config::Config;
use crate::destination::Destination;
use crate::params::unquote_digits;
use crate::routing::{self, Call};

/// Largest event body the worker reads; Exotel's events are a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Prefix of every `action_custom_param` the flow posts.
pub const PARAM_PREFIX: &str = "exoedge:";

/// `event_timestamp`: a protobuf Timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventTimestamp {
    /// Unix seconds.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanos: i32,
}

impl<'de> Deserialize<'de> for EventTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        let int = |v: Option<&Value>| -> Result<i64, D::Error> {
            match v {
                None | Some(Value::Null) => Ok(0),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .ok_or_else(|| D::Error::custom("timestamp field is not an integer")),
                Some(Value::String(s)) => s
                    .parse()
                    .map_err(|_| D::Error::custom("timestamp field is not an integer")),
                Some(_) => Err(D::Error::custom("timestamp field is not an integer")),
            }
        };
        match &v {
            Value::Object(o) => Ok(Self {
                seconds: int(o.get("seconds"))?,
                nanos: i32::try_from(int(o.get("nanos"))?)
                    .map_err(|_| D::Error::custom("nanos out of range"))?,
            }),
            Value::String(s) => {
                let t =
                    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| D::Error::custom("event_timestamp is not RFC 3339"))?;
                Ok(Self {
                    seconds: t.unix_timestamp(),
                    nanos: t.nanosecond() as i32,
                })
            }
            _ => Err(D::Error::custom(
                "event_timestamp must be {seconds, nanos} or an RFC 3339 string",
            )),
        }
    }
}

/// A string field of `data` as a protobuf Struct may carry it: a string, a
/// number (floats with no fraction lose the `.0`) or a bool; null is absent.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn null_as_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `data`: the fields the flow reads, and everything else as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// The leg (leg events).
    #[serde(default, alias = "legSid", deserialize_with = "lenient_string")]
    pub leg_sid: Option<String>,
    /// The bridge (bridge events).
    #[serde(default, alias = "bridgeSid", deserialize_with = "lenient_string")]
    pub bridge_sid: Option<String>,
    /// The Exotel account.
    #[serde(default, alias = "accountSid", deserialize_with = "lenient_string")]
    pub account_sid: Option<String>,
    /// created, connecting, ringing, connected, terminal.
    #[serde(default, deserialize_with = "lenient_string")]
    pub state: Option<String>,
    /// inbound or outbound.
    #[serde(default, deserialize_with = "lenient_string")]
    pub direction: Option<String>,
    /// The ExoPhone of the leg.
    #[serde(default, deserialize_with = "lenient_string")]
    pub exophone: Option<String>,
    /// The other party.
    #[serde(default, alias = "contactUri", deserialize_with = "lenient_string")]
    pub contact_uri: Option<String>,
    /// AMD: HUMAN, MACHINE, BEEP (seed 718-719).
    #[serde(default, alias = "answeredBy", deserialize_with = "lenient_string")]
    pub answered_by: Option<String>,
    /// completed, busy, no-answer, failed (leg_terminated).
    #[serde(default, alias = "terminalStatus", deserialize_with = "lenient_string")]
    pub terminal_status: Option<String>,
    /// Digits of a `gather_success`. The seed does not name this field;
    /// `digits` is the name Exotel's applets use (and is also read as
    /// `dtmf`/`gathered_digits`), with the applets' wrapping quotes removed.
    #[serde(
        default,
        alias = "dtmf",
        alias = "gathered_digits",
        alias = "gatheredDigits",
        deserialize_with = "lenient_string"
    )]
    pub digits: Option<String>,
    /// Everything else, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EventData {
    /// The gathered digits without the quotes Exotel's applets wrap them in.
    pub fn digits(&self) -> Option<&str> {
        self.digits
            .as_deref()
            .map(|d| d.trim().trim_matches('"'))
            .filter(|d| !d.is_empty())
    }

    /// Whether AMD says a machine answered, per the flow's list.
    fn answered_by_any(&self, list: &[String]) -> bool {
        self.answered_by
            .as_deref()
            .is_some_and(|a| list.iter().any(|m| m.eq_ignore_ascii_case(a.trim())))
    }
}

/// One event, as the gateway posts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id (also the delivery's `webhook-id`).
    #[serde(alias = "eventSid")]
    pub event_sid: String,
    /// leg_lifecycle_event, leg_action_event, bridge_*.
    #[serde(default, alias = "eventType")]
    pub event_type: String,
    /// What happened, e.g. `leg_answered`.
    #[serde(alias = "eventName")]
    pub event_name: String,
    /// When it happened on Exotel's side.
    #[serde(default, alias = "eventTimestamp")]
    pub event_timestamp: Option<EventTimestamp>,
    /// The action that produced it (empty for lifecycle events).
    #[serde(default, alias = "actionSid")]
    pub action_sid: Option<String>,
    /// The `action_custom_param` that action was posted with.
    #[serde(default, alias = "actionCustomParameter")]
    pub action_custom_parameter: Option<String>,
    /// Event-specific fields (`null`, as protobuf JSON may print an unset
    /// Struct, reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: EventData,
}

/// Why an event body was rejected.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Larger than [`MAX_EVENT_BYTES`].
    #[error("event body longer than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    /// Not JSON, or not an event object.
    #[error("event body is not an event object: {0}")]
    BadJson(#[from] serde_json::Error),
    /// `event_sid` or `event_name` is empty.
    #[error("event_sid and event_name must not be empty")]
    MissingField,
}

impl Event {
    /// Parses a delivered body.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        if body.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge);
        }
        let e: Event = serde_json::from_slice(body)?;
        if e.event_sid.trim().is_empty() || e.event_name.trim().is_empty() {
            return Err(EventError::MissingField);
        }
        Ok(e)
    }

    /// The documented name, or `None` for one the seed does not list.
    pub fn name(&self) -> Option<EventName> {
        EventName::parse(&self.event_name)
    }
}

macro_rules! event_names {
    ($($variant:ident = $text:literal,)*) => {
        /// Every event name the seed documents for legs and bridges.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventName {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl EventName {
            /// Every documented name.
            pub const ALL: &'static [EventName] = &[$(EventName::$variant,)*];

            /// The documented name for `s`, if it is one.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }
    };
}

event_names! {
    // Leg lifecycle (seed 716-721, and the external-events sample at 1030).
    ChannelCreated = "channel_created",
    LegConnecting = "leg_connecting",
    LegRinging = "leg_ringing",
    LegAnswered = "leg_answered",
    AmdResultSuccess = "amd_result_success",
    LegTerminated = "leg_terminated",
    LegFailedToCreate = "leg_failed_to_create",
    // Leg and bridge actions (seed 1955-2114, 2797-2852).
    AnswerFailed = "answer_failed",
    HangupFailed = "hangup_failed",
    DialInitiated = "dial_initiated",
    DialSuccess = "dial_success",
    DialCompleted = "dial_completed",
    DialFailed = "dial_failed",
    PlayStarted = "play_started",
    PlayCompleted = "play_completed",
    PlayInterrupted = "play_interrupted",
    PlayFailedToStart = "play_failed_to_start",
    PlayFailedToStop = "play_failed_to_stop",
    SayStarted = "say_started",
    SayCompleted = "say_completed",
    SayInterrupted = "say_interrupted",
    SayFailedToStart = "say_failed_to_start",
    SayFailedToStop = "say_failed_to_stop",
    GatherInitiated = "gather_initiated",
    GatherStarted = "gather_started",
    GatherSuccess = "gather_success",
    GatherFailed = "gather_failed",
    GatherInterrupted = "gather_interrupted",
    DigitsSent = "digits_sent",
    DigitsFailedToSend = "digits_failed_to_send",
    RecordingStarted = "recording_started",
    RecordingStopped = "recording_stopped",
    RecordingFailedToStart = "recording_failed_to_start",
    RecordingFailedToStop = "recording_failed_to_stop",
    RecordingAvailable = "recording_available",
    HoldSuccess = "hold_success",
    HoldFailed = "hold_failed",
    UnholdSuccess = "unhold_success",
    UnholdFailed = "unhold_failed",
    MuteSuccess = "mute_success",
    MuteFailed = "mute_failed",
    UnmuteSuccess = "unmute_success",
    UnmuteFailed = "unmute_failed",
    LegJoinedBridge = "leg_joined_bridge",
    LegFailedToJoinBridge = "leg_failed_to_join_bridge",
    LegLeftBridge = "leg_left_bridge",
    LegFailedToLeaveBridge = "leg_failed_to_leave_bridge",
    MonitoringInitiated = "monitoring_initiated",
    MonitoringStarted = "monitoring_started",
    MonitoringFailed = "monitoring_failed",
    MonitoringStopped = "monitoring_stopped",
    MonitoringFailedToStop = "monitoring_failed_to_stop",
    Referred = "referred",
    StreamInitiated = "stream_initiated",
    StreamStarted = "stream_started",
    StreamStopped = "stream_stopped",
    StreamFailed = "stream_failed",
    StreamFailedToStop = "stream_failed_to_stop",
}

/// One leg action to post: `POST <base>/v2/accounts/<sid>/legs/{leg_sid}/actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegAction {
    /// The leg acted on.
    pub leg_sid: String,
    /// What to do.
    pub flow: Flow,
    /// Echoed back in the action's events; names the flow's step.
    pub custom_param: String,
}

impl LegAction {
    /// The JSON body to post.
    pub fn request(&self) -> Result<ActionRequest, ExomlError> {
        ActionRequest::new(&self.flow, Some(self.custom_param.clone()))
    }
}

/// What the worker should do for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Post a leg action.
    PostLegAction(LegAction),
}

/// The flow's step, parsed from an `action_custom_parameter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Greeting(u32),
    Menu(u32),
    Dial,
    Goodbye,
    Other,
}

impl Step {
    fn parse(param: Option<&str>) -> Option<Self> {
        let rest = param?.strip_prefix(PARAM_PREFIX)?;
        let (name, n) = match rest.split_once(':') {
            Some((name, n)) => (name, n.parse().ok()),
            None => (rest, None),
        };
        Some(match (name, n) {
            ("greeting", Some(n)) => Self::Greeting(n),
            ("menu", Some(n)) => Self::Menu(n),
            ("dial", _) => Self::Dial,
            ("goodbye", _) => Self::Goodbye,
            _ => Self::Other,
        })
    }
}

/// The actions the flow takes for `event` at `now_ms` (Unix ms; business
/// hours depend on it). Empty when the event needs nothing, is not about a
/// leg, or belongs to someone else's action.
pub fn decide(event: &Event, flow: &EventsFlow, cfg: &Config, now_ms: i64) -> Vec<Action> {
    let Some(leg_sid) = event.data.leg_sid.as_deref().filter(|s| !s.is_empty()) else {
        return Vec::new(); // bridge events: the flow acts on legs only
    };
    let act = |verb: Verb, param: String| {
        vec![Action::PostLegAction(LegAction {
            leg_sid: leg_sid.to_owned(),
            flow: Flow::one(verb),
            custom_param: param,
        })]
    };
    let p = |step: &str| format!("{PARAM_PREFIX}{step}");
    let step = Step::parse(event.action_custom_parameter.as_deref());
    let machine = event.data.answered_by_any(&flow.hangup_when_answered_by);
    let give_up = || match &flow.goodbye {
        Some(g) => act(g.verb(), p("goodbye")),
        None => act(Verb::hangup(), p("hangup")),
    };
    let prompt = |attempt: u32| {
        let prompt = if attempt == 0 {
            &flow.greeting
        } else {
            flow.retry_prompt.as_ref().unwrap_or(&flow.greeting)
        };
        act(prompt.verb(), p(&format!("greeting:{attempt}")))
    };
    let retry_or_give_up = |attempt: u32| {
        if attempt < flow.max_retries {
            prompt(attempt + 1)
        } else {
            give_up()
        }
    };

    match event.name() {
        Some(EventName::ChannelCreated)
            if flow.answer_inbound
                && event
                    .data
                    .direction
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case("inbound")) =>
        {
            act(Verb::answer(), p("answer"))
        }
        Some(EventName::LegAnswered) if machine => act(Verb::hangup(), p("amd")),
        Some(EventName::LegAnswered) => prompt(0),
        Some(EventName::AmdResultSuccess) if machine => act(Verb::hangup(), p("amd")),
        Some(EventName::SayCompleted | EventName::PlayCompleted) => match step {
            Some(Step::Greeting(n)) => {
                act(Verb::Gather(gather(&flow.gather)), p(&format!("menu:{n}")))
            }
            Some(Step::Goodbye) => act(Verb::hangup(), p("hangup")),
            _ => Vec::new(),
        },
        // A greeting that cannot be played must not strand the caller.
        Some(EventName::SayFailedToStart | EventName::PlayFailedToStart) => match step {
            Some(Step::Greeting(n)) => {
                act(Verb::Gather(gather(&flow.gather)), p(&format!("menu:{n}")))
            }
            Some(Step::Goodbye) => act(Verb::hangup(), p("hangup")),
            _ => Vec::new(),
        },
        Some(EventName::GatherSuccess) => match step {
            Some(Step::Menu(n)) => match route(event, flow, cfg, now_ms) {
                Routed::Dial(dial) => act(Verb::Dial(dial), p("dial")),
                Routed::Retry => retry_or_give_up(n),
                Routed::GiveUp => give_up(),
            },
            _ => Vec::new(),
        },
        Some(EventName::GatherFailed) => match step {
            Some(Step::Menu(n)) => retry_or_give_up(n),
            _ => Vec::new(),
        },
        Some(EventName::DialFailed) if step == Some(Step::Dial) => give_up(),
        _ => Vec::new(),
    }
}

fn gather(g: &GatherSettings) -> Gather {
    Gather {
        num_digits: g.num_digits,
        timeout_in_sec: g.timeout_in_sec,
        finish_on_key: g.finish_on_key.clone(),
    }
}

/// Where gathered digits lead.
enum Routed {
    /// Dial this.
    Dial(Dial),
    /// The input matched no route: ask again.
    Retry,
    /// Nobody to dial (no caller ID, a blocked caller, a closed line).
    GiveUp,
}

/// Whom the gathered digits dial, from this leg's ExoPhone: `routes[digits]`,
/// or with no routes the routing model's choice ([`routed_agent`]).
fn route(event: &Event, flow: &EventsFlow, cfg: &Config, now_ms: i64) -> Routed {
    let exophone = event
        .data
        .exophone
        .as_deref()
        .and_then(|e| Destination::try_from(e).ok())
        .or_else(|| flow.exophone.clone());
    let Some(exophone) = exophone else {
        return Routed::GiveUp;
    };
    let to = if flow.routes.is_empty() {
        match routed_agent(event, cfg, &exophone, now_ms) {
            Some(to) => to,
            None => return Routed::GiveUp,
        }
    } else {
        match event.data.digits().and_then(|d| flow.routes.get(d)) {
            Some(to) => to.clone(),
            None => return Routed::Retry,
        }
    };
    let network = if to.is_sip() {
        NetworkType::Voip
    } else {
        NetworkType::Pstn
    };
    let mut dial = Dial::new(to.as_str(), exophone.as_str()).network_type(network);
    dial.absorb_dtmf = flow.absorb_dtmf;
    Routed::Dial(dial)
}

/// The agent the routing model gives this call, as the Connect applet would
/// be answered for it (the leg's `contact_uri` as the caller, the gathered
/// digits for the line's menu), without routing state: a group's first
/// agent in its stateless order. `None` when the model would dial nobody.
/// `<Dial>` takes one destination, so the first of the answer's is used.
fn routed_agent(
    event: &Event,
    cfg: &Config,
    exophone: &Destination,
    now_ms: i64,
) -> Option<Destination> {
    let answer = routing::plan_connect(cfg, call_of(event, exophone), now_ms)
        .stateless()
        .ok()?;
    answer.destination.numbers.as_slice().first().cloned()
}

/// What routing reads about the leg's call, as a callback's parameters
/// would carry it: the caller trimmed (empty is none), the digits without
/// Exotel's quotes.
fn call_of<'a>(event: &'a Event, exophone: &'a Destination) -> Call<'a> {
    Call {
        exophone: Some(exophone.as_str()),
        caller: event
            .data
            .contact_uri
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty()),
        digits: event.data.digits().and_then(unquote_digits),
    }
}

/// Whether `s` can be put in an API path as a sid: Exotel's sids are
/// alphanumeric; anything else is refused rather than escaped.
pub fn is_sid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The `Authorization` value for Exotel's API: Basic `key:token`.
pub fn basic_auth(key: &str, token: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{token}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LINE: &str = "+918047115777";
    /// Monday 2024-12-02 11:30 IST: config/example.json's main line is open.
    const NOW: i64 = 1_733_119_200_000;
    /// Sunday 2024-12-01 11:30 IST: closed.
    const SUNDAY: i64 = 1_733_032_800_000;

    fn cfg() -> Config {
        Config::from_json(crate::DEFAULT_CONFIG).unwrap()
    }

    fn flow(routes: serde_json::Value) -> EventsFlow {
        serde_json::from_value(json!({
            "greeting": { "text": "Welcome to Acme. Press 1 for sales, 2 for support." },
            "retry_prompt": { "text": "Sorry, please press 1 or 2." },
            "goodbye": { "text": "Goodbye." },
            "gather": { "num_digits": 1, "timeout_in_sec": 10, "finish_on_key": "#" },
            "routes": routes,
            "max_retries": 1
        }))
        .unwrap()
    }

    fn event(name: &str, param: Option<&str>, data: serde_json::Value) -> Event {
        let mut v = json!({
            "event_sid": "2q47dipYPQbEnwgEnNWxrTB6Ywb00000",
            "event_type": "leg_action_event",
            "event_name": name,
            "event_timestamp": { "seconds": 1733148727, "nanos": 963868626 },
            "data": data,
        });
        if let Some(p) = param {
            v["action_custom_parameter"] = p.into();
        }
        serde_json::from_value(v).unwrap()
    }

    fn leg(extra: serde_json::Value) -> serde_json::Value {
        let mut d = json!({ "leg_sid": "LEG1", "account_sid": "acme", "exophone": "08047115777", "direction": "inbound" });
        if let (Some(d), Some(e)) = (d.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        d
    }

    /// The single action's (exoml, custom param), for comparing.
    fn one(actions: Vec<Action>) -> (String, String) {
        one_for("LEG1", actions)
    }

    fn one_for(leg: &str, actions: Vec<Action>) -> (String, String) {
        assert_eq!(actions.len(), 1, "{actions:?}");
        let Action::PostLegAction(a) = &actions[0];
        assert_eq!(a.leg_sid, leg);
        let r = a.request().unwrap();
        (r.exoml, r.action_custom_param.unwrap())
    }

    fn xml(inner: &str) -> String {
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Flow>{inner}</Flow>"#)
    }

    #[test]
    fn parses_the_seed_sample_in_both_json_spellings() {
        // seed 1026-1063, as proto-gateway posts it (names preserved).
        let snake = br#"{"event_sid":"2q47dipYPQbEnwgEnNWxrTB6Ywb00000","event_type":"leg_lifecycle_event",
            "event_name":"channel_created","event_timestamp":{"seconds":"1733148727","nanos":963868626},
            "action_sid":"2pfe09kg9YCqUJlbgHjYH2GaJa400000","action_custom_parameter":"START_UNI_STREAM_ACTION_CUSTOM_PARAM",
            "data":{"account_sid":"sprinklr2m","caller_id":"08030752501","contact_uri":"09163816622","custom_param":"abc",
            "dc_code":"101","direction":"outbound","exophone":"08030752400","leg_sid":"2q47dakkScvff1IbPdpp7KJSe6j00000",
            "network_type":"pstn","state":"created","time_limit":14400.0}}"#;
        let e = Event::from_json(snake).unwrap();
        assert_eq!(e.name(), Some(EventName::ChannelCreated));
        assert_eq!(
            e.event_timestamp,
            Some(EventTimestamp {
                seconds: 1733148727,
                nanos: 963868626
            })
        );
        assert_eq!(
            e.data.leg_sid.as_deref(),
            Some("2q47dakkScvff1IbPdpp7KJSe6j00000")
        );
        assert_eq!(e.data.state.as_deref(), Some("created"));
        assert_eq!(e.data.extra["dc_code"], "101");
        // lowerCamelCase with an RFC 3339 Timestamp, as protobuf JSON prints by default.
        let camel = br#"{"eventSid":"S1","eventType":"leg_action_event","eventName":"gather_success",
            "eventTimestamp":"2024-12-02T14:12:07.963868626Z","actionCustomParameter":"exoedge:menu:0",
            "data":{"legSid":"L1","digits":"\"12\""}}"#;
        let e = Event::from_json(camel).unwrap();
        assert_eq!(
            e.event_timestamp,
            Some(EventTimestamp {
                seconds: 1733148727,
                nanos: 963868626
            })
        );
        assert_eq!(e.data.digits(), Some("12"));
        assert_eq!(e.action_custom_parameter.as_deref(), Some("exoedge:menu:0"));
    }

    #[test]
    fn parses_what_proto_gateway_prints() {
        // prost-reflect with proto field names and defaults emitted (see
        // proto-gateway/src/convert.rs): empty strings, an RFC 3339
        // Timestamp, and unset messages as null.
        let body = br#"{"event_sid":"ev1","event_type":"leg_lifecycle_event","event_name":"leg_terminated",
            "event_timestamp":null,"action_sid":"","action_custom_parameter":"","data":null}"#;
        let e = Event::from_json(body).unwrap();
        assert_eq!((e.event_timestamp, e.data.leg_sid.as_deref()), (None, None));
        assert_eq!(e.action_custom_parameter.as_deref(), Some(""));
        let body = br#"{"event_sid":"ev1","event_type":"leg_action_event","event_name":"leg_answered",
            "event_timestamp":"2024-12-02T14:12:07.963868626Z","action_sid":"act1","action_custom_parameter":"",
            "data":{"leg_sid":"leg9","state":"answered"}}"#;
        let e = Event::from_json(body).unwrap();
        assert_eq!(e.data.leg_sid.as_deref(), Some("leg9"));
        let f = flow(json!({}));
        let (x, _) = one_for("leg9", decide(&e, &f, &cfg(), NOW));
        assert!(x.contains("<Say>"), "{x}");
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!(matches!(
            Event::from_json(b"{"),
            Err(EventError::BadJson(_))
        ));
        assert!(matches!(
            Event::from_json(br#"{"event_name":"x"}"#),
            Err(EventError::BadJson(_))
        ));
        assert!(matches!(
            Event::from_json(br#"{"event_sid":"","event_name":"x"}"#),
            Err(EventError::MissingField)
        ));
        assert!(matches!(
            Event::from_json(&vec![b' '; MAX_EVENT_BYTES + 1]),
            Err(EventError::TooLarge)
        ));
        assert!(Event::from_json(
            br#"{"event_sid":"a","event_name":"x","event_timestamp":"yesterday"}"#
        )
        .is_err());
        // Unknown names parse (they are acknowledged and ignored), but are not documented names.
        assert_eq!(
            Event::from_json(br#"{"event_sid":"a","event_name":"brand_new"}"#)
                .unwrap()
                .name(),
            None
        );
    }

    #[test]
    fn every_documented_name_round_trips() {
        // The unique names of the seed's tables (1955-2114, 2797-2852) plus
        // the lifecycle names of 716-721 and the sample at 1030.
        let seed = "answer_failed dial_completed dial_failed dial_initiated dial_success digits_failed_to_send \
            digits_sent gather_failed gather_initiated gather_interrupted gather_started gather_success hangup_failed \
            hold_failed hold_success leg_answered leg_failed_to_join_bridge leg_failed_to_leave_bridge leg_joined_bridge \
            leg_left_bridge leg_terminated monitoring_failed monitoring_failed_to_stop monitoring_initiated \
            monitoring_started monitoring_stopped mute_failed mute_success play_completed play_failed_to_start \
            play_failed_to_stop play_interrupted play_started recording_available recording_failed_to_start \
            recording_failed_to_stop recording_started recording_stopped referred say_completed say_failed_to_start \
            say_failed_to_stop say_interrupted say_started stream_failed stream_failed_to_stop stream_initiated \
            stream_started stream_stopped unhold_failed unhold_success unmute_failed unmute_success \
            channel_created leg_connecting leg_ringing amd_result_success leg_failed_to_create";
        let names: Vec<&str> = seed.split_whitespace().collect();
        for n in &names {
            assert_eq!(EventName::parse(n).map(|e| e.as_str()), Some(*n), "{n}");
        }
        assert_eq!(EventName::ALL.len(), names.len());
        assert_eq!(EventName::parse("LEG_ANSWERED"), None);
    }

    #[test]
    fn answered_says_the_greeting_then_gathers() {
        let (c, f) = (cfg(), flow(json!({})));
        let (x, p) = one(decide(
            &event("leg_answered", None, leg(json!({ "state": "connected" }))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            x,
            xml("<Say>Welcome to Acme. Press 1 for sales, 2 for support.</Say>")
        );
        assert_eq!(p, "exoedge:greeting:0");
        let (x, p) = one(decide(
            &event("say_completed", Some(&p), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            x,
            xml(r##"<Gather numDigits="1" timeoutInSec="10" finishOnKey="#"></Gather>"##)
        );
        assert_eq!(p, "exoedge:menu:0");
    }

    #[test]
    fn gather_success_dials_the_routed_agent() {
        let c = cfg();
        // No routes: the line's Connect destination (config/default.json).
        let (x, p) = one(decide(
            &event(
                "gather_success",
                Some("exoedge:menu:0"),
                leg(json!({ "digits": "\"5\"" })),
            ),
            &flow(json!({})),
            &c,
            NOW,
        ));
        assert_eq!(
            x,
            xml(
                r#"<Dial contactUri="+919812345678" exophone="+918047115777" networkType="pstn"></Dial>"#
            )
        );
        assert_eq!(p, "exoedge:dial");
        // Routes by digits, SIP agents dialled over VoIP.
        let f = flow(json!({ "1": "+919800000001", "2": "sip:alice" }));
        let (x, _) = one(decide(
            &event(
                "gather_success",
                Some("exoedge:menu:0"),
                leg(json!({ "digits": "2" })),
            ),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            x,
            xml(
                r#"<Dial contactUri="sip:alice" exophone="+918047115777" networkType="voip"></Dial>"#
            )
        );
        // A number in a Struct arrives as a float.
        let (x, _) = one(decide(
            &event(
                "gather_success",
                Some("exoedge:menu:0"),
                leg(json!({ "digits": 1.0 })),
            ),
            &f,
            &c,
            NOW,
        ));
        assert!(x.contains(r#"contactUri="+919800000001""#), "{x}");
        let _ = LINE;
    }

    #[test]
    fn without_routes_the_routing_model_picks_the_agent() {
        // config/example.json: main line with an IVR menu (1 sales, 2 support,
        // else support), agent groups, VIP and blocked callers, business hours.
        let mut c = Config::from_json(include_str!("../../config/example.json")).unwrap();
        c.events = Some(flow(json!({})));
        let f = c.events.clone().unwrap();
        let gathered = |digits: &str, caller: &str, now: i64| {
            let data = leg(json!({ "digits": digits, "contact_uri": caller }));
            decide(
                &event("gather_success", Some("exoedge:menu:0"), data),
                &f,
                &c,
                now,
            )
        };
        let dial_to = |actions: Vec<Action>| {
            let (x, p) = one(actions);
            assert_eq!(p, "exoedge:dial", "{x}");
            x.split("contactUri=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            dial_to(gathered("1", "09900112233", NOW)),
            "+919800000001",
            "sales, round robin from the start"
        );
        assert_eq!(
            dial_to(gathered("2", "09900112233", NOW)),
            "+919800000011",
            "support"
        );
        assert_eq!(
            dial_to(gathered("9", "09900112233", NOW)),
            "+919800000011",
            "invalid input goes to support"
        );
        assert_eq!(
            dial_to(gathered("1", "09888888888", NOW)),
            "+919800000021",
            "VIPs skip the menu"
        );
        assert_eq!(
            dial_to(gathered("1", "09900112233", SUNDAY)),
            "+919800000031",
            "closed: the night group"
        );
        // A blocked caller, and a line that dials nobody while closed: no retry, goodbye.
        let (x, _) = one(gathered("1", "+919999999999", NOW));
        assert_eq!(x, xml("<Say>Goodbye.</Say>"));
        let data =
            leg(json!({ "digits": "1", "contact_uri": "09900112233", "exophone": "08047115778" }));
        let (x, _) = one(decide(
            &event("gather_success", Some("exoedge:menu:0"), data),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Say>Goodbye.</Say>"));
    }

    /// The events flow routes on the same facts a callback with the leg's
    /// ExoPhone, caller and digits in its query would give.
    #[test]
    fn an_event_is_routed_on_the_facts_a_callback_would_carry() {
        let exophone = Destination::try_from("08047115777").unwrap();
        let cases = [
            json!({ "contact_uri": "09900112233", "digits": "\"1\"" }),
            json!({ "contact_uri": "  +919900112233 ", "digits": " 2 " }),
            json!({ "contact_uri": "sip:alice", "digits": "\" 12 \"" }),
            json!({ "contact_uri": "   ", "digits": "\"\"" }),
            json!({ "digits": 7 }),
            json!({}),
        ];
        for data in cases {
            let ev = event("gather_success", Some("exoedge:menu:0"), leg(data.clone()));
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("CallSid", "LEG1");
            q.append_pair("CallTo", exophone.as_str());
            if let Some(c) = ev.data.contact_uri.as_deref() {
                q.append_pair("CallFrom", c);
            }
            if let Some(d) = ev.data.digits() {
                q.append_pair("digits", d);
            }
            let p = crate::params::CallParams::from_query(&q.finish()).unwrap();
            assert_eq!(call_of(&ev, &exophone), Call::from(&p), "{data}");
        }
    }

    #[test]
    fn bad_input_retries_then_says_goodbye_and_hangs_up() {
        let (c, f) = (cfg(), flow(json!({ "1": "+919800000001" })));
        let (x, p) = one(decide(
            &event(
                "gather_success",
                Some("exoedge:menu:0"),
                leg(json!({ "digits": "9" })),
            ),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            (x, p.as_str()),
            (
                xml("<Say>Sorry, please press 1 or 2.</Say>"),
                "exoedge:greeting:1"
            )
        );
        let (_, p) = one(decide(
            &event("say_completed", Some(&p), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(p, "exoedge:menu:1");
        let (x, p) = one(decide(
            &event("gather_failed", Some(&p), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            (x, p.as_str()),
            (xml("<Say>Goodbye.</Say>"), "exoedge:goodbye")
        );
        let (x, _) = one(decide(
            &event("say_completed", Some(&p), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Hangup></Hangup>"));
        // Without a goodbye, straight to Hangup; a failed dial gives up too.
        let f = EventsFlow { goodbye: None, ..f };
        let (x, _) = one(decide(
            &event("gather_failed", Some("exoedge:menu:1"), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Hangup></Hangup>"));
        let (x, _) = one(decide(
            &event("dial_failed", Some("exoedge:dial"), leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Hangup></Hangup>"));
    }

    #[test]
    fn machines_are_hung_up_on() {
        let (c, f) = (cfg(), flow(json!({})));
        let (x, _) = one(decide(
            &event(
                "leg_answered",
                None,
                leg(json!({ "answered_by": "MACHINE" })),
            ),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Hangup></Hangup>"));
        let (x, _) = one(decide(
            &event(
                "amd_result_success",
                None,
                leg(json!({ "answered_by": "machine" })),
            ),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Hangup></Hangup>"));
        assert!(decide(
            &event(
                "amd_result_success",
                None,
                leg(json!({ "answered_by": "HUMAN" }))
            ),
            &f,
            &c,
            NOW
        )
        .is_empty());
        let (x, _) = one(decide(
            &event("leg_answered", None, leg(json!({ "answered_by": "HUMAN" }))),
            &f,
            &c,
            NOW,
        ));
        assert!(x.contains("<Say>"), "{x}");
    }

    #[test]
    fn inbound_legs_are_answered_and_others_left_alone() {
        let (c, f) = (cfg(), flow(json!({})));
        let (x, _) = one(decide(
            &event("channel_created", None, leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Answer></Answer>"));
        assert!(decide(
            &event(
                "channel_created",
                None,
                leg(json!({ "direction": "outbound" }))
            ),
            &f,
            &c,
            NOW
        )
        .is_empty());
        let off = EventsFlow {
            answer_inbound: false,
            ..f.clone()
        };
        assert!(decide(
            &event("channel_created", None, leg(json!({}))),
            &off,
            &c,
            NOW
        )
        .is_empty());
        // Someone else's actions, bridge events and unknown names: nothing.
        assert!(decide(
            &event("say_completed", Some("theirs"), leg(json!({}))),
            &f,
            &c,
            NOW
        )
        .is_empty());
        assert!(decide(
            &event("gather_success", None, leg(json!({ "digits": "1" }))),
            &f,
            &c,
            NOW
        )
        .is_empty());
        assert!(decide(
            &event("leg_answered", None, json!({ "bridge_sid": "B1" })),
            &f,
            &c,
            NOW
        )
        .is_empty());
        assert!(decide(
            &event("brand_new", Some("exoedge:menu:0"), leg(json!({}))),
            &f,
            &c,
            NOW
        )
        .is_empty());
    }

    #[test]
    fn the_config_carries_an_optional_events_section() {
        assert_eq!(cfg().events, None);
        let mut v: serde_json::Value = serde_json::from_str(crate::DEFAULT_CONFIG).unwrap();
        v["events"] = json!({ "greeting": { "text": "Hi" }, "routes": { "1": "09800000001" } });
        let c = Config::from_json(&v.to_string()).unwrap();
        let f = c.events.as_ref().unwrap();
        assert_eq!(f.routes["1"].as_str(), "+919800000001");
        v["events"] = json!({ "greeting": { "text": "Hi" }, "routes": { "1": "x" } });
        let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(e.contains("events.routes"), "{e}");
    }

    #[test]
    fn prompts_escape_and_audio_plays() {
        let c = cfg();
        let f: EventsFlow = serde_json::from_value(
            json!({ "greeting": { "audio_url": "https://example.com/a.wav?x=1&y=2" } }),
        )
        .unwrap();
        assert_eq!(f.max_retries, 1);
        assert!(f.answer_inbound);
        let (x, _) = one(decide(
            &event("leg_answered", None, leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(
            x,
            xml("<StartPlay>https://example.com/a.wav?x=1&amp;y=2</StartPlay>")
        );
        let f: EventsFlow =
            serde_json::from_value(json!({ "greeting": { "text": "Tom & Jerry <3" } })).unwrap();
        let (x, _) = one(decide(
            &event("leg_answered", None, leg(json!({}))),
            &f,
            &c,
            NOW,
        ));
        assert_eq!(x, xml("<Say>Tom &amp; Jerry &lt;3</Say>"));
        // Config mistakes are errors, not surprises.
        assert!(serde_json::from_value::<EventsFlow>(
            json!({ "greeting": { "text": "x" }, "routes": { "1": "nobody" } })
        )
        .is_err());
        assert!(serde_json::from_value::<EventsFlow>(
            json!({ "greeting": { "text": "x" }, "typo": 1 })
        )
        .is_err());
    }

    #[test]
    fn sids_and_auth() {
        assert!(is_sid("2q47dakkScvff1IbPdpp7KJSe6j00000"));
        assert!(!is_sid("../x") && !is_sid("") && !is_sid("a/b") && !is_sid(&"a".repeat(65)));
        assert_eq!(basic_auth("key", "token"), "Basic a2V5OnRva2Vu");
    }
}
