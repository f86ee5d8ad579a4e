//! CPU of one callback's decision, natively: parse the request, decide from
//! the largest realistic config (500 agents in 50 groups, 50 lines with
//! hours, menus, personalised greetings, passthru rules, caller lists),
//! serialise the answer. Everything the worker does per request except I/O.
//!
//! `cargo bench -p handlers` (target: each under 20 µs; see BENCHMARKS.md).
//! The config is generated here, so the figures do not depend on a file.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use handlers::config::Config;
use handlers::params::CallParams;
use handlers::reply::Reply;
use handlers::routing::{self, Call, ConnectPlan, Form, GroupState};
use handlers::status::StatusReport;
use serde_json::{json, Value};

const LINES: usize = 50;
const GROUPS: usize = 50;
const AGENTS_PER_GROUP: usize = 10;
const LISTED_CALLERS: usize = 200;

/// Wednesday 2026-05-13 11:00 IST: inside every line's business hours.
const OPEN_NOW_MS: i64 = 1_778_650_200_000;

/// The line the benches call: the last one, so no lookup is luckily short.
const EXOPHONE: &str = "08047115049";
const CALLER: &str = "09876543210";

fn agent(group: usize, i: usize) -> String {
    format!("+9198{:03}{:05}", group, i)
}

fn exophone(line: usize) -> String {
    format!("+9180471150{:02}", line)
}

/// The config document: each group has ten agents (500 in all), each line
/// the shape of config/example.json's main line with its own menu of nine
/// groups.
pub fn large_config() -> String {
    let strategies = ["round_robin", "sequential", "parallel", "sticky"];
    let mut groups = serde_json::Map::new();
    for g in 0..GROUPS {
        let agents: Vec<String> = (0..AGENTS_PER_GROUP).map(|i| agent(g, i)).collect();
        groups.insert(
            format!("g{g:02}"),
            json!({
                "strategy": strategies[g % strategies.len()],
                "agents": agents,
                "per_attempt": 2,
                "ring_seconds": 20,
                "sticky_minutes": 1440,
                "fetch_after_attempt": true
            }),
        );
    }
    let mut lines = serde_json::Map::new();
    for l in 0..LINES {
        let options: serde_json::Map<String, Value> = (1..=9)
            .map(|d| {
                (
                    d.to_string(),
                    json!({ "group": format!("g{:02}", (l + d) % GROUPS) }),
                )
            })
            .collect();
        lines.insert(
            exophone(l),
            json!({
                "name": format!("Line {l}: IVR, business hours, personal greeting"),
                "hours": {
                    "timezone": "Asia/Kolkata",
                    "weekly": {
                        "mon": ["09:00-13:00", "14:00-18:00"], "tue": ["09:00-13:00", "14:00-18:00"],
                        "wed": ["09:00-13:00", "14:00-18:00"], "thu": ["09:00-13:00", "14:00-18:00"],
                        "fri": ["09:00-13:00", "14:00-18:00"], "sat": ["10:00-14:00"]
                    },
                    "holidays": ["2026-01-26", "2026-03-04", "2026-04-03", "2026-08-15", "2026-10-02", "2026-11-08"]
                },
                "greeting": { "text": format!("Thanks for calling line {l}.") },
                "personalize": {
                    "lookup": { "kv": true, "origin": "https://crm.example.com/callers/{caller}", "timeout_ms": 800, "cache_seconds": 300 },
                    "greeting": "Hello {{name}}, your order {{order_id}} ships {{eta}}.",
                    "playback": "Customer {{name}}, order {{order_id}}."
                },
                "gather": {
                    "gather_prompt": { "text": "For sales press 1. For support press 2. For anything else press 3 to 9." },
                    "max_input_digits": 1,
                    "finish_on_key": "",
                    "input_timeout": 5,
                    "repeat_menu": 2
                },
                "menu": { "options": options, "invalid": { "group": format!("g{:02}", l % GROUPS) } },
                "vip_agents": format!("g{:02}", (l + 10) % GROUPS),
                "connect": {
                    "destination": { "numbers": ["+919812345678"] },
                    "record": true,
                    "recording_channels": "dual",
                    "max_conversation_duration": 3600,
                    "music_on_hold": { "type": "default_tone" }
                },
                "playback": {
                    "start_call_playback": { "playback_to": "callee", "type": "text", "value": format!("Call from line {l}.") }
                },
                "passthru": {
                    "rules": [
                        { "when": { "open": false }, "branch": "else" },
                        { "when": { "answered_by_in": ["MACHINE"] }, "branch": "else" },
                        { "when": { "digits_len": 10 }, "branch": "ok" },
                        { "when": { "has_digits": true }, "branch": "else" }
                    ],
                    "default": "ok"
                },
                "closed": {
                    "greeting": { "text": "We are closed. Our hours are nine to six, Monday to Friday." },
                    "agents": format!("g{:02}", (l + 20) % GROUPS)
                }
            }),
        );
    }
    // Listed callers that are not the bench's caller: the lists are searched in full.
    let block: Vec<String> = (0..LISTED_CALLERS)
        .map(|i| format!("+91997{:07}", i))
        .collect();
    let vip: Vec<String> = (0..LISTED_CALLERS)
        .map(|i| format!("+91996{:07}", i))
        .collect();
    json!({
        "version": 1,
        "cache_ttl_seconds": 60,
        "groups": groups,
        "callers": { "block": block, "vip": vip },
        "lines": lines,
        "default_line": { "greeting": { "text": "Thanks for calling. Please hold." } },
        "fallback": {
            "connect": { "destination": { "numbers": ["+919812345678"] }, "max_ringing_duration": 45 },
            "gather": { "gather_prompt": { "text": "Please enter your choice, then press hash." }, "max_input_digits": 1 },
            "greeting": { "text": "Thanks for calling. Please hold." },
            "playback": {},
            "passthru": "ok"
        }
    })
    .to_string()
}

