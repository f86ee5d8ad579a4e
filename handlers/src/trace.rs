//! The per-call trace: what the edge answered for each callback, and why,
//! as rows the worker stores in D1 off the caller's path (docs/console.md).
//!
//! Everything here is pure: a row is built from the request's query, the
//! reply already sent and the config in force, after the answer left. The
//! reason comes from the routing plan itself ([`crate::decide::explain`]),
//! so the trace cannot disagree with the decision. Numbers are masked as in
//! the logs unless the config's `trace.full_numbers` says otherwise; the
//! callback token (in the path or Basic credentials) is never part of a row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::params::CallParams;
use crate::phone;
use crate::reply::Reply;
use crate::route::Route;
use crate::routing::{Explain, Why};

/// Longest body summary kept per row, in characters.
pub const MAX_SUMMARY_CHARS: usize = 600;

/// Longest value of a customer's own URL parameter kept; longer values are
/// replaced by their length, so a secret passed in a URL is not stored.
pub const MAX_EXTRA_VALUE_CHARS: usize = 24;

/// What a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An Exotel callback answered.
    Callback,
    /// A real-time event applied (`POST /events`).
    Event,
    /// An action posted to Exotel's API for an event.
    Action,
    /// A push relayed to a subscriber's devices.
    Push,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::Event => "event",
            Self::Action => "action",
            Self::Push => "push",
        }
    }
}

/// How an answer turned out, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A normal answer.
    Ok,
    /// Connect/dial-whom dialled nobody (blocked, closed, every agent offered).
    NoDial,
    /// The safe static answer (Exotel's Fallback URL, or config unavailable).
    Fallback,
    /// A request we refused or could not serve.
    Error,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NoDial => "no-dial",
            Self::Fallback => "fallback",
            Self::Error => "error",
        }
    }

    /// Every outcome, for the console's filter.
    pub const ALL: [Outcome; 4] = [Self::Ok, Self::NoDial, Self::Fallback, Self::Error];
}

/// Why the answer was what it was. Every field is optional: events and
/// pushes fill what applies to them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The line's name (or its masked ExoPhone; `default_line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Which rule of the routing model chose the answer (docs/routing.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The agent group dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The agents offered by this answer (masked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
    /// Whether the line was in hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    /// Caller on the VIP list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub vip: bool,
    /// Caller on the block list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocked: bool,
    /// Why a fallback or no-dial answer was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Greeting/playback: whether the caller's data filled the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalised: Option<bool>,
    /// Free text for events, actions and pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One stored row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Exotel's CallSid (or the leg/bridge sid of an event, the subscriber of a push).
    pub call_sid: String,
    /// When the request arrived (Unix ms).
    pub at_ms: i64,
    /// What the row records.
    pub kind: Kind,
    /// Route or event name (`connect`, `greeting`, `leg_answered`, ...).
    pub route: String,
    /// The line's name (filter key), else empty.
    pub line: String,
    /// The caller, masked unless `full_numbers`.
    pub caller: String,
    /// The caller's last four digits (the console's "last digits" filter).
    pub caller_last: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// How it turned out.
    pub outcome: Outcome,
    /// Milliseconds from request to answer as the runtime's clock saw it
    /// (Workers advance the clock only across I/O, so pure work reads 0).
    pub latency_ms: i64,
    /// The answer's body, numbers masked, cut at [`MAX_SUMMARY_CHARS`].
    pub summary: String,
    /// The parameters that mattered, numbers masked.
    pub params: BTreeMap<String, String>,
    /// Why.
    pub reason: Reason,
}

/// Masks numbers in values and free text as the logs do (last four digits
/// stay), or leaves them when the config allows full numbers.
#[derive(Debug, Clone, Copy)]
pub struct Masker {
    /// Keep numbers whole.
    pub full: bool,
}

impl Masker {
    /// One number (or `sip:user`).
    pub fn number(&self, raw: &str) -> String {
        if self.full {
            phone::log_safe(raw).into_owned()
        } else {
            phone::mask(raw)
        }
    }

