//! Time zone offsets from the runtime's own tz database
//! (`Intl.DateTimeFormat`), so business hours in any IANA zone are right
//! on both sides of a daylight-saving change without a tz database in the
//! wasm. One formatter per zone is built on first use and kept for the
//! isolate's life (building one is the costly part); each offset is then
//! one `formatToParts` of the instant asked about.

use std::cell::RefCell;

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Zones remembered per isolate; a config names a handful. Past this the
/// cache starts over rather than grow.
const MAX_ZONES: usize = 64;

#[derive(Clone)]
struct Formatter {
    dtf: JsValue,
    format_to_parts: Function,
}

thread_local! {
    /// Per zone name: its formatter, or `None` when the runtime refused it.
    /// A list: a config names a handful of zones.
    static FORMATTERS: RefCell<Vec<(String, Option<Formatter>)>> = const { RefCell::new(Vec::new()) };
}

fn build(zone: &str) -> Option<Formatter> {
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let ctor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let opts = Object::new();
    let fields = [
        ("timeZone", zone),
        ("hourCycle", "h23"),
        ("year", "numeric"),
        ("month", "numeric"),
        ("day", "numeric"),
        ("hour", "numeric"),
        ("minute", "numeric"),
        ("second", "numeric"),
    ];
    for (k, v) in fields {
        Reflect::set(&opts, &k.into(), &v.into()).ok()?;
    }
    // An unknown zone makes the constructor throw (RangeError): caught here.
    let dtf = Reflect::construct(&ctor, &Array::of2(&"en-US".into(), &opts)).ok()?;
    let format_to_parts: Function = Reflect::get(&dtf, &"formatToParts".into())
        .ok()?
        .dyn_into()
        .ok()?;
    Some(Formatter {
        dtf,
        format_to_parts,
    })
}

fn formatter(zone: &str) -> Option<Formatter> {
    FORMATTERS.with(|f| {
        let mut f = f.borrow_mut();
        if let Some((_, known)) = f.iter().find(|(z, _)| z == zone) {
            return known.clone();
        }
        if f.len() >= MAX_ZONES {
            f.clear();
        }
        let built = build(zone);
        f.push((zone.to_owned(), built.clone()));
        built
    })
}

/// Whether the runtime knows `zone`.
pub fn known(zone: &str) -> bool {
    formatter(zone).is_some()
}

/// Minutes east of UTC of `zone` at `unix_ms`, as the runtime's tz
/// database says; `None` when it does not know the zone. This is the
/// config's [`handlers::config::hours::OffsetFn`].
pub fn offset_minutes(zone: &str, unix_ms: i64) -> Option<i32> {
    let f = formatter(zone)?;
    let parts: Array = f
        .format_to_parts
        .call1(&f.dtf, &Date::new(&JsValue::from_f64(unix_ms as f64)))
        .ok()?
        .dyn_into()
        .ok()?;
    // year, month, day, hour, minute, second
    let mut wall = [None::<i64>; 6];
    for part in parts.iter() {
        let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
        let slot = match kind.as_str() {
            "year" => 0,
            "month" => 1,
            "day" => 2,
            "hour" => 3,
            "minute" => 4,
            "second" => 5,
            _ => continue,
        };
        wall[slot] = Reflect::get(&part, &"value".into())
            .ok()?
            .as_string()?
            .parse()
            .ok();
    }
    let [y, mo, d, h, mi, s] = wall;
    handlers::config::hours::offset_from_wall_clock(unix_ms, [y?, mo?, d?, h?, mi?, s?])
}
