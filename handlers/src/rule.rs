//! Conditions on a call's parameters, shared by every decision that branches:
//! a condition matches when all of its given fields match.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::params::{AnsweredBy, CallParams, CallType, DialCallStatus};
use crate::phone;

/// What the router knows besides the request: computed from config and the
/// clock, so rules can test them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The line is within its business hours.
    pub open: bool,
    /// The caller is on the VIP list.
    pub vip: bool,
    /// The caller is on the block list.
    pub blocked: bool,
}

impl Default for Facts {
    /// A line without hours is open; nobody is listed.
    fn default() -> Self {
        Self {
            open: true,
            vip: false,
            blocked: false,
        }
    }
}

/// A test on the request. Empty matches everything.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The caller pressed exactly one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digits_in: Vec<String>,
    /// The caller's input has this many digits (e.g. 10 for a phone number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits_len: Option<u8>,
    /// Whether any digits arrived at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_digits: Option<bool>,
    /// The previous Connect ended so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dial_call_status_in: Vec<String>,
    /// `CallType` is one of these (call-attempt, completed, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_type_in: Vec<String>,
    /// AMD said HUMAN, MACHINE, NOTSURE or NA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answered_by_in: Vec<String>,
    /// The caller is one of these numbers (any of Exotel's forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caller_in: Vec<String>,
    /// The customer's own URL parameters equal these (`event=ivr`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// `CustomField` equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_field: Option<String>,
    /// The line is (or is not) within business hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    /// The caller is (or is not) a VIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<bool>,
}

impl Condition {
    /// Whether the request and facts satisfy every given field.
    pub fn matches(&self, p: &CallParams, facts: &Facts) -> bool {
        if self.open.is_some_and(|o| o != facts.open) || self.vip.is_some_and(|v| v != facts.vip) {
            return false;
        }
        let digits = p.digits.as_deref();
        if !self.digits_in.is_empty()
            && !digits.is_some_and(|d| self.digits_in.iter().any(|x| x == d))
        {
            return false;
        }
        if let Some(n) = self.digits_len {
            let ok = digits.is_some_and(|d| {
                d.len() == usize::from(n) && d.bytes().all(|b| b.is_ascii_digit())
            });
            if !ok {
                return false;
            }
        }
        if let Some(want) = self.has_digits {
            if digits.is_some() != want {
                return false;
            }
        }
        if !self.dial_call_status_in.is_empty() {
            let got = p.dial_call_status.as_ref().map(dial_status_name);
            if !got.is_some_and(|g| {
                self.dial_call_status_in
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(g))
            }) {
                return false;
            }
        }
        if !self.call_type_in.is_empty() {
            let got = p.call_type.as_ref().map(call_type_name);
            if !got.is_some_and(|g| self.call_type_in.iter().any(|x| x.eq_ignore_ascii_case(g))) {
                return false;
            }
        }
        if !self.answered_by_in.is_empty() {
            let got = p.answered_by().map(answered_by_name);
            if !got.is_some_and(|g| {
                self.answered_by_in
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(g))
            }) {
                return false;
            }
        }
        if !self.caller_in.is_empty() {
            let caller = p.caller().and_then(phone::normalize);
            let hit = caller.is_some_and(|c| {
                self.caller_in
                    .iter()
                    .any(|x| phone::normalize(x).as_deref() == Some(&c))
            });
            if !hit {
                return false;
            }
        }
        if let Some(cf) = &self.custom_field {
            if p.custom_field.as_deref() != Some(cf.as_str()) {
                return false;
            }
        }
        self.params.iter().all(|(k, v)| p.extra.get(k) == Some(v))
    }
}

fn dial_status_name(s: &DialCallStatus) -> &'static str {
    match s {
        DialCallStatus::Completed => "completed",
        DialCallStatus::Busy => "busy",
        DialCallStatus::NoAnswer => "no-answer",
        DialCallStatus::Failed => "failed",
        DialCallStatus::Canceled => "canceled",
        DialCallStatus::Other => "other",
    }
}

fn call_type_name(t: &CallType) -> &str {
    match t {
        CallType::CallAttempt => "call-attempt",
        CallType::Completed => "completed",
        CallType::ClientHangup => "client-hangup",
        CallType::Incomplete => "incomplete",
        CallType::Voicemail => "voicemail",
        CallType::Other(s) => s,
    }
}

fn answered_by_name(a: AnsweredBy) -> &'static str {
    match a {
        AnsweredBy::Human => "HUMAN",
        AnsweredBy::Machine => "MACHINE",
        AnsweredBy::NotSure => "NOTSURE",
        AnsweredBy::NotApplicable => "NA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> CallParams {
        CallParams::from_query(q).unwrap()
    }

    #[test]
    fn all_given_fields_must_match() {
        let c: Condition =
            serde_json::from_str(r#"{"digits_in": ["1", "2"], "params": {"event": "ivr"}}"#)
                .unwrap();
        assert!(c.matches(
            &params("CallSid=a&digits=%221%22&event=ivr"),
            &Facts::default()
        ));
        assert!(!c.matches(
            &params("CallSid=a&digits=%223%22&event=ivr"),
            &Facts::default()
        ));
        assert!(!c.matches(&params("CallSid=a&digits=%221%22"), &Facts::default()));
        assert!(Condition::default().matches(&params("CallSid=a"), &Facts::default()));
    }

    #[test]
    fn facts_open_and_vip() {
        let c: Condition = serde_json::from_str(r#"{"open": false}"#).unwrap();
        let closed = Facts {
            open: false,
            ..Facts::default()
        };
        assert!(c.matches(&params("CallSid=a"), &closed));
        assert!(!c.matches(&params("CallSid=a"), &Facts::default()));
        let v: Condition = serde_json::from_str(r#"{"vip": true}"#).unwrap();
        assert!(v.matches(
            &params("CallSid=a"),
            &Facts {
                vip: true,
                ..Facts::default()
            }
        ));
        assert!(!v.matches(&params("CallSid=a"), &Facts::default()));
    }

    #[test]
    fn digits_len_validates_phone_input() {
        let c = Condition {
            digits_len: Some(10),
            ..Default::default()
        };
        assert!(c.matches(
            &params("CallSid=a&digits=%229900112233%22"),
            &Facts::default()
        ));
        assert!(!c.matches(
            &params("CallSid=a&digits=%22990011223%22"),
            &Facts::default()
        ));
        assert!(!c.matches(
            &params("CallSid=a&digits=%22990011223*%22"),
            &Facts::default()
        ));
        assert!(!c.matches(&params("CallSid=a"), &Facts::default()));
    }

    #[test]
    fn caller_and_amd_and_status() {
        let c: Condition = serde_json::from_str(r#"{"caller_in": ["+919900112233"], "answered_by_in": ["human"], "dial_call_status_in": ["completed"]}"#).unwrap();
        assert!(c.matches(
            &params(
                "CallSid=a&CallFrom=09900112233&DialCallStatus=completed&Legs[0][AnsweredBy]=HUMAN"
            ),
            &Facts::default()
        ));
        assert!(!c.matches(
            &params(
                "CallSid=a&CallFrom=09900112234&DialCallStatus=completed&Legs[0][AnsweredBy]=HUMAN"
            ),
            &Facts::default()
        ));
        assert!(!c.matches(
            &params("CallSid=a&CallFrom=09900112233&DialCallStatus=busy&Legs[0][AnsweredBy]=HUMAN"),
            &Facts::default()
        ));
    }
}