    /// Free text: every run of 6 or more digits (a leading `+`, and spaces
    /// or dashes before a group of 3 or more digits, belong to the run)
    /// keeps its last four digits only,
    /// and `sip:user` keeps its first character.
    pub fn text(&self, raw: &str) -> String {
        let safe = phone::log_safe(raw);
        if self.full {
            return safe.into_owned();
        }
        let chars: Vec<char> = safe.chars().collect();
        let mut out = String::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit()
                || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            {
                let start = i;
                let mut j = i + 1;
                // A space or dash joins digit groups of 3 or more (`99001 12233`),
                // not dates (`2026-01-26`).
                let joins = |j: usize| {
                    matches!(chars[j], ' ' | '-')
                        && chars
                            .get(j + 1..j + 4)
                            .is_some_and(|g| g.iter().all(char::is_ascii_digit))
                };
                while j < chars.len() && (chars[j].is_ascii_digit() || joins(j)) {
                    j += 1;
                }
                let run: String = chars[start..j].iter().collect();
                let digits = run.chars().filter(char::is_ascii_digit).count();
                if digits >= 6 {
                    let mut seen = 0;
                    for ch in run.chars() {
                        if ch.is_ascii_digit() {
                            seen += 1;
                            out.push(if seen + 4 > digits { ch } else { '*' });
                        } else {
                            out.push(ch);
                        }
                    }
                } else {
                    out.push_str(&run);
                }
                i = j;
            } else if chars[i..].starts_with(&['s', 'i', 'p', ':']) {
                let mut j = i + 4;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric() || "._-+".contains(chars[j]))
                {
                    j += 1;
                }
                let user: String = chars[i + 4..j].iter().collect();
                out.push_str(&phone::mask(&format!("sip:{user}")));
                i = j;
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    }
}

/// The last four digits of a number, for the caller filter.
pub fn last_digits(raw: &str) -> String {
    let d: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    d[d.len().saturating_sub(4)..].iter().collect()
}

/// Cuts text at [`MAX_SUMMARY_CHARS`] characters.
pub fn summarize(m: &Masker, body: &str) -> String {
    let masked = m.text(body);
    if masked.chars().count() <= MAX_SUMMARY_CHARS {
        return masked;
    }
    let mut s: String = masked.chars().take(MAX_SUMMARY_CHARS).collect();
    s.push('…');
    s
}

/// The parameters a callback's decision read, masked. The customer's own
/// URL parameters are kept when short; longer ones only by their length.
pub fn masked_params(m: &Masker, p: &CallParams) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    put("CallFrom", p.caller().map(|n| m.number(n)));
    put("CallTo", p.exophone().map(|n| m.number(n)));
    put(
        "DialWhomNumber",
        p.dial_whom_number.as_deref().map(|n| m.number(n)),
    );
    put("digits", p.digits.as_deref().map(|d| m.text(d)));
    put("CallStatus", p.call_status.as_deref().map(|s| m.text(s)));
    put(
        "DialCallStatus",
        p.dial_call_status.as_ref().map(|s| format!("{s:?}")),
    );
    put("Direction", p.direction.as_ref().map(|d| format!("{d:?}")));
    put("EventType", p.event_type.as_deref().map(|s| m.text(s)));
    if !p.legs.is_empty() {
        let legs: Vec<String> = p
            .legs
            .iter()
            .map(|l| {
                l.number
                    .as_deref()
                    .map(|n| m.number(n))
                    .unwrap_or_else(|| "?".into())
            })
            .collect();
        put("Legs", Some(legs.join(", ")));
    }
    for (k, v) in &p.extra {
        if k.starts_with("__") {
            continue; // test hooks (test-clock build)
        }
        let key = phone::log_safe(k).chars().take(40).collect::<String>();
        let val = if v.chars().count() <= MAX_EXTRA_VALUE_CHARS {
            m.text(v)
        } else {
            format!("<{} chars>", v.chars().count())
        };
        out.insert(key, val);
    }
    out
}

