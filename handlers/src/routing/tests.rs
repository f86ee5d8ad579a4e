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
    a.destination
        .numbers
        .as_slice()
        .iter()
        .map(|d| d.as_str().to_string())
        .collect()
}

/// What plan_connect decides, reduced to a comparable string.
fn plan(c: &Config, query: &str, when: &str) -> String {
    match plan_connect(c, Call::from(&q(query)), at(when)) {
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
        (
            &format!("{main}&CallFrom=09900112233&digits=%221%22"),
            MON_NOON,
            "group sales",
        ),
        (
            &format!("{main}&CallFrom=09900112233&digits=%222%22"),
            MON_NOON,
            "group support",
        ),
        (
            &format!("{main}&CallFrom=09900112233&digits=%227%22"),
            MON_NOON,
            "group support",
        ),
        (
            &format!("{main}&CallFrom=09900112233"),
            MON_NOON,
            "group support",
        ),
        // VIP: the priority group, in and out of hours
        (
            &format!("{main}&CallFrom=%2B919888888888"),
            MON_NOON,
            "group priority",
        ),
        (
            &format!("{main}&CallFrom=09888888888"),
            MON_NIGHT,
            "group priority",
        ),
        // blocked in any form
        (
            &format!("{main}&CallFrom=9999999999&digits=%221%22"),
            MON_NOON,
            "nodial caller is blocked",
        ),
        // out of hours and on a holiday: the closed variant's group
        (
            &format!("{main}&CallFrom=09900112233&digits=%221%22"),
            MON_NIGHT,
            "group night",
        ),
        (
            &format!("{main}&CallFrom=09900112233"),
            REPUBLIC_DAY,
            "group night",
        ),
        // a line with no closed variant dials nobody when closed
        (
            "CallSid=s&CallTo=08047115778&CallFrom=09900112233",
            MON_NOON,
            "nodial line is closed",
        ),
        (
            "CallSid=s&CallTo=08047115778&CallFrom=09900112233",
            "2026-11-29 23:00:00",
            "group night",
        ),
        (
            "CallSid=s&CallTo=08047115778&CallFrom=09900112233",
            "2026-11-30 05:59:00",
            "group night",
        ),
        // unknown ExoPhone: default line has no connect: the fallback
        (
            "CallSid=s&CallTo=08000000000",
            MON_NOON,
            "answer +919812345678",
        ),
    ];
    for (query, when, want) in cases {
        assert_eq!(plan(&c, query, when), *want, "{query} at {when}");
    }
}

fn group_plan<'a>(c: &'a Config, query: &str) -> GroupPlan<'a> {
    match plan_connect(c, Call::from(&q(query)), at(MON_NOON)) {
        ConnectPlan::Group(g) => g,
        other => panic!("expected a group, got {other:?}"),
    }
}

