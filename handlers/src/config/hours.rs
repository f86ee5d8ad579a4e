//! Business hours of a line: weekly windows in a time zone, holidays, and
//! windows that cross midnight (`22:00-06:00`).
//!
//! A zone is a fixed offset (`+05:30`, or a DST-free IANA zone this module
//! knows, such as Exotel's own Asia/Kolkata) or any other IANA name, whose
//! offset at an instant comes from the caller's tz database through an
//! [`OffsetFn`]: the worker asks the runtime (`Intl.DateTimeFormat`), so no
//! tz database ships inside the wasm; native tests use a tz crate. Every
//! rule is read on the local wall clock at the instant asked about, which
//! is what makes daylight saving, overnight windows and holidays agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::time::IstDateTime;

/// DST-free IANA zones, minutes east of UTC: answered without asking the
/// tz database (the default zone costs nothing).
const FIXED_ZONES: &[(&str, i32)] = &[
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

/// The areas of IANA zone names (`America/New_York`, `Etc/GMT+5`). A name
/// outside them is refused at load: it cannot be a zone.
const IANA_AREAS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

/// A named zone's offset from UTC, in minutes east, at a Unix time in ms;
/// `None` when the tz database does not know the zone.
pub type OffsetFn = fn(zone: &str, unix_ms: i64) -> Option<i32>;

/// The offset of a zone at `unix_ms`, from the wall clock a tz database
/// shows there at that instant (the fields `Intl.DateTimeFormat` gives):
/// local time read as UTC, minus the instant. `hour` 24 (an old ICU
/// spelling of midnight) reads as 0. `None` for an impossible date or an
/// offset beyond any zone's.
pub fn offset_from_wall_clock(unix_ms: i64, wall: [i64; 6]) -> Option<i32> {
    let [year, month, day, hour, minute, second] = wall;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let hour = if hour == 24 { 0 } else { hour };
    let time = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    let local_s = time::PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp();
    let diff_s = local_s - unix_ms.div_euclid(1000);
    // Round to whole minutes: the instant's sub-minute part is in both.
    let minutes = i32::try_from((diff_s as f64 / 60.0).round() as i64).ok()?;
    (minutes.abs() <= MAX_OFFSET_MINUTES).then_some(minutes)
}

/// Largest offset any zone has had (UTC+14, UTC-12, with room): an offset
/// function answering more is broken, and its answer is not used.
const MAX_OFFSET_MINUTES: i32 = 18 * 60;

/// A time zone, named as in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Zone {
    name: String,
    /// The offset when it never changes; `None`: ask the tz database.
    fixed: Option<i32>,
}

impl Zone {
    /// For the baked embedded config (handlers/src/bake.rs): a value that already
    /// passed `TryFrom`, written out as Rust by the build. Checks nothing.
    #[doc(hidden)]
    pub fn from_baked((name, fixed): (String, Option<i32>)) -> Self {
        Self { name, fixed }
    }

    /// What [`Self::from_baked`] takes back (handlers/src/bake.rs).
    #[cfg(feature = "bake")]
    pub fn baked_parts(&self) -> (String, Option<i32>) {
        (self.name.clone(), self.fixed)
    }

    /// India Standard Time, Exotel's own.
    pub fn ist() -> Self {
        Self {
            name: "Asia/Kolkata".into(),
            fixed: Some(330),
        }
    }

    /// The name as written in the config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the offset must come from a tz database (a zone that may
    /// observe daylight saving, or one this module does not list).
    pub fn needs_tz_database(&self) -> bool {
        self.fixed.is_none()
    }

    /// Minutes east of UTC at `unix_ms`; `None` when the zone needs a tz
    /// database and `offsets` is absent or does not know it.
    pub fn offset_minutes_at(&self, unix_ms: i64, offsets: Option<OffsetFn>) -> Option<i32> {
        if let Some(off) = self.fixed {
            return Some(off);
        }
        offsets?(&self.name, unix_ms).filter(|o| o.abs() <= MAX_OFFSET_MINUTES)
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::ist()
    }
}

