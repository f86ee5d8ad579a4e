//! The Passthru applet (seed 17947-18108). In sync mode our status code picks
//! the branch: 200 takes "once the URL returns OK", anything else (we send
//! 302) takes "if the url returns anything else". In async mode Exotel does
//! not wait on the answer, so we only record the call and say 200.

use serde::{Deserialize, Serialize};

use crate::params::CallParams;
use crate::reply::Reply;
use crate::rule::{Condition, Facts};

/// Which of the applet's two transitions the call takes.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    /// "Once the URL returns OK": answered with 200.
    Ok,
    /// "If the URL returns anything else": answered with 302.
    Else,
}

/// One rule: when the condition holds, take the branch.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassthruRule {
    /// What must hold.
    #[serde(default)]
    pub when: Condition,
    /// Where the call goes.
    pub branch: Branch,
}

/// The rules of one line, tried in order; the first match wins.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassthruRules {
    /// Tried in order.
    #[serde(default)]
    pub rules: Vec<PassthruRule>,
    /// Taken when no rule matches.
    pub default: Branch,
}

impl PassthruRules {
    /// The branch for this request.
    pub fn decide(&self, p: &CallParams, facts: &Facts) -> Branch {
        self.rules
            .iter()
            .find(|r| r.when.matches(p, facts))
            .map_or(self.default, |r| r.branch)
    }
}

/// How Exotel calls us, from the `mode` parameter the customer puts in the
/// applet's URL (`.../passthru?mode=async`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exotel waits and branches on our status.
    Sync,
    /// Exotel does not wait; we record only.
    Async,
}

impl Mode {
    /// Reads `mode` from the customer's parameters; sync unless it says async.
    pub fn of(p: &CallParams) -> Self {
        match p.extra.get("mode").map(|s| s.to_ascii_lowercase()) {
            Some(m) if m == "async" => Self::Async,
            _ => Self::Sync,
        }
    }
}

/// The HTTP answer for a branch. The body says which branch, for people
/// reading logs; Exotel only looks at the status.
pub fn reply(branch: Branch) -> Reply {
    match branch {
        Branch::Ok => Reply::text(200, "ok"),
        Branch::Else => Reply::text(302, "else"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PassthruRules {
        serde_json::from_str(
            r#"{"rules": [
                {"when": {"answered_by_in": ["MACHINE"]}, "branch": "else"},
                {"when": {"digits_len": 10}, "branch": "ok"},
                {"when": {"dial_call_status_in": ["busy", "no-answer", "failed"]}, "branch": "else"}
              ],
              "default": "ok"}"#,
        )
        .unwrap()
    }

    #[test]
    fn first_matching_rule_wins() {
        let r = rules();
        // Seed sample 2: a gather before, 5 digits, completed: no rule, default.
        let p = CallParams::from_query(
            "CallSid=b8013b5546750a&DialCallStatus=completed&digits=%2215246%22",
        )
        .unwrap();
        assert_eq!(r.decide(&p, &Facts::default()), Branch::Ok);
        let p = CallParams::from_query("CallSid=b&DialCallStatus=busy").unwrap();
        assert_eq!(r.decide(&p, &Facts::default()), Branch::Else);
        let p = CallParams::from_query("CallSid=b&DialCallStatus=busy&digits=%229900112233%22")
            .unwrap();
        assert_eq!(r.decide(&p, &Facts::default()), Branch::Ok);
        let p = CallParams::from_query(
            "CallSid=b&Legs[0][AnsweredBy]=NA&Legs[1][AnsweredBy]=MACHINE&digits=%229900112233%22",
        )
        .unwrap();
        assert_eq!(r.decide(&p, &Facts::default()), Branch::Else);
    }

    #[test]
    fn statuses_and_mode() {
        assert_eq!(reply(Branch::Ok).status, 200);
        assert_eq!(reply(Branch::Else).status, 302);
        assert_eq!(
            Mode::of(&CallParams::from_query("CallSid=a&mode=async").unwrap()),
            Mode::Async
        );
        assert_eq!(
            Mode::of(&CallParams::from_query("CallSid=a").unwrap()),
            Mode::Sync
        );
    }
}
