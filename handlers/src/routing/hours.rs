//! Business hours of a line: weekly windows in a named time zone, holidays,
//! and windows that cross midnight (`22:00-06:00`).
//!
//! Only zones without daylight saving are accepted, so a zone is one fixed
//! offset and no tz database ships inside the worker. Exotel's own times are
//! IST, which has had no DST since 1945; most contact centres Exotel serves
//! are in DST-free zones too. A DST zone is refused at config load, with a
//! message, rather than silently an hour off for half the year.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::time::IstDateTime;

/// DST-free IANA zones, minutes east of UTC.
const ZONES: &[(&str, i32)] = &[
    ("Asia/Kolkata", 330),
    ("Asia/Calcutta", 330),
    ("Asia/Colombo", 330),
    ("Asia/Kathmandu", 345),
    ("Asia/Dhaka", 360),
    ("Asia/Karachi", 300),
    ("Asia/Dubai", 240),
    ("Asia/Riyadh", 180),
    ("Africa/Nairobi", 180),
    ("Africa/Lagos", 60),
    ("Asia/Bangkok", 420),
    ("Asia/Jakarta", 420),
    ("Asia/Ho_Chi_Minh", 420),
    ("Asia/Singapore", 480),
    ("Asia/Kuala_Lumpur", 480),
    ("Asia/Manila", 480),
    ("Asia/Hong_Kong", 480),
    ("Asia/Shanghai", 480),
    ("Asia/Tokyo", 540),
    ("UTC", 0),
    ("Etc/UTC", 0),
];

/// A time zone as a fixed offset, named as in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Zone {
    name: String,
    offset_minutes: i32,
}

impl Zone {
    /// India Standard Time, Exotel's own.
    pub fn ist() -> Self {
        Self { name: "Asia/Kolkata".into(), offset_minutes: 330 }
    }

    /// Minutes east of UTC.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::ist()
    }
}

impl TryFrom<String> for Zone {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        if let Some(&(_, off)) = ZONES.iter().find(|(n, _)| *n == name) {
            return Ok(Self { name, offset_minutes: off });
        }
        // "+05:30" / "-03:00"
        let b = name.as_bytes();
        if b.len() == 6 && (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let h: i32 = name[1..3].parse().map_err(|_| format!("bad offset {name:?}"))?;
            let m: i32 = name[4..6].parse().map_err(|_| format!("bad offset {name:?}"))?;
            if h <= 14 && m < 60 {
                let sign = if b[0] == b'-' { -1 } else { 1 };
                return Ok(Self { offset_minutes: sign * (h * 60 + m), name });
            }
        }
        Err(format!(
            "unknown or daylight-saving time zone {name:?}; use a DST-free zone such as Asia/Kolkata, or an offset like +05:30"
        ))
    }
}

impl From<Zone> for String {
    fn from(z: Zone) -> String {
        z.name
    }
}

/// A time of day, `HH:MM`, as minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Minute(u16);

fn parse_hhmm(s: &str) -> Result<Minute, String> {
    let (h, m) = s.trim().split_once(':').ok_or_else(|| format!("expected HH:MM, got {s:?}"))?;
    let h: u16 = h.parse().map_err(|_| format!("expected HH:MM, got {s:?}"))?;
    let m: u16 = m.parse().map_err(|_| format!("expected HH:MM, got {s:?}"))?;
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return Err(format!("no such time of day {s:?}"));
    }
    Ok(Minute(h * 60 + m))
}

/// An open window, `09:00-18:00`; `22:00-06:00` runs past midnight into the
/// next day; `00:00-24:00` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Window {
    start: Minute,
    end: Minute,
}

impl TryFrom<String> for Window {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (a, b) = s.split_once('-').ok_or_else(|| format!("expected HH:MM-HH:MM, got {s:?}"))?;
        let (start, end) = (parse_hhmm(a)?, parse_hhmm(b)?);
        if start == end {
            return Err(format!("empty window {s:?}"));
        }
        Ok(Self { start, end })
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        format!("{:02}:{:02}-{:02}:{:02}", w.start.0 / 60, w.start.0 % 60, w.end.0 / 60, w.end.0 % 60)
    }
}

impl Window {
    fn overnight(&self) -> bool {
        self.end < self.start
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(Date);

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('-').collect();
        let bad = || format!("expected YYYY-MM-DD, got {s:?}");
        if parts.len() != 3 {
            return Err(bad());
        }
        let y: i32 = parts[0].parse().map_err(|_| bad())?;
        let m: u8 = parts[1].parse().map_err(|_| bad())?;
        let d: u8 = parts[2].parse().map_err(|_| bad())?;
        let month = Month::try_from(m).map_err(|_| bad())?;
        Date::from_calendar_date(y, month, d).map(Day).map_err(|_| bad())
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        let d = d.0;
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }
}

/// Days of the week as the config names them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekDay {
    /// Monday
    Mon,
    /// Tuesday
    Tue,
    /// Wednesday
    Wed,
    /// Thursday
    Thu,
    /// Friday
    Fri,
    /// Saturday
    Sat,
    /// Sunday
    Sun,
}

impl From<Weekday> for WeekDay {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Monday => Self::Mon,
            Weekday::Tuesday => Self::Tue,
            Weekday::Wednesday => Self::Wed,
            Weekday::Thursday => Self::Thu,
            Weekday::Friday => Self::Fri,
            Weekday::Saturday => Self::Sat,
            Weekday::Sunday => Self::Sun,
        }
    }
}

