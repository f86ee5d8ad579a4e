//! "Dial phone number(s) returned by URL" (seed 17786-17824) and the VoIP
//! SDK's Dial Whom endpoint (5625-5686): a plain-text body with one number,
//! a comma-separated list, or `sip:<user>` for an app user.

use crate::destination::Numbers;
use crate::reply::Reply;

/// The body Exotel dials: destinations joined by commas.
pub fn body(numbers: &Numbers) -> String {
    numbers
        .as_slice()
        .iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The HTTP answer: `text/plain`, exactly.
pub fn reply(numbers: &Numbers) -> Reply {
    Reply::text(200, body(numbers))
}

/// The numbers to dial for this call (without state; see
/// [`crate::routing::plan_dialwhom`]): blocked callers and closed lines get
/// "we didn't dial anyone" before any static `dialwhom` number is answered.
pub fn decide(cfg: &crate::config::Config, p: &crate::params::CallParams, now_ms: i64) -> Reply {
    use crate::routing::{plan_dialwhom, stateless_answer, ConnectPlan};
    match plan_dialwhom(cfg, p, now_ms) {
        ConnectPlan::Answer(a) => reply(&a.destination.numbers),
        ConnectPlan::NoDial(why) => crate::routing::no_dial_reply(why),
        ConnectPlan::Group(g) => reply(&stateless_answer(&g).destination.numbers),
    }
}

/// The safe static answer (`?fallback=1`): the fallback Connect's numbers.
pub fn fallback(cfg: &crate::config::Config) -> Reply {
    reply(&cfg.fallback.connect.destination.numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_list_and_sip() {
        let n: Numbers = serde_json::from_str(r#"["08088919888", "08049114900"]"#).unwrap();
        assert_eq!(reply(&n).body, "+918088919888,+918049114900");
        let n: Numbers = serde_json::from_str(r#"["sip:1234567890"]"#).unwrap();
        assert_eq!(reply(&n).body, "sip:1234567890");
        assert_eq!(reply(&n).content_type.as_str(), "text/plain");
    }
}