#[test]
fn round_robin_answers_with_settings_and_refetch() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%221%22");
    assert!(g.needs_rotation() && g.needs_call_state() && !g.needs_sticky());
    let out = group_answer(
        &g,
        &GroupState {
            rotation: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000002"]);
    assert!(out.answer.fetch_after_attempt);
    assert_eq!(out.answer.max_ringing_duration.map(|r| r.get()), Some(20));
    assert_eq!(
        out.answer.record,
        Some(true),
        "line connect settings carry over"
    );
}

#[test]
fn refetch_order_never_repeats_then_overflows_then_stops() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%221%22");
    let mut state = GroupState {
        rotation: 0,
        ..Default::default()
    };
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
    let out = group_answer(
        &g,
        &GroupState {
            offered: tried,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000003"]);
}

#[test]
fn sticky_agent_first_within_window_only() {
    let c = cfg();
    let g = group_plan(&c, "CallSid=s&CallTo=08047115777&digits=%222%22");
    assert!(g.needs_sticky());
    let rec = StickyRecord {
        agent: Destination::try_from("+919800000013").unwrap(),
        at_ms: at(MON_NOON) - 60_000,
    };
    let sticky = rec.agent_within(g.group, at(MON_NOON)).cloned();
    let out = group_answer(
        &g,
        &GroupState {
            sticky,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(numbers(&out.answer), ["+919800000013"]);
    // 25 hours later the window (24 h) has passed.
    assert_eq!(
        rec.agent_within(g.group, at(MON_NOON) + 25 * 3_600_000),
        None
    );
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
    let pop = crate::answer::popup::Popup::from_params(&q(
        "CallSid=c&From=09900112233&DialWhomNumber=09800000012&Status=busy&EventType=Answered",
    ));
    let f = learn_from_popup(&pop).unwrap();
    assert_eq!(
        (f.caller.as_str(), f.agent.as_str()),
        ("+919900112233", "+919800000012")
    );
    let ringing = crate::answer::popup::Popup::from_params(&q(
        "CallSid=c&From=09900112233&DialWhomNumber=09800000012&EventType=Ringing",
    ));
    assert_eq!(learn_from_popup(&ringing), None);

    let p = q("CallSid=c&CallFrom=09900112233&DialCallStatus=completed&Legs[0][Number]=09800000011&Legs[0][OnCallDuration]=0&Legs[1][Number]=09800000013&Legs[1][OnCallDuration]=42");
    assert_eq!(
        learn_from_passthru(&p).unwrap().agent.as_str(),
        "+919800000013"
    );
    assert_eq!(
        learn_from_passthru(&q(
            "CallSid=c&CallFrom=09900112233&DialCallStatus=busy&DialWhomNumber=09800000011"
        )),
        None
    );
}

#[test]
fn hours_change_gather_greeting_and_passthru() {
    let c = cfg();
    let p = q("CallSid=s&CallTo=08047115777&CallFrom=09900112233");
    assert_eq!(
        greeting(&c, Call::from(&p), at(MON_NOON)).body(),
        "Thanks for calling Super Kart."
    );
    assert!(greeting(&c, Call::from(&p), at(MON_NIGHT))
        .body()
        .starts_with("We are closed"));
    // The closed variant has no gather: the line's own serves.
    assert!(matches!(
        gather(&c, Call::from(&p), at(MON_NIGHT)).gather_prompt,
        crate::answer::gather::Prompt::Text(_)
    ));
    assert_eq!(passthru(&c, &p, at(MON_NOON)).1, Branch::Ok);
    assert_eq!(passthru(&c, &p, at(MON_NIGHT)).1, Branch::Else);
    let blocked = q("CallSid=s&CallTo=08047115777&CallFrom=09999999999");
    assert_eq!(passthru(&c, &blocked, at(MON_NOON)).1, Branch::Else);
    let input = q("CallSid=s&CallTo=08047115777&digits=%2212345%22");
    assert_eq!(
        passthru(&c, &input, at(MON_NOON)).1,
        Branch::Else,
        "5 digits is not a phone number"
    );
}

#[test]
fn personalised_greeting_falls_back_to_static_text() {
    let c = cfg();
    let p = q("CallSid=s&CallTo=08047115777&CallFrom=09900112233");
    let mut vars = BTreeMap::new();
    assert_eq!(
        personal_greeting(&c, Call::from(&p), at(MON_NOON), &vars).body(),
        "Thanks for calling Super Kart."
    );
    vars.insert("name".into(), "Asha".into());
    vars.insert("order_id".into(), "4521".into());
    assert_eq!(
        personal_greeting(&c, Call::from(&p), at(MON_NOON), &vars).body(),
        "Thanks for calling Super Kart.",
        "eta missing"
    );
    vars.insert("eta".into(), "tomorrow".into());
    assert_eq!(
        personal_greeting(&c, Call::from(&p), at(MON_NOON), &vars).body(),
        "Hello Asha, your order 4521 ships tomorrow."
    );
    let pb = personal_playback(&c, Call::from(&p), at(MON_NOON), &vars);
    assert_eq!(
        serde_json::to_value(&pb).unwrap()["start_call_playback"]["value"],
        "Customer Asha, order 4521."
    );
    // Out of hours the closed variant has no personalisation: its static text.
    assert!(personal_greeting(&c, Call::from(&p), at(MON_NIGHT), &vars)
        .body()
        .starts_with("We are closed"));
}

#[test]
fn config_mistakes_name_their_path() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["menu"]["options"]["1"] = serde_json::json!({"group": "nosuch"});
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("lines.+918047115777.menu.options.1.group") && e.contains("nosuch"),
        "{e}"
    );

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

/// The example config with lines for the defects of issue 11: static
/// dial-whom numbers, a closed part naming only a greeting, and hours in
/// daylight-saving zones.
fn cfg11() -> Config {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let lines = v["lines"].as_object_mut().unwrap();
    // Static dial-whom numbers, open Monday to Friday 09:00-18:00 IST, no closed part.
    lines.insert(
        "+918047115780".into(),
        serde_json::json!({
            "hours": {"weekly": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"]}},
            "dialwhom": ["+919811111111"]
        }),
    );
    // The same with a closed part that names its own dial-whom numbers.
    lines.insert(
        "+918047115781".into(),
        serde_json::json!({
            "hours": {"weekly": {"mon": ["09:00-18:00"]}},
            "dialwhom": ["+919811111111"],
            "closed": {"dialwhom": ["+919822222222"]}
        }),
    );
    // A closed part that names only a greeting: agents, menu, connect and
    // dial-whom numbers stay the line's.
    lines.insert(
        "+918047115782".into(),
        serde_json::json!({
            "hours": {"weekly": {"mon": ["09:00-18:00"]}},
            "menu": {"options": {"1": {"group": "sales"}, "2": {"group": "support"}}},
            "agents": "night",
            "connect": {"destination": {"numbers": ["+919833333333"]}},
            "dialwhom": ["+919811111111"],
            "closed": {"greeting": {"text": "We are closed; an agent may still pick up."}}
        }),
    );
    // Hours in New York and London.
    lines.insert(
        "+918047115790".into(),
        serde_json::json!({"hours": {"timezone": "America/New_York", "weekly": {"mon": ["09:00-17:00"]}}, "agents": "night"}),
    );
    lines.insert(
        "+918047115791".into(),
        serde_json::json!({"hours": {"timezone": "Europe/London", "weekly": {"mon": ["09:00-17:00"]}}, "agents": "night"}),
    );
    Config::from_json(&v.to_string())
        .unwrap()
        .with_zone_offsets(crate::config::hours::tzdb)
}

fn dialwhom(c: &Config, query: &str, when: i64) -> (u16, String) {
    let r = Form::Text.reply(plan_dialwhom(c, Call::from(&q(query)), when).stateless());
    (r.status, r.body.into_string())
}

#[test]
fn static_dialwhom_numbers_respect_block_list_and_hours() {
    let c = cfg11();
    let line = "CallSid=s&CallTo=08047115780";
    assert_eq!(
        dialwhom(&c, &format!("{line}&CallFrom=09900112233"), at(MON_NOON)),
        (200, "+919811111111".into())
    );
    // A blocked caller is never dialled through, in any number form.
    let (status, _) = dialwhom(&c, &format!("{line}&CallFrom=9999999999"), at(MON_NOON));
    assert_eq!(status, 403, "blocked caller");
    // Closed, no closed part: nobody is dialled.
    let (status, body) = dialwhom(&c, &format!("{line}&CallFrom=09900112233"), at(MON_NIGHT));
    assert_eq!(status, 403, "closed line");
    assert!(body.contains("closed"), "{body}");
    // Closed with a closed part naming its own numbers: those.
    let line = "CallSid=s&CallTo=08047115781";
    assert_eq!(
        dialwhom(&c, &format!("{line}&CallFrom=09900112233"), at(MON_NIGHT)),
        (200, "+919822222222".into())
    );
    assert_eq!(
        dialwhom(&c, &format!("{line}&CallFrom=09900112233"), at(MON_NOON)),
        (200, "+919811111111".into())
    );
    // VIPs are always in hours.
    assert_eq!(
        dialwhom(&c, &format!("{line}&CallFrom=09888888888"), at(MON_NIGHT)),
        (200, "+919811111111".into())
    );
    // The main line's closed part routes to its agents: dial-whom follows it.
    let (status, body) = dialwhom(
        &c,
        "CallSid=s&CallTo=08047115777&CallFrom=09900112233",
        at(MON_NIGHT),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "+919800000031,+919800000032")
    );
}

#[test]
fn a_closed_part_overrides_only_what_it_names() {
    let c = cfg11();
    let line = "CallSid=s&CallTo=08047115782&CallFrom=09900112233";
    // Out of hours the menu and the agents are still the line's ...
    assert_eq!(
        plan(&c, &format!("{line}&digits=%222%22"), MON_NIGHT),
        "group support"
    );
    assert_eq!(
        plan(&c, &format!("{line}&digits=%221%22"), MON_NIGHT),
        "group sales"
    );
    assert_eq!(plan(&c, line, MON_NIGHT), "group night");
    // ... and so is whom dial-whom dials ...
    assert_eq!(
        dialwhom(&c, line, at(MON_NIGHT)),
        (200, "+919811111111".into())
    );
    // ... while the greeting is the closed part's.
    assert!(greeting(&c, Call::from(&q(line)), at(MON_NIGHT))
        .body()
        .starts_with("We are closed"));
    assert_eq!(
        greeting(&c, Call::from(&q(line)), at(MON_NOON)).body(),
        "Thanks for calling. Please hold.",
        "the default line's"
    );

    // A closed part naming agents takes every after-hours call there,
    // whatever the caller pressed in the line's menu.
    let main = "CallSid=s&CallTo=08047115777&CallFrom=09900112233";
    assert_eq!(
        plan(&c, &format!("{main}&digits=%221%22"), MON_NIGHT),
        "group night"
    );
    // A closed part naming a menu replaces the line's menu.
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["closed"] =
        serde_json::json!({"menu": {"options": {"9": {"group": "night"}}}});
    let c = Config::from_json(&v.to_string()).unwrap();
    assert_eq!(
        plan(&c, &format!("{main}&digits=%229%22"), MON_NIGHT),
        "group night"
    );
    assert_eq!(
        plan(&c, &format!("{main}&digits=%221%22"), MON_NIGHT),
        "answer +919812345678",
        "no line menu, no agents: the connect part"
    );
    assert_eq!(
        plan(&c, &format!("{main}&digits=%221%22"), MON_NOON),
        "group sales"
    );
}

#[test]
fn hours_in_dst_zones_through_the_config() {
    let c = cfg11();
    let utc = |s: &str| at(s) + i64::from(crate::time::IST_OFFSET_SECONDS) * 1000;
    let ny = "CallSid=s&CallTo=08047115790&CallFrom=09900112233";
    let london = "CallSid=s&CallTo=08047115791&CallFrom=09900112233";
    let cases = [
        // New York, Monday 09:00 local: 14:00 UTC in EST (before 8 March), 13:00 UTC in EDT.
        (ny, "2026-03-02 13:30:00", false),
        (ny, "2026-03-02 14:00:00", true),
        (ny, "2026-03-09 12:59:00", false),
        (ny, "2026-03-09 13:00:00", true),
        (ny, "2026-11-02 13:30:00", false),
        (ny, "2026-11-02 14:00:00", true),
        // London, Monday 09:00 local: 09:00 UTC in GMT, 08:00 UTC in BST (29 March to 25 October).
        (london, "2026-03-23 08:30:00", false),
        (london, "2026-03-23 09:00:00", true),
        (london, "2026-03-30 08:00:00", true),
        (london, "2026-03-30 07:59:00", false),
        (london, "2026-10-26 08:30:00", false),
        (london, "2026-10-26 09:00:00", true),
    ];
    for (line, t, open) in cases {
        let want = if open {
            "group night"
        } else {
            "nodial line is closed"
        };
        let got = match plan_connect(&c, Call::from(&q(line)), utc(t)) {
            ConnectPlan::Group(g) => format!("group {}", g.name),
            ConnectPlan::NoDial(why) => format!("nodial {why}"),
            ConnectPlan::Answer(_) => "answer".into(),
        };
        assert_eq!(got, want, "{line} at {t} UTC");
    }
    // Without a tz database a DST zone is not guessed: the line reads as
    // open (as a line without hours), the documented safe answer.
    let mut bare = c.clone();
    bare.zone_offsets = crate::config::ZoneOffsets(None);
    assert!(matches!(
        plan_connect(&bare, Call::from(&q(ny)), utc("2026-03-09 03:00:00")),
        ConnectPlan::Group(_)
    ));
}

#[test]
fn zones_the_runtime_does_not_know_are_refused_with_their_path() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["lines"]["+918047115777"]["hours"]["timezone"] = "America/Atlantis".into();
    let c = Config::from_json(&v.to_string()).unwrap();
    assert_eq!(
        c.named_zones(),
        [
            (
                "lines.+14155550100.hours.timezone".to_string(),
                "America/New_York"
            ),
            (
                "lines.+918047115777.hours.timezone".to_string(),
                "America/Atlantis"
            )
        ]
    );
    let e = c
        .check_zones(|z| crate::config::hours::tzdb(z, 0).is_some())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lines.+918047115777.hours.timezone") && e.contains("America/Atlantis"),
        "{e}"
    );
    assert!(cfg11()
        .check_zones(|z| crate::config::hours::tzdb(z, 0).is_some())
        .is_ok());

    v["lines"]["+918047115777"]["hours"]["timezone"] = "Mars/Olympus_Mons".into();
    let e = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("lines.+918047115777.hours.timezone") && e.contains("unknown time zone"),
        "{e}"
    );
}

