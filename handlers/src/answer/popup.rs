//! Agent popups from the Connect applet (seed 17923-17946): Exotel tells us
//! which agent is being dialled, rings, answers, and is free again. We answer
//! 200 and keep the event (it teaches sticky routing who talked to whom).

use crate::params::CallParams;
use crate::phone;
use crate::reply::Reply;

/// `EventType` of a popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopupEvent {
    /// The agent is being dialled.
    Dial,
    /// The agent's phone rings (when the operator reports it).
    Ringing,
    /// The agent picked up.
    Answered,
    /// The agent's leg ended.
    Terminal,
}

impl PopupEvent {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dial" => Some(Self::Dial),
            "ringing" => Some(Self::Ringing),
            "answered" => Some(Self::Answered),
            "terminal" => Some(Self::Terminal),
            _ => None,
        }
    }
}

/// A popup, read from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popup {
    /// The call.
    pub call_sid: String,
    /// The caller, normalised when it is a number.
    pub caller: Option<String>,
    /// The agent, normalised when it is a number.
    pub agent: Option<String>,
    /// `Status`: true while the agent is busy with this call.
    pub agent_busy: Option<bool>,
    /// `EventType`, when Exotel sent one we know.
    pub event: Option<PopupEvent>,
}

impl Popup {
    /// Reads the popup fields from the call's parameters.
    pub fn from_params(p: &CallParams) -> Self {
        let norm = |s: &str| phone::normalize(s).unwrap_or_else(|| s.to_owned());
        Self {
            call_sid: p.call_sid.clone(),
            caller: p.caller().map(norm),
            agent: p.dial_whom_number.as_deref().map(norm),
            agent_busy: p
                .status
                .as_deref()
                .and_then(|s| match s.to_ascii_lowercase().as_str() {
                    "busy" => Some(true),
                    "free" => Some(false),
                    _ => None,
                }),
            event: p.event_type.as_deref().and_then(PopupEvent::parse),
        }
    }

    /// The agent answered this caller: the moment sticky routing learns from.
    pub fn is_answer(&self) -> bool {
        self.event == Some(PopupEvent::Answered)
    }

    /// A log line with numbers masked.
    pub fn log_line(&self) -> String {
        format!(
            "popup call={} event={:?} busy={:?} caller={} agent={}",
            phone::log_safe(&self.call_sid),
            self.event,
            self.agent_busy,
            self.caller.as_deref().map(phone::mask).unwrap_or_default(),
            self.agent.as_deref().map(phone::mask).unwrap_or_default(),
        )
    }
}

/// Exotel only needs a 200.
pub fn reply() -> Reply {
    Reply::text(200, "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_popup() {
        let p = CallParams::from_query("CallSid=c1&From=09900112233&DialWhomNumber=09812345678&Status=busy&EventType=+Answered").unwrap();
        let pop = Popup::from_params(&p);
        assert_eq!(pop.event, Some(PopupEvent::Answered));
        assert_eq!(pop.agent_busy, Some(true));
        assert_eq!(pop.agent.as_deref(), Some("+919812345678"));
        assert!(pop.is_answer());
        let line = pop.log_line();
        assert!(
            !line.contains("9900112233") && !line.contains("9812345678"),
            "{line}"
        );
        assert_eq!(reply().status, 200);
    }
}