/// Everything the worker knows about one answered callback.
#[derive(Debug, Clone)]
pub struct CallbackFacts<'a> {
    /// The route answered.
    pub route: Route,
    /// The request's query string (never the path: it may hold the token).
    pub query: &'a str,
    /// The reply sent.
    pub reply: &'a Reply,
    /// The config the answer was made with; `None` when none was available.
    pub config: Option<&'a Config>,
    /// The clock the decision read (Unix ms).
    pub now_ms: i64,
    /// Request to answer, in ms.
    pub latency_ms: i64,
}

/// Builds the row for one callback. `None` when the query names no call
/// (a request refused for its parameters has nothing to file it under).
pub fn callback_row(f: &CallbackFacts<'_>) -> Option<Row> {
    let p = CallParams::from_query(f.query).ok();
    let call_sid = match &p {
        Some(p) => p.call_sid.clone(),
        None => url::form_urlencoded::parse(f.query.as_bytes())
            .find(|(k, _)| k == "CallSid")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())?,
    };
    let m = Masker {
        full: f.config.is_some_and(|c| c.trace.full_numbers),
    };
    // Exotel called the Fallback URL: the answer is the static one.
    let fallback_url = crate::params::wants_fallback(f.query);
    let mut reason = Reason::default();
    let mut outcome = if f.reply.status >= 400 && f.reply.status != 403 {
        Outcome::Error
    } else {
        Outcome::Ok
    };
    if fallback_url {
        reason.fallback = Some("Exotel called the Fallback URL (?fallback=1)".into());
        outcome = Outcome::Fallback;
    }
    match (&p, f.config) {
        // A request that names no ExoPhone (a popup: `From` and the agent
        // only) has no line to explain; its row keeps the parameters.
        (Some(p), Some(_)) if p.exophone().is_none() && !fallback_url => {}
        (Some(p), Some(cfg)) if !fallback_url => {
            let kind = match f.route {
                Route::Connect => Explain::Connect,
                Route::DialWhom => Explain::DialWhom,
                _ => Explain::Other,
            };
            let why = crate::decide::explain(cfg, p, f.now_ms, kind);
            fill_from_plan(&mut reason, &why, &m, p);
            match f.route {
                Route::Connect | Route::DialWhom if f.reply.status == 403 => {
                    outcome = Outcome::NoDial;
                    reason.fallback =
                        error_message(&f.reply.body).or(why.no_dial.map(str::to_owned));
                }
                Route::Connect => reason.offered = offered_in_connect(&m, &f.reply.body),
                Route::DialWhom => {
                    reason.offered = f
                        .reply
                        .body
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|n| m.number(n))
                        .collect();
                }
                Route::Greeting => {
                    reason.personalised = Some(
                        f.reply.body
                            != crate::decide::greeting(cfg, p, f.now_ms, &BTreeMap::new()).body,
                    )
                }
                Route::Playback => {
                    reason.personalised = Some(
                        f.reply.body
                            != crate::decide::playback(cfg, p, f.now_ms, &BTreeMap::new()).body,
                    )
                }
                Route::Passthru => {
                    reason.detail = Some(if f.reply.status == 302 {
                        "else branch (302)".into()
                    } else {
                        "ok branch (200)".into()
                    })
                }
                _ => {}
            }
        }
        (Some(_), None) if !fallback_url => {
            reason.fallback = Some("config unavailable: the fallback answer served".into());
            outcome = Outcome::Fallback;
        }
        (None, _) => reason.detail = error_message(&f.reply.body),
        _ => {}
    }
    let caller = p.as_ref().and_then(|p| p.caller()).unwrap_or("");
    Some(Row {
        call_sid: phone::log_safe(&call_sid).chars().take(80).collect(),
        at_ms: f.now_ms,
        kind: Kind::Callback,
        route: f.route.name().into(),
        line: reason.line.clone().unwrap_or_default(),
        caller: if caller.is_empty() {
            String::new()
        } else {
            m.number(caller)
        },
        caller_last: last_digits(caller),
        status: f.reply.status,
        outcome,
        latency_ms: f.latency_ms.max(0),
        summary: summarize(&m, &f.reply.body),
        params: p.as_ref().map(|p| masked_params(&m, p)).unwrap_or_default(),
        reason,
    })
}

