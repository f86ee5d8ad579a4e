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