/// Whether `name` is shaped like an IANA zone name: a known area, then one
/// or two `/`-separated parts of letters, digits, `_`, `+`, `-`.
fn iana_shaped(name: &str) -> bool {
    let mut parts = name.split('/');
    let area_ok = parts.next().is_some_and(|a| IANA_AREAS.contains(&a));
    let rest: Vec<&str> = parts.collect();
    let part_ok = |p: &&str| {
        p.len() <= 30
            && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+' || b == b'-')
    };
    area_ok && (1..=2).contains(&rest.len()) && rest.iter().all(part_ok)
}

impl TryFrom<String> for Zone {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        if let Some(&(_, off)) = FIXED_ZONES.iter().find(|(n, _)| *n == name) {
            return Ok(Self {
                name,
                fixed: Some(off),
            });
        }
        // "+05:30" / "-03:00"
        let b = name.as_bytes();
        if b.len() == 6 && (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let h: i32 = name[1..3]
                .parse()
                .map_err(|_| format!("bad offset {name:?}"))?;
            let m: i32 = name[4..6]
                .parse()
                .map_err(|_| format!("bad offset {name:?}"))?;
            if h <= 14 && m < 60 {
                let sign = if b[0] == b'-' { -1 } else { 1 };
                return Ok(Self {
                    fixed: Some(sign * (h * 60 + m)),
                    name,
                });
            }
        }
        if iana_shaped(&name) {
            return Ok(Self { name, fixed: None });
        }
        Err(format!(
            "unknown time zone {name:?}; use an IANA zone such as Asia/Kolkata, Europe/London or America/New_York, or an offset like +05:30"
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
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("expected HH:MM, got {s:?}"))?;
    let h: u16 = h
        .parse()
        .map_err(|_| format!("expected HH:MM, got {s:?}"))?;
    let m: u16 = m
        .parse()
        .map_err(|_| format!("expected HH:MM, got {s:?}"))?;
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

impl Window {
    /// For the baked embedded config (handlers/src/bake.rs): a value that already
    /// passed `TryFrom`, written out as Rust by the build. Checks nothing.
    #[doc(hidden)]
    pub fn from_baked((start, end): (u16, u16)) -> Self {
        Self {
            start: Minute(start),
            end: Minute(end),
        }
    }

    /// What [`Self::from_baked`] takes back (handlers/src/bake.rs).
    #[cfg(feature = "bake")]
    pub fn baked_parts(&self) -> (u16, u16) {
        (self.start.0, self.end.0)
    }
}

impl TryFrom<String> for Window {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("expected HH:MM-HH:MM, got {s:?}"))?;
        let (start, end) = (parse_hhmm(a)?, parse_hhmm(b)?);
        if start == end {
            return Err(format!("empty window {s:?}"));
        }
        Ok(Self { start, end })
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            w.start.0 / 60,
            w.start.0 % 60,
            w.end.0 / 60,
            w.end.0 % 60
        )
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

impl Day {
    /// For the baked embedded config (handlers/src/bake.rs): a value that already
    /// passed `TryFrom`, written out as Rust by the build. Checks nothing.
    #[doc(hidden)]
    pub fn from_baked(julian_day: i32) -> Self {
        Self(Date::from_julian_day(julian_day).unwrap_or(Date::MIN))
    }

    /// What [`Self::from_baked`] takes back (handlers/src/bake.rs).
    #[cfg(feature = "bake")]
    pub fn baked_parts(&self) -> i32 {
        self.0.to_julian_day()
    }
}

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
        Date::from_calendar_date(y, month, d)
            .map(Day)
            .map_err(|_| bad())
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
    /// Zone the windows are written in (default Asia/Kolkata); any IANA
    /// zone, read on its local wall clock, daylight saving included.
    #[serde(default)]
    pub timezone: Zone,
    /// Open windows per weekday; a day not listed is closed.
    pub weekly: BTreeMap<WeekDay, Vec<Window>>,
    /// Dates closed all day (local dates).
    #[serde(default)]
    pub holidays: Vec<Day>,
}

impl Hours {
    /// Whether the line is open at a Unix time in milliseconds, reading the
    /// windows and holidays on the zone's wall clock at that instant.
    /// `None` when the zone's offset is unknown (no tz database, or one that
    /// does not know the zone): the caller picks the safe answer.
    pub fn is_open(&self, unix_ms: i64, offsets: Option<OffsetFn>) -> Option<bool> {
        let offset = self.timezone.offset_minutes_at(unix_ms, offsets)?;
        Some(self.is_open_local(unix_ms + i64::from(offset) * 60_000))
    }