/// What Exotel really sends (seed 17923-17946 popup; 18018-18063 passthru
/// sample 1; 18064-18083 sample 2) teaches sticky routing.
#[test]
fn sticky_learning_from_real_payloads() {
    // Popup: From, DialWhomNumber, Status, EventType. Only "Answered" says who picked up.
    for (event, learns) in [
        ("Dial", false),
        ("Ringing", false),
        ("Answered", true),
        ("Terminal", false),
    ] {
        let pop = crate::answer::popup::Popup::from_params(&q(&format!(
            "CallSid=c&From=09900112233&DialWhomNumber=09800000012&Status=busy&EventType={event}"
        )));
        assert_eq!(learn_from_popup(&pop).is_some(), learns, "{event}");
    }
    // Passthru sample 1: Legs as a JSON string, OnCallDuration a string.
    let s1 = "CallSid=56ad12c0e29d&CallFrom=09900112233&CallTo=08047115777&CallStatus=completed&Direction=incoming\
        &DialCallDuration=19&DialCallStatus=completed&CallType=completed&DialWhomNumber=09800000012\
        &From=09900112233&To=08047115777\
        &Legs=%5B%7B%22Number%22%3A%20%2209800000012%22%2C%20%22Type%22%3A%20%22single%22%2C%20%22OnCallDuration%22%3A%20%228%22%7D%5D";
    let f = learn_from_passthru(&q(s1)).unwrap();
    assert_eq!(
        (f.caller.as_str(), f.agent.as_str()),
        ("+919900112233", "+919800000012")
    );
    // Sample 2 (a Gather before; no Legs): DialWhomNumber, the agent dialled last, answered.
    let s2 =
        "CallSid=b8013b5546750a&CallFrom=09900112233&CallTo=08047115777&CallStatus=in-progress\
        &DialCallStatus=completed&CallType=completed&DialWhomNumber=09800000013&digits=%2215246%22";
    assert_eq!(
        learn_from_passthru(&q(s2)).unwrap().agent.as_str(),
        "+919800000013"
    );
    // Nobody answered: nothing learnt.
    let missed = "CallSid=c&CallFrom=09900112233&DialCallStatus=no-answer&CallType=incomplete&DialWhomNumber=09800000011";
    assert_eq!(learn_from_passthru(&q(missed)), None);
}