fn fill_from_plan(reason: &mut Reason, why: &Why, m: &Masker, p: &CallParams) {
    reason.line = Some(match &why.line_name {
        Some(n) => n.clone(),
        None if why.default_line => "default_line".into(),
        None => p
            .exophone()
            .map(|n| m.number(n))
            .unwrap_or_else(|| "default_line".into()),
    });
    reason.rule = Some(why.rule.to_owned());
    reason.group = why.group.clone();
    reason.open = Some(why.open);
    reason.vip = why.vip;
    reason.blocked = why.blocked;
}

fn error_message(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("error")?
        .as_str()
        .map(str::to_owned)
}

fn offered_in_connect(m: &Masker, body: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    v.pointer("/destination/numbers")
        .and_then(|n| n.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(|n| m.number(n))
                .collect()
        })
        .unwrap_or_default()
}

/// A row for an event applied or an action posted (`POST /events`), for
/// the events route to file with the worker's `trace::record`.
pub fn event_row(
    m: &Masker,
    kind: Kind,
    sid: &str,
    name: &str,
    at_ms: i64,
    status: u16,
    detail: &str,
) -> Row {
    Row {
        call_sid: phone::log_safe(sid).chars().take(80).collect(),
        at_ms,
        kind,
        route: phone::log_safe(name).chars().take(60).collect(),
        line: String::new(),
        caller: String::new(),
        caller_last: String::new(),
        status,
        outcome: if status >= 400 {
            Outcome::Error
        } else {
            Outcome::Ok
        },
        latency_ms: 0,
        summary: summarize(m, detail),
        params: BTreeMap::new(),
        reason: Reason {
            detail: Some(summarize(m, detail)),
            ..Reason::default()
        },
    }
}

/// A row for a push relayed: filed under the call sid the payload names
/// when there is one, else under the subscriber.
pub fn push_row(
    m: &Masker,
    call_sid: Option<&str>,
    subscriber: &str,
    at_ms: i64,
    status: u16,
    detail: &str,
) -> Row {
    let mut row = event_row(
        m,
        Kind::Push,
        call_sid.unwrap_or(subscriber),
        "push",
        at_ms,
        status,
        detail,
    );
    row.params.insert("subscriber".into(), m.number(subscriber));
    row
}

/// A row for a StatusCallback (`POST /exotel/status`): the call's outcome
/// as Exotel reports it.
pub fn status_row(m: &Masker, r: &crate::status::StatusReport, at_ms: i64, status: u16) -> Row {
    let mut params = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            params.insert(k.to_owned(), v);
        }
    };
    put("Status", r.status.as_deref().map(|s| m.text(s)));
    put("EventType", r.event_type.as_deref().map(|s| m.text(s)));
    put("From", r.from.as_deref().map(|n| m.number(n)));
    put("To", r.to.as_deref().map(|n| m.number(n)));
    put(
        "ConversationDuration",
        r.conversation_duration.map(|d| d.to_string()),
    );
    put(
        "DisconnectedBy",
        r.disconnected_by.as_deref().map(|s| m.text(s)),
    );
    put("AnsweredBy", Some(format!("{:?}", r.answered_by())));
    put(
        "Legs",
        (!r.legs.is_empty()).then(|| r.legs.len().to_string()),
    );
    let detail = format!(
        "call {} ({})",
        r.status
            .as_deref()
            .map(|s| m.text(s))
            .unwrap_or_else(|| "-".into()),
        r.event_type
            .as_deref()
            .map(|s| m.text(s))
            .unwrap_or_else(|| "-".into())
    );
    let mut row = event_row(
        m,
        Kind::Callback,
        &r.call_sid,
        "status",
        at_ms,
        status,
        &detail,
    );
    row.caller = r.from.as_deref().map(|n| m.number(n)).unwrap_or_default();
    row.caller_last = r.from.as_deref().map(last_digits).unwrap_or_default();
    row.params = params;
    row
}

