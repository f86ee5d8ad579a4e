//! Exotel's timestamps: wall-clock IST, in two textual forms.
//!
//! Exotel writes `yyyy-mm-dd hh:mm:ss` almost everywhere, but `Created`
//! sometimes arrives RFC-1123-like (`Wed, 27 Dec 2023 12:17:05`) with no zone.
//! Both mean India Standard Time, which has no DST, so one fixed offset
//! converts to and from Unix time.

use std::fmt;

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// IST is UTC+05:30 all year.
pub const IST_OFFSET_SECONDS: i32 = 5 * 3600 + 30 * 60;

/// A wall-clock time in IST, as Exotel sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IstDateTime(PrimitiveDateTime);

impl IstDateTime {
    /// Parses either of Exotel's forms; anything else is `None`, never an
    /// error, because a timestamp never decides whether a call goes through.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let iso = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let rfc = format_description!(
            "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second]"
        );
        let rfc_padded = format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second]"
        );
        PrimitiveDateTime::parse(s, iso)
            .or_else(|_| PrimitiveDateTime::parse(s, rfc_padded))
            .or_else(|_| PrimitiveDateTime::parse(s, rfc))
            .ok()
            .map(Self)
    }

    /// The IST wall clock at a Unix time in milliseconds (the worker's
    /// `Date.now()`).
    pub fn from_unix_millis(ms: i64) -> Self {
        let offset = UtcOffset::from_whole_seconds(IST_OFFSET_SECONDS).unwrap_or(UtcOffset::UTC);
        let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(offset);
        Self(PrimitiveDateTime::new(t.date(), t.time()))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.assume_utc().unix_timestamp() - i64::from(IST_OFFSET_SECONDS)
    }

    /// The inner calendar value, for rules on weekday, date and time of day.
    pub fn primitive(&self) -> PrimitiveDateTime {
        self.0
    }
}

impl fmt::Display for IstDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_to_the_same_instant() {
        let a = IstDateTime::parse("2023-12-27 12:17:05").unwrap();
        let b = IstDateTime::parse("Wed, 27 Dec 2023 12:17:05").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            IstDateTime::parse("Sat, 3 Nov 2019 22:00:37")
                .unwrap()
                .to_string(),
            "2019-11-03 22:00:37"
        );
    }

    #[test]
    fn end_time_constant_is_the_epoch() {
        assert_eq!(
            IstDateTime::parse("1970-01-01 05:30:00")
                .unwrap()
                .unix_seconds(),
            0
        );
    }

    #[test]
    fn unix_millis_round_trip_in_ist() {
        // 2023-12-27 06:47:05 UTC is 12:17:05 IST.
        let t = IstDateTime::from_unix_millis(1_703_659_625_000);
        assert_eq!(t.to_string(), "2023-12-27 12:17:05");
        assert_eq!(t.unix_seconds(), 1_703_659_625);
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "yesterday",
            "2023-13-01 00:00:00",
            "Wed, 32 Dec 2023 12:00:00",
        ] {
            assert_eq!(IstDateTime::parse(s), None, "{s}");
        }
    }
}