/// The trace's reason names the rule that made each plan of the table above.
#[test]
fn explain_names_the_rule_of_the_plan() {
    let c = cfg();
    let main = "CallSid=s&CallTo=08047115777";
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            &format!("{main}&CallFrom=09900112233&digits=%221%22"),
            MON_NOON,
            "menu",
            Some("sales"),
        ),
        (
            &format!("{main}&CallFrom=09900112233&digits=%227%22"),
            MON_NOON,
            "menu.invalid",
            Some("support"),
        ),
        (
            &format!("{main}&CallFrom=%2B919888888888"),
            MON_NIGHT,
            "vip_agents",
            Some("priority"),
        ),
        (
            &format!("{main}&CallFrom=9999999999"),
            MON_NOON,
            "blocked",
            None,
        ),
        (
            &format!("{main}&CallFrom=09900112233&digits=%221%22"),
            MON_NIGHT,
            "closed.agents",
            Some("night"),
        ),
        (
            "CallSid=s&CallTo=08047115778&CallFrom=09900112233",
            MON_NOON,
            "closed",
            None,
        ),
        ("CallSid=s&CallTo=08000000000", MON_NOON, "connect", None),
    ];
    for (query, when, rule, group) in cases {
        let why = explain(&c, Call::from(&q(query)), at(when), Explain::Connect);
        assert_eq!(
            (why.rule, why.group.as_deref()),
            (*rule, *group),
            "{query} at {when}"
        );
    }
    let night = explain(
        &c,
        Call::from(&q(&format!("{main}&CallFrom=09900112233"))),
        at(MON_NIGHT),
        Explain::Other,
    );
    assert_eq!((night.rule, night.open), ("closed", false));
    let blocked = explain(
        &c,
        Call::from(&q(&format!("{main}&CallFrom=9999999999"))),
        at(MON_NOON),
        Explain::Connect,
    );
    assert_eq!(blocked.no_dial, Some("caller is blocked"));
}

