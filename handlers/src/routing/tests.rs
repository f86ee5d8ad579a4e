//! Table-driven tests of the decision engine on config/example.json.

use super::*;
use crate::time::IstDateTime;

const EXAMPLE: &str = include_str!("../../../config/example.json");

fn cfg() -> Config {
    Config::from_json(EXAMPLE).unwrap()
}

fn at(ist: &str) -> i64 {
    IstDateTime::parse(ist).unwrap().unix_seconds() * 1000
}

fn q(s: &str) -> CallParams {
    CallParams::from_query(s).unwrap()
}

const MON_NOON: &str = "2026-11-23 12:00:00";
const MON_NIGHT: &str = "2026-11-23 21:00:00";
const REPUBLIC_DAY: &str = "2026-01-26 12:00:00";

fn numbers(a: &ConnectAnswer) -> Vec<String> {
    a.destination.numbers.as_slice().iter().map(|d| d.as_str().to_string()).collect()
}

/// What plan_connect decides, reduced to a comparable string.
fn plan(c: &Config, query: &str, when: &str) -> String {
    match plan_connect(c, &q(query), at(when)) {
        ConnectPlan::Answer(a) => format!("answer {}", numbers(&a).join(",")),
        ConnectPlan::NoDial(why) => format!("nodial {why}"),
        ConnectPlan::Group(g) => format!("group {}", g.name),
    }
}

#[test]
fn connect_plans_table() {
    let c = cfg();
    let main = "CallSid=s&CallTo=08047115777";
    let cases: &[(&str, &str, &str)] = &[
        (&format!("{main}&CallFrom=09900112233&digits=%221%22"), MON_NOON, "group sales"),
        (&format!("{main}&CallFrom=09900112233&digits=%222%22"), MON_NOON, "group support"),
        (&format!("{main}&CallFrom=09900112233&digits=%227%22"), MON_NOON, "group support"),
        (&format!("{main}&CallFrom=09900112233"), MON_NOON, "group support"),
        // VIP: the priority group, in and out of hours
        (&format!("{main}&CallFrom=%2B919888888888"), MON_NOON, "group priority"),
        (&format!("{main}&CallFrom=09888888888"), MON_NIGHT, "group priority"),
        // blocked in any form
        (&format!("{main}&CallFrom=9999999999&digits=%221%22"), MON_NOON, "nodial caller is blocked"),
        // out of hours and on a holiday: the closed variant's group
        (&format!("{main}&CallFrom=09900112233&digits=%221%22"), MON_NIGHT, "group night"),
        (&format!("{main}&CallFrom=09900112233"), REPUBLIC_DAY, "group night"),
        // a line with no closed variant dials nobody when closed
        ("CallSid=s&CallTo=08047115778&CallFrom=09900112233", MON_NOON, "nodial line is closed"),
        ("CallSid=s&CallTo=08047115778&CallFrom=09900112233", "2026-11-29 23:00:00", "group night"),
        ("CallSid=s&CallTo=08047115778&CallFrom=09900112233", "2026-11-30 05:59:00", "group night"),
        // unknown ExoPhone: default line has no connect: the fallback
        ("CallSid=s&CallTo=08000000000", MON_NOON, "answer +919812345678"),
    ];
    for (query, when, want) in cases {
        assert_eq!(plan(&c, query, when), *want, "{query} at {when}");
    }
}

fn group_plan<'a>(c: &'a Config, query: &str) -> GroupPlan<'a> {
    match plan_connect(c, &q(query), at(MON_NOON)) {
        ConnectPlan::Group(g) => g,
        other => panic!("expected a group, got {other:?}"),
    }
}

#[test]
fn round_robin_answers_with_settings_and_refetch() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%221%22");
    assert!(g.needs_rotation() && g.needs_call_state() && !g.needs_sticky());
    let out = group_answer(&g, &GroupState { rotation: 4, ..Default::default() }).unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000002"]);
    assert!(out.answer.fetch_after_attempt);
    assert_eq!(out.answer.max_ringing_duration.map(|r| r.get()), Some(20));
    assert_eq!(out.answer.record, Some(true), "line connect settings carry over");
}

#[test]
fn refetch_order_never_repeats_then_overflows_then_stops() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%221%22");
    let mut state = GroupState { rotation: 0, ..Default::default() };
    let mut seen = Vec::new();
    while let Some(out) = group_answer(&g, &state) {
        seen.push((numbers(&out.answer).join(","), out.overflow));
        state.offered.extend(out.offering);
        assert!(seen.len() < 10, "must terminate");
    }
    assert_eq!(
        seen,
        [
            ("+919800000001".to_string(), false),
            ("+919800000002".to_string(), false),
            ("+919800000003".to_string(), false),
            ("+919812345678".to_string(), true),
        ]
    );
}

#[test]
fn legs_of_a_refetch_count_as_offered() {
    let p = q("CallSid=s&DialCallStatus=no-answer&Legs[0][Number]=09800000001&Legs[1][Number]=09800000002");
    let tried = tried_in_legs(&p);
    assert_eq!(tried.len(), 2);
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%221%22");
    let out = group_answer(&g, &GroupState { offered: tried, ..Default::default() }).unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000003"]);
}