/// Connect after the caller pressed 9: the menu's group, ordered by the
/// rotation counter the worker would have read, minus the agents Exotel
/// reports as already tried (a re-fetch with two legs).
fn connect_query() -> String {
    format!(
        "CallSid=b6cf2a0e7c4d4e51a2f0c3d9e8f7a6b5&CallFrom={CALLER}&CallTo={EXOPHONE}&Direction=incoming\
         &Created=Wed%2C+13+May+2026+11%3A00%3A00&digits=%229%22&CurrentTime=2026-05-13+11%3A00%3A05\
         &flow_id=4242&From={CALLER}&To={EXOPHONE}\
         &Legs%5B0%5D%5BNumber%5D={}&Legs%5B0%5D%5BType%5D=single&Legs%5B0%5D%5BCauseCode%5D=NO_ANSWER\
         &Legs%5B1%5D%5BNumber%5D={}&Legs%5B1%5D%5BType%5D=single&Legs%5B1%5D%5BCauseCode%5D=USER_BUSY",
        agent(8, 0).replace('+', "%2B"),
        agent(8, 1).replace('+', "%2B"),
    )
}

fn plain_query() -> String {
    format!(
        "CallSid=b6cf2a0e7c4d4e51a2f0c3d9e8f7a6b5&CallFrom={CALLER}&CallTo={EXOPHONE}&Direction=incoming\
         &Created=Wed%2C+13+May+2026+11%3A00%3A00&CurrentTime=2026-05-13+11%3A00%3A05&flow_id=4242\
         &From={CALLER}&To={EXOPHONE}"
    )
}