/// Every caller turns a plan into an answer through `ConnectPlan::answer`
/// and `Form::reply`: a group with nothing left to offer and a plan that
/// dials nobody are both "we didn't dial anyone" (403), in either form.
#[test]
fn one_plan_to_answer_path_for_every_form() {
    let c = cfg();
    let main = "CallSid=s&CallTo=08047115777&CallFrom=09900112233";
    let group = || {
        plan_connect(
            &c,
            Call::from(&q(&format!("{main}&digits=%221%22"))),
            at(MON_NOON),
        )
    };
    assert!(group().group().is_some());
    let first = group().stateless().unwrap();
    let g = group().group().cloned().unwrap();
    assert_eq!(**first, stateless_answer(&g));
    assert_eq!(Form::Json.reply(Ok(first.clone())).body, first.reply().body);
    assert_eq!(
        Form::Text.reply(Ok(first.clone())).body,
        crate::answer::dialwhom::reply(&first.destination.numbers).body
    );
    assert_eq!(group().answer(|_| None), Err(ALL_OFFERED));
    for form in [Form::Json, Form::Text] {
        let r = form.reply(group().answer(|_| None));
        assert_eq!(
            (r.status, r.body.contains(ALL_OFFERED)),
            (403, true),
            "{form:?}"
        );
    }
    let blocked = q("CallSid=s&CallTo=08047115777&CallFrom=9999999999&digits=%221%22");
    let blocked = plan_connect(&c, Call::from(&blocked), at(MON_NOON));
    assert!(blocked.group().is_none());
    let why = blocked.clone().stateless().unwrap_err();
    assert_eq!(why, "caller is blocked");
    assert_eq!(blocked.answer(|_| unreachable!()), Err(why));
    assert_eq!(Form::Text.reply(Err(why)).status, 403);
}