/// When a line is open.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// Zone the windows are written in (default Asia/Kolkata).
    #[serde(default)]
    pub timezone: Zone,
    /// Open windows per weekday; a day not listed is closed.
    pub weekly: BTreeMap<WeekDay, Vec<Window>>,
    /// Dates closed all day (local dates).
    #[serde(default)]
    pub holidays: Vec<Day>,
}

impl Hours {
    /// Whether the line is open at a Unix time in milliseconds.
    pub fn is_open(&self, unix_ms: i64) -> bool {
        let local_ms = unix_ms + i64::from(self.timezone.offset_minutes()) * 60_000;
        // IstDateTime::from_unix_millis adds IST's offset; undo it to get a
        // plain calendar reading of `local_ms`.
        let t = IstDateTime::from_unix_millis(local_ms - i64::from(crate::time::IST_OFFSET_SECONDS) * 1000).primitive();
        let today = t.date();
        let minute = Minute((t.hour() as u16) * 60 + t.minute() as u16);
        let closed = |d: Date| self.holidays.contains(&Day(d));
        let windows = |d: Date| self.weekly.get(&WeekDay::from(d.weekday())).map(Vec::as_slice).unwrap_or(&[]);

        if !closed(today)
            && windows(today).iter().any(|w| {
                if w.overnight() {
                    minute >= w.start
                } else {
                    minute >= w.start && minute < w.end
                }
            })
        {
            return true;
        }
        // Yesterday's overnight windows spill into this morning.
        match today.previous_day() {
            Some(y) if !closed(y) => windows(y).iter().any(|w| w.overnight() && minute < w.end),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix ms of an IST wall-clock time.
    fn ist(s: &str) -> i64 {
        IstDateTime::parse(s).unwrap().unix_seconds() * 1000
    }

    fn hours(doc: &str) -> Hours {
        serde_json::from_str(doc).unwrap()
    }

    #[test]
    fn office_hours_table() {
        // 2026-11-23 is a Monday.
        let h = hours(r#"{"timezone": "Asia/Kolkata", "weekly": {"mon": ["09:00-13:00", "14:00-18:00"], "sat": ["10:00-14:00"]}, "holidays": ["2026-11-24"]}"#);
        let cases = [
            ("2026-11-23 08:59:59", false),
            ("2026-11-23 09:00:00", true),
            ("2026-11-23 13:30:00", false), // lunch
            ("2026-11-23 17:59:00", true),
            ("2026-11-23 18:00:00", false), // end is exclusive
            ("2026-11-24 10:00:00", false), // Tuesday: not listed, and a holiday
            ("2026-11-28 11:00:00", true),  // Saturday
            ("2026-11-29 11:00:00", false), // Sunday
        ];
        for (t, want) in cases {
            assert_eq!(h.is_open(ist(t)), want, "{t}");
        }
    }

    #[test]
    fn windows_across_midnight() {
        let h = hours(r#"{"weekly": {"fri": ["22:00-06:00"]}, "holidays": ["2026-12-04"]}"#);
        assert!(!h.is_open(ist("2026-11-27 21:59:00")));
        assert!(h.is_open(ist("2026-11-27 22:00:00")), "Friday night");
        assert!(h.is_open(ist("2026-11-28 05:59:00")), "spills into Saturday morning");
        assert!(!h.is_open(ist("2026-11-28 06:00:00")));
        assert!(!h.is_open(ist("2026-11-28 22:30:00")), "Saturday has no window");
        assert!(!h.is_open(ist("2026-12-04 23:00:00")), "holiday Friday");
        assert!(!h.is_open(ist("2026-12-05 02:00:00")), "no spill from a holiday");
    }

    #[test]
    fn other_zones_and_offsets() {
        // 09:00-17:00 in Singapore is 06:30-14:30 IST.
        let h = hours(r#"{"timezone": "Asia/Singapore", "weekly": {"mon": ["09:00-17:00"]}}"#);
        assert!(!h.is_open(ist("2026-11-23 06:29:00")));
        assert!(h.is_open(ist("2026-11-23 06:30:00")));
        assert!(!h.is_open(ist("2026-11-23 14:30:00")));
        let h = hours(r#"{"timezone": "+00:00", "weekly": {"sun": ["23:00-24:00"]}}"#);
        // Monday 04:45 IST is Sunday 23:15 UTC.
        assert!(h.is_open(ist("2026-11-23 04:45:00")));
        // The instant IST's date changes does not matter: UTC is still Sunday.
        assert!(h.is_open(ist("2026-11-23 05:29:00")));
        assert!(!h.is_open(ist("2026-11-23 05:30:00")));
    }

    #[test]
    fn config_mistakes_are_refused() {
        for bad in [
            r#"{"timezone": "Europe/London", "weekly": {}}"#,
            r#"{"weekly": {"mon": ["9-17"]}}"#,
            r#"{"weekly": {"mon": ["09:00-09:00"]}}"#,
            r#"{"weekly": {"mon": ["25:00-26:00"]}}"#,
            r#"{"weekly": {"funday": ["09:00-10:00"]}}"#,
            r#"{"weekly": {}, "holidays": ["2026-02-30"]}"#,
        ] {
            assert!(serde_json::from_str::<Hours>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<Hours>(r#"{"timezone": "America/New_York", "weekly": {}}"#).unwrap_err().to_string();
        assert!(e.contains("daylight-saving"), "{e}");
    }
}
