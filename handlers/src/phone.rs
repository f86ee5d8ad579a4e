//! Phone numbers as Exotel writes them, normalised so the same person is one
//! key, and masked for logs.
//!
//! Exotel sends the same subscriber as `+919900112233`, `09900112233`,
//! `919900112233` or `9900112233`, and app users as `sip:alice`. Rules, block
//! lists and caller records key on [`normalize`]'s output.

/// The normal form: E.164 (`+919900112233`) for numbers, `sip:<user>` with the
/// user as given for SIP. `None` for anything that is neither.
pub fn normalize(raw: &str) -> Option<String> {
    let s = raw.trim();
    if let Some(user) = s.strip_prefix("sip:").or_else(|| s.strip_prefix("SIP:")) {
        let ok = !user.is_empty()
            && user.len() <= 64
            && user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
        return ok.then(|| ["sip:", user].concat());
    }
    // The digits without the separators people write, on the stack: this
    // runs for the ExoPhone of every callback. No rule below takes more
    // than 15 digits, so a 16th already means "not a number".
    let mut buf = [0u8; 15];
    let mut n = 0;
    for b in s.bytes() {
        match b {
            b' ' | b'-' | b'(' | b')' | b'+' => {}
            b'0'..=b'9' if n < buf.len() => {
                buf[n] = b;
                n += 1;
            }
            _ => return None,
        }
    }
    let digits = std::str::from_utf8(&buf[..n]).ok()?;
    let (prefix, rest) = if s.starts_with('+') {
        ("+", (8..=15).contains(&n).then_some(digits)?)
    } else {
        // Indian national forms, the only ones Exotel's Indian numbers use:
        // 0 + 10 digits (mobile with 0, or STD code + landline), 10 bare
        // digits, or 91 + 10 digits.
        match n {
            11 if digits.starts_with('0') => ("+91", &digits[1..]),
            10 if !digits.starts_with('0') => ("+91", digits),
            12 if digits.starts_with("91") => ("+", digits),
            13 if digits.starts_with("091") => ("+", &digits[1..]),
            8..=15 if digits.starts_with("00") => ("+", &digits[2..]),
            _ => return None,
        }
    };
    Some([prefix, rest].concat())
}

/// Text from a request made safe for one log line: control characters
/// (CR, LF, ESC, ...) become U+FFFD, so a value cannot forge log lines or
/// terminal escapes (found by tests/abuse.test.mjs).
pub fn log_safe(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.chars().any(char::is_control) {
        raw.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        raw.into()
    }
}

/// A number for logs: the last four characters stay, the rest become `*`.
/// SIP users keep their first character only. Control characters never
/// survive (see [`log_safe`]).
pub fn mask(raw: &str) -> String {
    let safe = log_safe(raw);
    let s = safe.trim();
    if let Some(user) = s.strip_prefix("sip:") {
        let first: String = user.chars().take(1).collect();
        return format!("sip:{first}***");
    }
    let n = s.chars().count();
    if n <= 4 {
        return "*".repeat(n);
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i + 4 >= n || (i == 0 && c == '+') {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_one_key() {
        for raw in [
            "+919900112233",
            "09900112233",
            "9900112233",
            "919900112233",
            " +91 99001-12233 ",
            "00919900112233",
        ] {
            assert_eq!(normalize(raw).as_deref(), Some("+919900112233"), "{raw}");
        }
        assert_eq!(normalize("08030752400").as_deref(), Some("+918030752400"));
        assert_eq!(normalize("+622131921111").as_deref(), Some("+622131921111"));
    }

    #[test]
    fn sip_users_keep_their_name() {
        assert_eq!(normalize("sip:alice").as_deref(), Some("sip:alice"));
        assert_eq!(
            normalize("sip:1234567890").as_deref(),
            Some("sip:1234567890")
        );
        assert_eq!(normalize("sip:"), None);
        assert_eq!(normalize("sip:a b"), None);
    }

    #[test]
    fn rejects_non_numbers() {
        for raw in [
            "",
            "abc",
            "+12",
            "12345",
            "0990011223",
            "+1234567890123456",
            "99001x2233",
        ] {
            assert_eq!(normalize(raw), None, "{raw}");
        }
    }

    #[test]
    fn masks_all_but_the_tail() {
        assert_eq!(mask("+919900112233"), "+********2233");
        assert_eq!(mask("09900112233"), "*******2233");
        assert_eq!(mask("sip:alice"), "sip:a***");
        assert_eq!(mask("123"), "***");
    }

    #[test]
    fn log_text_cannot_forge_lines() {
        assert_eq!(log_safe("abc"), "abc");
        assert_eq!(
            log_safe("a\r\nX-Evil: 1\u{1b}[2J"),
            "a\u{fffd}\u{fffd}X-Evil: 1\u{fffd}[2J"
        );
        assert!(!mask("0990011\r\n: 1").contains(['\r', '\n']));
        assert!(!mask("sip:\nalice").contains('\n'));
    }
}
