//! Conditions on a call's parameters, shared by every decision that branches:
//! a condition matches when all of its given fields match.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::params::{AnsweredBy, CallParams, CallType, DialCallStatus};
use crate::phone;

/// A test on the request. Empty matches everything.
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
}

impl Condition {
    /// Whether the request satisfies every given field.
    pub fn matches(&self, p: &CallParams) -> bool {
        let digits = p.digits.as_deref();
        if !self.digits_in.is_empty() && !digits.is_some_and(|d| self.digits_in.iter().any(|x| x == d)) {
            return false;
        }
        if let Some(n) = self.digits_len {
            let ok = digits.is_some_and(|d| d.len() == usize::from(n) && d.bytes().all(|b| b.is_ascii_digit()));
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
            if !got.is_some_and(|g| self.dial_call_status_in.iter().any(|x| x.eq_ignore_ascii_case(g))) {
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
            if !got.is_some_and(|g| self.answered_by_in.iter().any(|x| x.eq_ignore_ascii_case(g))) {
                return false;
            }
        }
        if !self.caller_in.is_empty() {
            let caller = p.caller().and_then(phone::normalize);
            let hit = caller.is_some_and(|c| self.caller_in.iter().any(|x| phone::normalize(x).as_deref() == Some(&c)));
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
        let c: Condition = serde_json::from_str(r#"{"digits_in": ["1", "2"], "params": {"event": "ivr"}}"#).unwrap();
        assert!(c.matches(&params("CallSid=a&digits=%221%22&event=ivr")));
        assert!(!c.matches(&params("CallSid=a&digits=%223%22&event=ivr")));
        assert!(!c.matches(&params("CallSid=a&digits=%221%22")));
        assert!(Condition::default().matches(&params("CallSid=a")));
    }

    #[test]
    fn digits_len_validates_phone_input() {
        let c = Condition { digits_len: Some(10), ..Default::default() };
        assert!(c.matches(&params("CallSid=a&digits=%229900112233%22")));
        assert!(!c.matches(&params("CallSid=a&digits=%22990011223%22")));
        assert!(!c.matches(&params("CallSid=a&digits=%22990011223*%22")));
        assert!(!c.matches(&params("CallSid=a")));
    }

    #[test]
    fn caller_and_amd_and_status() {
        let c: Condition = serde_json::from_str(r#"{"caller_in": ["+919900112233"], "answered_by_in": ["human"], "dial_call_status_in": ["completed"]}"#).unwrap();
        assert!(c.matches(&params("CallSid=a&CallFrom=09900112233&DialCallStatus=completed&Legs[0][AnsweredBy]=HUMAN")));
        assert!(!c.matches(&params("CallSid=a&CallFrom=09900112234&DialCallStatus=completed&Legs[0][AnsweredBy]=HUMAN")));
        assert!(!c.matches(&params("CallSid=a&CallFrom=09900112233&DialCallStatus=busy&Legs[0][AnsweredBy]=HUMAN")));
    }
}