/// The config's own answers keep their reply (`Static`) once served; an
/// answer changed for one call (a menu's numbers, a personalised greeting)
/// must never be answered with that kept reply, whichever is served first.
#[test]
fn a_kept_static_reply_never_answers_a_changed_answer() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let line = &mut v["lines"]["+918047115777"];
    line["menu"]["options"]["5"] = serde_json::json!({"numbers": ["+919700000005"]});
    line["menu"].as_object_mut().unwrap().remove("invalid");
    line.as_object_mut().unwrap().remove("agents");
    line["connect"] = serde_json::json!({"destination": {"numbers": ["+919812345678"]}});
    let c = Config::from_json(&v.to_string()).unwrap();
    let main = "CallSid=s&CallTo=08047115777&CallFrom=09900112233";
    let connect = |digits: &str| {
        let p = q(&format!("{main}{digits}"));
        Form::Json
            .reply(plan_connect(&c, Call::from(&p), at(MON_NOON)).stateless())
            .body
    };
    for _ in 0..2 {
        let line_answer = connect("");
        assert!(line_answer.contains("+919812345678"), "{line_answer}");
        let menu_answer = connect("&digits=%225%22");
        assert!(
            menu_answer.contains("+919700000005") && !menu_answer.contains("+919812345678"),
            "{menu_answer}"
        );
        // The kept reply is the one a fresh serialisation gives.
        let fresh = ConnectAnswer::reply(c.lines["+918047115777"].connect.as_ref().unwrap());
        assert_eq!(line_answer, fresh.body);
    }
}