#[test]
fn sticky_agent_first_within_window_only() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%222%22");
    assert!(g.needs_sticky());
    let rec = StickyRecord { agent: Destination::try_from("+919800000013").unwrap(), at_ms: at(MON_NOON) - 60_000 };
    let sticky = rec.agent_within(g.group, at(MON_NOON)).cloned();
    let out = group_answer(&g, &GroupState { sticky, ..Default::default() }).unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000013"]);
    // 25 hours later the window (24 h) has passed.
    assert_eq!(rec.agent_within(g.group, at(MON_NOON) + 25 * 3_600_000), None);
    // A record from the future (clock skew) is not trusted.
    assert_eq!(rec.agent_within(g.group, rec.at_ms - 1), None);
}

#[test]
fn parallel_group_rings_together() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&CallFrom=09888888888");
    let out = group_answer(&g, &GroupState::default()).unwrap();
    assert_eq!(numbers(&out.answer).len(), 3);
    let pr = out.answer.parallel_ringing.clone().unwrap();
    assert!(pr.activate);
    assert_eq!(pr.max_parallel_attempts.get(), 3);
    let v: serde_json::Value = serde_json::from_str(&out.answer.reply().body).unwrap();
    assert_eq!(v["parallel_ringing"]["activate"], true);
}

#[test]
fn learning_sticky_agents() {
    let pop = crate::popup::Popup::from_params(&q("CallSid=c&From=09900112233&DialWhomNumber=09800000012&Status=busy&EventType=Answered"));
    let f = learn_from_popup(&pop).unwrap();
    assert_eq!((f.caller.as_str(), f.agent.as_str()), ("+919900112233", "+919800000012"));
    let ringing = crate::popup::Popup::from_params(&q("CallSid=c&From=09900112233&DialWhomNumber=09800000012&EventType=Ringing"));
    assert_eq!(learn_from_popup(&ringing), None);

    let p = q("CallSid=c&CallFrom=09900112233&DialCallStatus=completed&Legs[0][Number]=09800000011&Legs[0][OnCallDuration]=0&Legs[1][Number]=09800000013&Legs[1][OnCallDuration]=42");
    assert_eq!(learn_from_passthru(&p).unwrap().agent.as_str(), "+919800000013");
    assert_eq!(learn_from_passthru(&q("CallSid=c&CallFrom=09900112233&DialCallStatus=busy&DialWhomNumber=09800000011")), None);
}

#[test]
fn hours_change_gather_greeting_and_passthru() {
    let c = cfg();
    let p = q("CallSid=s&CallTo=08047115777&CallFrom=09900112233");
    assert_eq!(greeting(&c, &p, at(MON_NOON)).body(), "Thanks for calling Super Kart.");
    assert!(greeting(&c, &p, at(MON_NIGHT)).body().starts_with("We are closed"));
    // The closed variant has no gather: the line's own serves.
    assert!(matches!(gather(&c, &p, at(MON_NIGHT)).gather_prompt, crate::gather::Prompt::Text(_)));
    assert_eq!(passthru(&c, &p, at(MON_NOON)).1, Branch::Ok);
    assert_eq!(passthru(&c, &p, at(MON_NIGHT)).1, Branch::Else);
    let blocked = q("CallSid=s&CallTo=08047115777&CallFrom=09999999999");
    assert_eq!(passthru(&c, &blocked, at(MON_NOON)).1, Branch::Else);
    let input = q("CallSid=s&CallTo=08047115777&digits=%2212345%22");
    assert_eq!(passthru(&c, &input, at(MON_NOON)).1, Branch::Else, "5 digits is not a phone number");
}

#[test]
fn personalised_greeting_falls_back_to_static_text() {
    let c = cfg();
    let p = q("CallSid=s&CallTo=08047115777&CallFrom=09900112233");
    let mut vars = BTreeMap::new();
    assert_eq!(personal_greeting(&c, &p, at(MON_NOON), &vars).body(), "Thanks for calling Super Kart.");
    vars.insert("name".into(), "Asha".into());
    vars.insert("order_id".into(), "4521".into());
    assert_eq!(personal_greeting(&c, &p, at(MON_NOON), &vars).body(), "Thanks for calling Super Kart.", "eta missing");
    vars.insert("eta".into(), "tomorrow".into());
    assert_eq!(personal_greeting(&c, &p, at(MON_NOON), &vars).body(), "Hello Asha, your order 4521 ships tomorrow.");
    let pb = personal_playback(&c, &p, at(MON_NOON), &vars);
    assert_eq!(serde_json::to_value(&pb).unwrap()["start_call_playback"]["value"], "Customer Asha, order 4521.");
    // Out of hours the closed variant has no personalisation: its static text.
    assert!(personal_greeting(&c, &p, at(MON_NIGHT), &vars).body().starts_with("We are closed"));
}

#[test]
fn config_mistakes_name_their_path() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["menu"]["options"]["1"] = serde_json::json!({"group": "nosuch"});
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("lines.+918047115777.menu.options.1.group") && e.contains("nosuch"), "{e}");

    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["callers"]["block"][0] = "not-a-number".into();
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("callers.block[0]"), "{e}");

    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["personalize"]["lookup"]["timeout_ms"] = 6000.into();
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("timeout_ms") && e.contains("5 s"), "{e}");

    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["closed"]["hours"] = serde_json::json!({"weekly": {}});
    assert!(Config::from_json(&v.to_string()).is_err());

    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["groups"]["sales"]["strategy"] = "random".into();
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("groups.sales.strategy"), "{e}");
}