/// A row for a push relayed to a subscriber's devices. The push body
/// names no call (its payload is opaque to us), so the row is filed under
/// `push:<subscriber>` (masked like a number when it is one).
pub fn push_outcome_row(
    m: &Masker,
    subscriber: &str,
    at_ms: i64,
    status: u16,
    outcomes: &[crate::push::DeviceOutcome],
) -> Row {
    let detail: Vec<String> = outcomes
        .iter()
        .map(|o| {
            let what = match &o.delivery {
                crate::push::PushOutcome::Accepted => "accepted".to_owned(),
                crate::push::PushOutcome::Unregistered => "unregistered (token removed)".to_owned(),
                crate::push::PushOutcome::Failed { reason } => format!("failed: {reason}"),
            };
            format!("{} ({:?}): {what}", o.device_id, o.platform)
        })
        .collect();
    let who = m.text(subscriber);
    push_row(
        m,
        Some(&format!("push:{who}")),
        subscriber,
        at_ms,
        status,
        &format!("{} device(s): {}", outcomes.len(), detail.join("; ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../config/default.json");
    const NOON_IST: i64 = 1_767_249_000_000; // 2026-01-01 12:00 IST, a Thursday

    fn row(route: Route, query: &str, reply: &Reply, full: bool) -> Row {
        let mut cfg = Config::from_json(DEFAULT).unwrap();
        cfg.trace.full_numbers = full;
        callback_row(&CallbackFacts {
            route,
            query,
            reply,
            config: Some(&cfg),
            now_ms: NOON_IST,
            latency_ms: 3,
        })
        .unwrap()
    }

    #[test]
    fn text_masking_keeps_last_four_digits() {
        let m = Masker { full: false };
        assert_eq!(m.text("call 09900112233 now"), "call *******2233 now");
        assert_eq!(m.text("+91 99001-12233"), "+** *****-*2233");
        assert_eq!(m.text("press 12345 then #"), "press 12345 then #");
        assert_eq!(m.text("holiday 2026-01-26"), "holiday 2026-01-26");
        assert_eq!(
            m.text(r#"{"numbers":["+919900112233","sip:alice"]}"#),
            r#"{"numbers":["+********2233","sip:a***"]}"#
        );
        assert_eq!(Masker { full: true }.text("09900112233"), "09900112233");
        assert_eq!(last_digits("+91 99001 12233"), "2233");
    }

    #[test]
    fn a_connect_row_has_the_plan_and_no_full_number() {
        let cfg = Config::from_json(DEFAULT).unwrap();
        let q = "CallSid=c1&CallFrom=09900112233&CallTo=08047115777&secret_param=abcdefghijklmnopqrstuvwxyz0123";
        let p = CallParams::from_query(q).unwrap();
        let reply = crate::decide::connect(&cfg, &p, NOON_IST);
        let r = row(Route::Connect, q, &reply, false);
        let all = serde_json::to_string(&r).unwrap();
        assert!(
            !all.contains("9900112233") && !all.contains("8047115777"),
            "{all}"
        );
        assert!(
            !all.contains("abcdefghijklmnopqrstuvwxyz"),
            "long customer values are not stored: {all}"
        );
        assert_eq!(r.caller_last, "2233");
        assert_eq!(r.call_sid, "c1");
        assert!(r.reason.rule.is_some() && r.reason.open.is_some(), "{r:?}");
        assert!(
            !r.reason.offered.is_empty() || r.outcome == Outcome::NoDial,
            "{r:?}"
        );
        let full = row(Route::Connect, q, &reply, true);
        assert!(serde_json::to_string(&full)
            .unwrap()
            .contains("09900112233"));
    }

    #[test]
    fn fallback_and_missing_config_are_reasons() {
        let reply = Reply::text(200, "Welcome");
        let r = callback_row(&CallbackFacts {
            route: Route::Greeting,
            query: "CallSid=c2&fallback=1",
            reply: &reply,
            config: None,
            now_ms: 0,
            latency_ms: 0,
        })
        .unwrap();
        assert_eq!(r.outcome, Outcome::Fallback);
        assert!(r.reason.fallback.unwrap().contains("Fallback URL"));
        let none = callback_row(&CallbackFacts {
            route: Route::Greeting,
            query: "x=1",
            reply: &reply,
            config: None,
            now_ms: 0,
            latency_ms: 0,
        });
        assert!(none.is_none(), "no CallSid: nothing to file the row under");
    }
}