/// Passthru after a Connect, with Exotel's JSON-string Legs (seed's sample shape).
fn passthru_query() -> String {
    format!(
        "CallSid=b6cf2a0e7c4d4e51a2f0c3d9e8f7a6b5&CallFrom={CALLER}&CallTo={EXOPHONE}&CallStatus=completed\
         &Direction=incoming&Created=Wed%2C+13+May+2026+11%3A00%3A00&DialCallDuration=19\
         &RecordingUrl=https%3A%2F%2Frecordings.example%2Fb6.mp3&StartTime=2026-05-13+11%3A00%3A00\
         &DialCallStatus=completed&CallType=completed&DialWhomNumber={dw}&flow_id=4242&digits=%229%22\
         &From={CALLER}&To={EXOPHONE}&CurrentTime=2026-05-13+11%3A02%3A00&OutgoingPhoneNumber={EXOPHONE}\
         &Legs=%5B%7B%22Number%22%3A+%22{dw}%22%2C+%22Type%22%3A+%22single%22%2C+%22OnCallDuration%22%3A+%228%22\
         %2C+%22CallerId%22%3A+%22{EXOPHONE}%22%2C+%22CauseCode%22%3A+%22NORMAL_CLEARING%22%2C+%22Cause%22%3A+%2216%22\
         %2C+%22DisconnectedBy%22%3A+%22Caller%22%7D%5D",
        dw = agent(9, 2).replace('+', "%2B"),
    )
}

/// A terminal StatusCallback with AMD, as JSON (seed 195-240's shape).
const STATUS_JSON: &str = r#"{
  "CallSid": "b6cf2a0e7c4d4e51a2f0c3d9e8f7a6b5", "ConversationDuration": "13",
  "DateCreated": "2026-05-13 11:00:00", "DateUpdated": "2026-05-13 11:02:00",
  "DetailedStatus": "NA", "Direction": "inbound", "DisconnectedBy": "Callee",
  "EndTime": "2026-05-13 11:02:00", "EventType": "terminal", "From": "09876543210",
  "Legs": [
    {"OnCallDuration": "26", "RingingDuration": "5", "Status": "completed", "AnsweredBy": "NA", "AmdCause": ""},
    {"OnCallDuration": "13", "RingingDuration": "4", "Status": "completed", "AnsweredBy": "HUMAN", "AmdCause": "HUMAN-080-880"}
  ],
  "PhoneNumberSid": "8224778996", "RecordingUrl": "https://recordings.example/b6.mp3",
  "StartTime": "2026-05-13 11:00:00", "Status": "completed", "To": "08047115049"
}"#;

/// What the worker does for Connect once its lookups answered.
fn connect(cfg: &Config, query: &str, rotation: u64) -> Reply {
    let Ok(p) = CallParams::from_query(query) else {
        return Reply::error(400, "bad query");
    };
    let state = GroupState {
        rotation,
        offered: routing::tried_in_legs(&p),
        ..Default::default()
    };
    let plan = routing::plan_connect(cfg, Call::from(&p), OPEN_NOW_MS);
    Form::Json.reply(plan.answer(|g| routing::group_answer(g, &state).map(|o| o.answer)))
}

fn caller_record() -> BTreeMap<String, String> {
    handlers::config::template::record_vars(
        &json!({ "name": "Asha", "order_id": "SK-1042", "eta": "tomorrow" }),
    )
}

/// Fails the bench run if the generated config does not take the paths the
/// figures claim to measure.
fn check_paths(cfg: &Config) {
    let connect_q = connect_query();
    let p = CallParams::from_query(&connect_q).expect("connect query parses");
    assert_eq!(p.legs.len(), 2, "re-fetch carries two legs");
    assert!(
        matches!(
            routing::plan_connect(cfg, Call::from(&p), OPEN_NOW_MS),
            ConnectPlan::Group(_)
        ),
        "connect routes to a group"
    );
    let r = connect(cfg, &connect_q, 7);
    assert_eq!(r.status, 200, "{}", r.body);
    for tried in [agent(8, 0), agent(8, 1)] {
        assert!(
            !r.body.contains(&tried),
            "tried agent {tried} offered again: {}",
            r.body
        );
    }
    let plain = CallParams::from_query(&plain_query()).unwrap();
    let greeting = handlers::decide::greeting(cfg, &plain, OPEN_NOW_MS, &caller_record());
    assert!(
        greeting.body.contains("Asha"),
        "greeting is personalised: {}",
        greeting.body
    );
    let gather = handlers::decide::gather(cfg, &plain, OPEN_NOW_MS);
    assert!(gather.body.contains("press 1"), "{}", gather.body);
    let status = StatusReport::from_json(STATUS_JSON.as_bytes()).expect("status JSON parses");
    assert_eq!(status.legs.len(), 2);
}

