//! The config loader and the decisions made with what it loads. Anything
//! must be rejected cleanly or loaded; a config that loads must serialize
//! and load again to the same value (what `exoedge-config` and `/healthz`
//! rely on); and every callback must then be decided with it through the
//! functions the worker calls (`handlers::decide`: business hours in any
//! zone, holidays, blocked and VIP callers, menus, groups), without a
//! panic, with answers Exotel can read, and with the trace's explanation
//! agreeing with the answer.
#![no_main]

use std::collections::BTreeMap;

use handlers::answer::connect::ConnectAnswer;
use handlers::config::Config;
use handlers::decide;
use handlers::params::CallParams;
use handlers::routing::{self, Explain, GroupState};
use handlers::time::IstDateTime;
use libfuzzer_sys::fuzz_target;

/// A stand-in tz database, so lines with named zones are read with hours
/// too: deterministic offsets from -12:00 to +13:59 that move by an hour
/// every half year (as daylight saving does), and some zones it does not
/// know (such a line reads as open, as in the worker).
fn fake_tz(zone: &str, unix_ms: i64) -> Option<i32> {
    let n = zone.len() as i32;
    if n % 7 == 0 {
        return None;
    }
    let summer = (unix_ms.div_euclid(182 * 86_400_000) % 2) as i32;
    Some((n * 37) % 1560 - 720 + summer * 60)
}

/// Instants the decisions are made at: a weekday noon and night, a
/// Sunday, and noon on the config's holidays (IST), so open, closed and
/// holiday hours are all reached.
fn instants(cfg: &Config) -> Vec<i64> {
    let at = |s: &str| IstDateTime::parse(s).map(|t| t.unix_seconds() * 1000);
    let mut all: Vec<i64> = [
        "2026-11-23 12:00:00",
        "2026-11-23 21:30:00",
        "2026-11-22 11:00:00",
    ]
    .iter()
    .filter_map(|s| at(s))
    .collect();
    let lines = std::iter::once(&cfg.default_line).chain(cfg.lines.values());
    let holidays = lines
        .flat_map(|l| {
            l.hours
                .iter()
                .chain(l.closed.iter().flat_map(|c| c.hours.iter()))
        })
        .flat_map(|h| h.holidays.iter())
        .map(|d| String::from(*d));
    all.extend(
        holidays
            .take(3)
            .filter_map(|d| at(&format!("{d} 12:00:00"))),
    );
    all
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = Config::from_json(doc) else {
        return;
    };
    let again = serde_json::to_string(&cfg).expect("a loaded config serializes");
    let reloaded =
        Config::from_json(&again).unwrap_or_else(|e| panic!("reload of {again} failed: {e}"));
    assert_eq!(cfg, reloaded, "config round trip changed the value");

    let cfg = cfg.with_zone_offsets(fake_tz);
    // Who calls which line: every line (and a number that is none), callers
    // on the lists and not, digits each menu knows and one none does.
    let mut exophones: Vec<Option<&str>> =
        cfg.lines.keys().take(4).map(|k| Some(k.as_str())).collect();
    exophones.extend([Some("+10000000000"), None]);
    let mut callers: Vec<Option<&str>> = vec![Some("09900112233"), None, Some("sip:alice")];
    callers.extend(cfg.callers.block.iter().take(2).map(|c| Some(c.as_str())));
    callers.extend(cfg.callers.vip.iter().take(2).map(|c| Some(c.as_str())));
    let lines = std::iter::once(&cfg.default_line).chain(cfg.lines.values());
    let mut digits: Vec<Option<&str>> = lines
        .flat_map(|l| std::iter::once(l).chain(l.closed.as_deref()))
        .filter_map(|l| l.menu.as_ref())
        .flat_map(|m| m.options.keys())
        .take(4)
        .map(|d| Some(d.as_str()))
        .collect();
    digits.extend([None, Some("999#")]);
    let times = instants(&cfg);
    let vars: BTreeMap<String, String> = [("name".to_owned(), "Asha".to_owned())].into();

    let combos = exophones.len() * times.len();
    for k in 0..combos.max(callers.len() * digits.len()).min(48) {
        let now_ms = times[(k / exophones.len()) % times.len()];
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("CallSid", "fuzz");
        if let Some(e) = exophones[k % exophones.len()] {
            q.append_pair("CallTo", e);
        }
        if let Some(c) = callers[(k * 3 + 1) % callers.len()] {
            q.append_pair("CallFrom", c);
        }
        if let Some(d) = digits[(k * 5 + 2) % digits.len()] {
            q.append_pair("digits", d);
        }
        let p = CallParams::from_query(&q.finish()).expect("a query built here parses");

        // Connect and dial-whom: a readable answer or "we didn't dial
        // anyone", and the trace says which.
        let connect = decide::connect(&cfg, &p, now_ms);
        let why = decide::explain(&cfg, &p, now_ms, Explain::Connect);
        assert!(matches!(connect.status, 200 | 403), "{connect:?}");
        assert_eq!(
            connect.status == 403,
            why.no_dial.is_some(),
            "{why:?} {connect:?}"
        );
        if connect.status == 200 {
            let a: ConnectAnswer =
                serde_json::from_str(&connect.body).expect("Connect answers what it accepts");
            assert!(!a.destination.numbers.as_slice().is_empty());
        }
        let dialwhom = decide::dialwhom(&cfg, &p, now_ms);
        let why = decide::explain(&cfg, &p, now_ms, Explain::DialWhom);
        assert!(matches!(dialwhom.status, 200 | 403), "{dialwhom:?}");
        assert_eq!(
            dialwhom.status == 403,
            why.no_dial.is_some(),
            "{why:?} {dialwhom:?}"
        );
        assert!(dialwhom.status == 403 || !dialwhom.body.is_empty());

        // The worker's Connect with routing state: a turn, offers made.
        let plan = decide::connect_plan(&cfg, &p, now_ms);
        if let Some(g) = plan.group() {
            let state = GroupState {
                rotation: k as u64,
                offered: routing::tried_in_legs(&p),
                ..Default::default()
            };
            let req = g.offer_request(&state);
            if let Some(offer) = routing::next_offer(&req, &[]) {
                assert!(g.answer_for(&offer).is_some(), "an offer is answerable");
            }
        }
        let _ = plan.answer(|g| routing::group_answer(g, &GroupState::default()).map(|o| o.answer));

        for r in [
            decide::gather(&cfg, &p, now_ms),
            decide::greeting(&cfg, &p, now_ms, &BTreeMap::new()),
            decide::greeting(&cfg, &p, now_ms, &vars),
            decide::playback(&cfg, &p, now_ms, &vars),
        ] {
            assert_eq!(r.status, 200, "{r:?}");
        }
        let _ = decide::personalize(&cfg, &p, now_ms);
        let _ = decide::explain(&cfg, &p, now_ms, Explain::Other);
        let _ = decide::passthru(&cfg, &p, now_ms);
    }
});