    /// The rule itself, on a local wall-clock reading (`local_ms` is the
    /// local date and time written as if it were UTC).
    fn is_open_local(&self, local_ms: i64) -> bool {
        // IstDateTime::from_unix_millis adds IST's offset; undo it to get a
        // plain calendar reading of `local_ms`.
        let t = IstDateTime::from_unix_millis(
            local_ms - i64::from(crate::time::IST_OFFSET_SECONDS) * 1000,
        )
        .primitive();
        let today = t.date();
        let minute = Minute((t.hour() as u16) * 60 + t.minute() as u16);
        let closed = |d: Date| self.holidays.contains(&Day(d));
        let windows = |d: Date| {
            self.weekly
                .get(&WeekDay::from(d.weekday()))
                .map(Vec::as_slice)
                .unwrap_or(&[])
        };

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

/// The offset function of native tests: the tz database bundled in jiff (a
/// dev-dependency; the worker asks its runtime instead).
#[cfg(test)]
pub(crate) fn tzdb(zone: &str, unix_ms: i64) -> Option<i32> {
    let tz = jiff::tz::TimeZone::get(zone).ok()?;
    let at = jiff::Timestamp::from_millisecond(unix_ms).ok()?;
    Some(tz.to_offset(at).seconds() / 60)
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

    /// Open at an IST wall-clock time, for zones that need no tz database.
    fn open_ist(h: &Hours, t: &str) -> bool {
        h.is_open(ist(t), None)
            .expect("a fixed-offset zone needs no tz database")
    }

    /// Unix ms of a UTC wall-clock time.
    fn utc(s: &str) -> i64 {
        ist(s) + i64::from(crate::time::IST_OFFSET_SECONDS) * 1000
    }

    #[test]
    fn office_hours_table() {
        // 2026-11-23 is a Monday.
        let h = hours(
            r#"{"timezone": "Asia/Kolkata", "weekly": {"mon": ["09:00-13:00", "14:00-18:00"], "sat": ["10:00-14:00"]}, "holidays": ["2026-11-24"]}"#,
        );
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
            assert_eq!(open_ist(&h, t), want, "{t}");
        }
    }

    #[test]
    fn windows_across_midnight() {
        let h = hours(r#"{"weekly": {"fri": ["22:00-06:00"]}, "holidays": ["2026-12-04"]}"#);
        assert!(!open_ist(&h, "2026-11-27 21:59:00"));
        assert!(open_ist(&h, "2026-11-27 22:00:00"), "Friday night");
        assert!(
            open_ist(&h, "2026-11-28 05:59:00"),
            "spills into Saturday morning"
        );
        assert!(!open_ist(&h, "2026-11-28 06:00:00"));
        assert!(
            !open_ist(&h, "2026-11-28 22:30:00"),
            "Saturday has no window"
        );
        assert!(!open_ist(&h, "2026-12-04 23:00:00"), "holiday Friday");
        assert!(
            !open_ist(&h, "2026-12-05 02:00:00"),
            "no spill from a holiday"
        );
    }

    #[test]
    fn other_zones_and_offsets() {
        // 09:00-17:00 in Singapore is 06:30-14:30 IST.
        let h = hours(r#"{"timezone": "Asia/Singapore", "weekly": {"mon": ["09:00-17:00"]}}"#);
        assert!(!open_ist(&h, "2026-11-23 06:29:00"));
        assert!(open_ist(&h, "2026-11-23 06:30:00"));
        assert!(!open_ist(&h, "2026-11-23 14:30:00"));
        let h = hours(r#"{"timezone": "+00:00", "weekly": {"sun": ["23:00-24:00"]}}"#);
        // Monday 04:45 IST is Sunday 23:15 UTC.
        assert!(open_ist(&h, "2026-11-23 04:45:00"));
        // The instant IST's date changes does not matter: UTC is still Sunday.
        assert!(open_ist(&h, "2026-11-23 05:29:00"));
        assert!(!open_ist(&h, "2026-11-23 05:30:00"));
    }

    #[test]
    fn config_mistakes_are_refused() {
        for bad in [
            r#"{"timezone": "Mars/Olympus_Mons", "weekly": {}}"#,
            r#"{"timezone": "Eastern Time", "weekly": {}}"#,
            r#"{"timezone": "Europe/../etc/passwd", "weekly": {}}"#,
            r#"{"timezone": "", "weekly": {}}"#,
            r#"{"timezone": "+25:00", "weekly": {}}"#,
            r#"{"weekly": {"mon": ["9-17"]}}"#,
            r#"{"weekly": {"mon": ["09:00-09:00"]}}"#,
            r#"{"weekly": {"mon": ["25:00-26:00"]}}"#,
            r#"{"weekly": {"funday": ["09:00-10:00"]}}"#,
            r#"{"weekly": {}, "holidays": ["2026-02-30"]}"#,
        ] {
            assert!(serde_json::from_str::<Hours>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<Hours>(r#"{"timezone": "Mars/Olympus_Mons", "weekly": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown time zone") && e.contains("Europe/London"),
            "{e}"
        );
    }

    #[test]
    fn iana_zones_with_daylight_saving_are_accepted() {
        for zone in [
            "America/New_York",
            "Europe/London",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "America/Port-au-Prince",
            "Australia/Lord_Howe",
        ] {
            let h = hours(&format!(r#"{{"timezone": "{zone}", "weekly": {{}}}}"#));
            assert!(h.timezone.needs_tz_database(), "{zone}");
            assert_eq!(h.timezone.name(), zone);
        }
        assert!(!Zone::ist().needs_tz_database());
    }

    #[test]
    fn a_zone_without_a_tz_database_is_unknown_not_guessed() {
        let h = hours(r#"{"timezone": "America/New_York", "weekly": {"mon": ["00:00-24:00"]}}"#);
        assert_eq!(h.is_open(utc("2026-03-09 12:00:00"), None), None);
        let unknown: OffsetFn = |_, _| None;
        assert_eq!(h.is_open(utc("2026-03-09 12:00:00"), Some(unknown)), None);
        let broken: OffsetFn = |_, _| Some(24 * 60);
        assert_eq!(
            h.is_open(utc("2026-03-09 12:00:00"), Some(broken)),
            None,
            "an impossible offset is not used"
        );
    }

    #[test]
    fn offsets_from_a_wall_clock_reading() {
        // 2026-03-09 13:00:00 UTC reads 09:00 in New York (EDT) and 13:00 in London (GMT).
        let t = utc("2026-03-09 13:00:00");
        assert_eq!(offset_from_wall_clock(t, [2026, 3, 9, 9, 0, 0]), Some(-240));
        assert_eq!(offset_from_wall_clock(t, [2026, 3, 9, 13, 0, 0]), Some(0));
        assert_eq!(
            offset_from_wall_clock(t, [2026, 3, 9, 18, 30, 0]),
            Some(330)
        );
        // The day before in local time, across midnight.
        assert_eq!(
            offset_from_wall_clock(utc("2026-03-09 02:00:00"), [2026, 3, 8, 22, 0, 0]),
            Some(-240)
        );
        assert_eq!(
            offset_from_wall_clock(t, [2026, 2, 30, 9, 0, 0]),
            None,
            "no such date"
        );
        assert_eq!(
            offset_from_wall_clock(t, [2026, 3, 11, 13, 0, 0]),
            None,
            "two days off is no zone"
        );
        assert_eq!(
            offset_from_wall_clock(utc("2026-03-09 00:00:00"), [2026, 3, 9, 24, 0, 0]),
            Some(0),
            "ICU's 24 for midnight"
        );
    }

    /// New York: EST (-5) until 2026-03-08 02:00 local, EDT (-4) until
    /// 2026-11-01 02:00 local. Instants are UTC.
    #[test]
    fn new_york_across_both_changes() {
        let h = hours(
            r#"{"timezone": "America/New_York",
                "weekly": {"mon": ["09:00-17:00"], "fri": ["09:00-17:00"], "sat": ["22:00-06:00"]},
                "holidays": ["2026-11-02"]}"#,
        );
        let cases = [
            // Friday before the spring change: 09:00 EST is 14:00 UTC.
            ("2026-03-06 13:59:00", false),
            ("2026-03-06 14:00:00", true),
            ("2026-03-06 21:59:00", true),
            ("2026-03-06 22:00:00", false),
            // Saturday night's window spills over the change: 22:00 EST ...
            ("2026-03-08 02:59:00", false),
            ("2026-03-08 03:00:00", true),
            // ... to 06:00 EDT, which is 10:00 UTC (a fixed EST reading would stay open an hour more).
            ("2026-03-08 09:59:00", true),
            ("2026-03-08 10:00:00", false),
            // Monday after: 09:00 EDT is 13:00 UTC.
            ("2026-03-09 12:59:00", false),
            ("2026-03-09 13:00:00", true),
            ("2026-03-09 20:59:00", true),
            ("2026-03-09 21:00:00", false),
            // Autumn: Friday 09:00 EDT is 13:00 UTC.
            ("2026-10-30 12:59:00", false),
            ("2026-10-30 13:00:00", true),
            // Saturday 22:00 EDT (02:00 UTC) to Sunday 06:00 EST (11:00 UTC): nine hours that night.
            ("2026-11-01 01:59:00", false),
            ("2026-11-01 02:00:00", true),
            ("2026-11-01 10:59:00", true),
            ("2026-11-01 11:00:00", false),
            // Monday 2 November is a holiday (local date).
            ("2026-11-02 15:00:00", false),
            // Friday after: 09:00 EST is 14:00 UTC again.
            ("2026-11-06 13:30:00", false),
            ("2026-11-06 14:00:00", true),
        ];
        for (t, want) in cases {
            assert_eq!(h.is_open(utc(t), Some(tzdb)), Some(want), "{t} UTC");
        }
    }

    /// London: GMT until 2026-03-29 01:00 UTC, BST (+1) until 2026-10-25
    /// 01:00 UTC. Instants are UTC.
    #[test]
    fn london_across_both_changes_and_holiday_dates() {
        let h = hours(
            r#"{"timezone": "Europe/London",
                "weekly": {"mon": ["09:00-17:30"], "fri": ["09:00-17:30"], "sat": ["23:00-03:00"]},
                "holidays": ["2026-10-26"]}"#,
        );
        let cases = [
            ("2026-03-27 08:59:00", false),
            ("2026-03-27 09:00:00", true),
            // Saturday 23:00 GMT into Sunday: clocks jump from 01:00 to 02:00
            // local, and the window ends at 03:00 BST, 02:00 UTC.
            ("2026-03-28 22:59:00", false),
            ("2026-03-28 23:00:00", true),
            ("2026-03-29 00:59:00", true),
            ("2026-03-29 01:00:00", true),
            ("2026-03-29 01:59:00", true),
            ("2026-03-29 02:00:00", false),
            // Monday 09:00 BST is 08:00 UTC.
            ("2026-03-30 07:59:00", false),
            ("2026-03-30 08:00:00", true),
            ("2026-03-30 16:29:00", true),
            ("2026-03-30 16:30:00", false),
            // Autumn: Saturday 23:00 BST (22:00 UTC) to Sunday 03:00 GMT (03:00 UTC).
            ("2026-10-24 21:59:00", false),
            ("2026-10-24 22:00:00", true),
            ("2026-10-25 02:59:00", true),
            ("2026-10-25 03:00:00", false),
            // Monday 26 October is a holiday; the Monday after opens at 09:00 GMT.
            ("2026-10-26 10:00:00", false),
            ("2026-11-02 08:59:00", false),
            ("2026-11-02 09:00:00", true),
        ];
        for (t, want) in cases {
            assert_eq!(h.is_open(utc(t), Some(tzdb)), Some(want), "{t} UTC");
        }

        // A holiday is a local date: 29 March ends at 23:00 UTC in BST.
        let h = hours(
            r#"{"timezone": "Europe/London", "weekly": {"sun": ["00:00-24:00"], "mon": ["00:00-24:00"]}, "holidays": ["2026-03-29"]}"#,
        );
        assert_eq!(
            h.is_open(utc("2026-03-29 22:30:00"), Some(tzdb)),
            Some(false),
            "23:30 BST on the holiday"
        );
        assert_eq!(
            h.is_open(utc("2026-03-29 23:30:00"), Some(tzdb)),
            Some(true),
            "00:30 BST on Monday"
        );
    }
}