fn benches(c: &mut Criterion) {
    let doc = large_config();
    let cfg = Config::from_json(&doc).expect("generated config is valid");
    assert_eq!(cfg.lines.len(), LINES);
    assert_eq!(
        cfg.groups.values().map(|g| g.agents.len()).sum::<usize>(),
        GROUPS * AGENTS_PER_GROUP
    );
    check_paths(&cfg);

    let connect_q = connect_query();
    let plain_q = plain_query();
    let passthru_q = passthru_query();
    let vars = caller_record();

    let mut g = c.benchmark_group("callback");
    g.bench_function("connect", |b| {
        b.iter(|| connect(&cfg, black_box(&connect_q), black_box(7)))
    });
    g.bench_function("gather", |b| {
        b.iter(|| match CallParams::from_query(black_box(&plain_q)) {
            Ok(p) => handlers::decide::gather(&cfg, &p, OPEN_NOW_MS),
            Err(_) => Reply::error(400, "bad query"),
        })
    });
    g.bench_function("greeting", |b| {
        b.iter(|| match CallParams::from_query(black_box(&plain_q)) {
            Ok(p) => handlers::decide::greeting(&cfg, &p, OPEN_NOW_MS, black_box(&vars)),
            Err(_) => Reply::error(400, "bad query"),
        })
    });
    g.bench_function("dialwhom", |b| {
        b.iter(|| match CallParams::from_query(black_box(&connect_q)) {
            Ok(p) => handlers::decide::dialwhom(&cfg, &p, OPEN_NOW_MS),
            Err(_) => Reply::error(400, "bad query"),
        })
    });
    g.bench_function("passthru", |b| {
        b.iter(|| match CallParams::from_query(black_box(&passthru_q)) {
            Ok(p) => {
                let (_, branch) = routing::passthru(&cfg, &p, OPEN_NOW_MS);
                black_box(routing::learn_from_passthru(&p));
                handlers::answer::passthru::reply(branch)
            }
            Err(_) => Reply::error(400, "bad query"),
        })
    });
    g.bench_function("status_json", |b| {
        b.iter(
            || match StatusReport::from_json(black_box(STATUS_JSON.as_bytes())) {
                Ok(r) => {
                    // A StatusCallback teaches sticky routing nothing (docs/routing.md).
                    black_box(r.log_line());
                    handlers::status::reply()
                }
                Err(_) => Reply::error(400, "bad body"),
            },
        )
    });
    g.finish();

    // Where the time goes: the request parse alone (no config involved).
    let mut g = c.benchmark_group("parse_only");
    g.bench_function("plain_query", |b| {
        b.iter(|| CallParams::from_query(black_box(&plain_q)).map(|p| p.call_sid.len()))
    });
    g.bench_function("passthru_query", |b| {
        b.iter(|| CallParams::from_query(black_box(&passthru_q)).map(|p| p.legs.len()))
    });
    g.finish();

    // Once per isolate (and per config change), not per request.
    let mut g = c.benchmark_group("config");
    g.bench_function("parse_500_agents_50_lines", |b| {
        b.iter(|| Config::from_json(black_box(&doc)).map(|c| c.lines.len()))
    });
    g.finish();
}

criterion_group!(callbacks, benches);
criterion_main!(callbacks);
