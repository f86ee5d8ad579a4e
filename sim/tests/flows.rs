//! Whole calls against a fake customer server on 127.0.0.1: what the
//! simulator sends, and how it judges, falls back, re-fetches and branches.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exoedge_sim::{run, CallFile, Options, Transcript};
use tiny_http::{Header, Response, Server, StatusCode};

/// A request the fake server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
    fn h(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

/// What the fake server answers.
struct Reply {
    status: u16,
    content_type: Option<&'static str>,
    body: String,
    delay_ms: u64,
}

fn reply(status: u16, ct: Option<&'static str>, body: &str) -> Reply {
    Reply {
        status,
        content_type: ct,
        body: body.to_owned(),
        delay_ms: 0,
    }
}
fn json(body: &str) -> Reply {
    reply(200, Some("application/json"), body)
}
fn text(body: &str) -> Reply {
    reply(200, Some("text/plain"), body)
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// Starts a server; `handler` gets each request and how many earlier
    /// requests had the same method and path. One thread per request, so a
    /// slow answer does not hold up the fallback.
    fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let (s2, seen2) = (server.clone(), seen.clone());
        std::thread::spawn(move || {
            for mut req in s2.incoming_requests() {
                let url = url::Url::parse(&format!("http://x{}", req.url())).unwrap();
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                let s = Seen {
                    method: req.method().as_str().to_owned(),
                    path: url.path().to_owned(),
                    query: url
                        .query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_owned(),
                                h.value.as_str().to_owned(),
                            )
                        })
                        .collect(),
                    body,
                };
                let n = {
                    let mut c = counts.lock().unwrap();
                    let e = c.entry(format!("{} {}", s.method, s.path)).or_default();
                    *e += 1;
                    *e - 1
                };
                seen2.lock().unwrap().push(s.clone());
                let h = handler.clone();
                std::thread::spawn(move || {
                    let r = h(&s, n);
                    std::thread::sleep(Duration::from_millis(r.delay_ms));
                    let mut headers = Vec::new();
                    if let Some(ct) = r.content_type {
                        headers.push(Header::from_bytes("Content-Type", ct).unwrap());
                    }
                    let len = r.body.len();
                    let resp = Response::new(
                        StatusCode(r.status),
                        headers,
                        Cursor::new(r.body.into_bytes()),
                        Some(len),
                        None,
                    );
                    let _ = req.respond(resp);
                });
            }
        });
        Self { base, seen }
    }

    fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .cloned()
            .collect()
    }

    fn all(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn call(toml: &str) -> CallFile {
    let c = CallFile::from_toml(toml).unwrap();
    c.validate().unwrap();
    c
}

fn opts(base: &str) -> Options {
    // Exotel's own 5 s: a loaded machine must not turn a fast answer into a timeout.
    Options {
        base: Some(base.to_owned()),
        ..Options::default()
    }
}

const HEAD: &str =
    "[call]\ncaller = \"09900112233\"\nexophone = \"08047115777\"\ncall_sid = \"sid-1\"\n";

const CONNECT_OK: &str = r#"{"destination": {"numbers": ["+919812345678", "+919812345679"]}, "max_ringing_duration": 20, "record": true, "start_call_playback": {"playback_to": "callee", "type": "text", "value": "Support call"}}"#;

/// The fake customer of the happy path.
fn customer(s: &Seen, _n: usize) -> Reply {
    match s.path.as_str() {
        "/greeting" => text("Welcome to Acme."),
        "/gather" => json(
            r##"{"gather_prompt": {"text": "Enter your PIN"}, "max_input_digits": 4, "finish_on_key": "#"}"##,
        ),
        "/connect" => json(CONNECT_OK),
        "/playback" => json(
            r#"{"start_call_playback": {"playback_to": "both", "type": "text", "value": "Connecting"}}"#,
        ),
        "/popup" => text("ok"),
        "/passthru" if s.q("digits") == Some("\"1234\"") => text("ok"),
        "/passthru" => reply(302, Some("text/plain"), "else"),
        "/status" => text("ok"),
        _ => reply(404, Some("text/plain"), "no"),
    }
}

#[test]
fn happy_path_sends_what_exotel_sends() {
    let fake = Fake::start(customer);
    let c = call(&format!(
        r#"{HEAD}
legs_form = "alternate"
custom_field = "vip"
[[applet]]
kind = "greeting"
url = "/greeting"
[[applet]]
kind = "gather"
url = "/gather"
digits = "12345#"
[[applet]]
kind = "connect"
url = "/connect"
answers = [false, true]
popup = "/popup"
playback = "/playback"
talk_seconds = 40
[[applet]]
kind = "passthru"
url = "/passthru?event=ivr"
[[applet]]
kind = "gather"
url = "/gather"
digits = "9#"
[status_callback]
url = "/status"
"#
    ));
    let t = run(&c, &opts(&fake.base));
    assert!(t.ok, "{}", t.render());
    assert_eq!(t.status, "completed");
    assert_eq!(t.rang, ["+919812345678", "+919812345679"]);
    assert_eq!(t.heard[0], "Welcome to Acme.");
    assert!(t.heard.contains(&"Connecting".to_owned()));
    assert_eq!(
        t.steps[1].digits.as_deref(),
        Some("1234"),
        "max_input_digits 4 stops before the 5"
    );
    assert_eq!(
        t.steps[3].branch.as_deref(),
        Some("Once the URL returns OK (200 OK)")
    );

    // HEAD before GET for greeting and playback, with the same parameters.
    let order: Vec<String> = fake
        .all()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    let pos = |x: &str| order.iter().position(|o| o == x).unwrap();
    assert!(pos("HEAD /greeting") < pos("GET /greeting"));
    assert!(pos("HEAD /playback") < pos("GET /playback"));
    let g = &fake.seen("GET", "/greeting")[0];
    let keys: Vec<&str> = g.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["CallSid", "From", "To", "DialWhomNumber", "CustomField"]
    );

    // Exotel-Version on connect and gather, IST formats, EndTime constant.
    let conn = &fake.seen("GET", "/connect")[0];
    assert_eq!(conn.h("Exotel-Version"), Some("1.0"));
    assert_eq!(
        fake.seen("GET", "/gather")[0].h("Exotel-Version"),
        Some("1.0")
    );
    assert_eq!(conn.q("EndTime"), Some("1970-01-01 05:30:00"));
    assert_eq!(conn.q("digits"), Some("\"1234\""));
    assert_eq!(conn.q("Direction"), Some("incoming"));
    assert!(
        conn.q("StartTime").unwrap().len() == 19
            && conn.q("StartTime").unwrap().as_bytes()[10] == b' '
    );

    // Passthru: the customer's own parameter kept, RFC-like Created, Legs
    // of both attempts (bracketed: the first Legs of this run).
    let p = &fake.seen("GET", "/passthru")[0];
    assert_eq!(p.q("event"), Some("ivr"));
    assert!(
        p.q("Created").unwrap().contains(", "),
        "{:?}",
        p.q("Created")
    );
    assert_eq!(p.q("DialCallStatus"), Some("completed"));
    assert_eq!(p.q("Legs[0][CauseCode]"), Some("NO_ANSWER"));
    assert_eq!(p.q("Legs[1][OnCallDuration]"), Some("40"));
    assert_eq!(p.q("DialWhomNumber"), Some("+919812345679"));
    assert!(p.q("RecordingUrl").is_some());
    // The next request with Legs uses the JSON-string form.
    let g2 = &fake.seen("GET", "/gather")[1];
    let legs: serde_json::Value = serde_json::from_str(g2.q("Legs").unwrap()).unwrap();
    assert_eq!(legs[1]["Number"], "+919812345679");
    assert!(g2.q("Legs[0][Number]").is_none());

    // Popups: Dial/Ringing/Terminal for the first agent, Dial/Ringing/Answered/Terminal for the second.
    let events: Vec<String> = fake
        .seen("GET", "/popup")
        .iter()
        .map(|s| {
            format!(
                "{}:{}:{}",
                s.q("DialWhomNumber").unwrap(),
                s.q("EventType").unwrap(),
                s.q("Status").unwrap()
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            "+919812345678:Dial:busy",
            "+919812345678:Ringing:busy",
            "+919812345678:Terminal:free",
            "+919812345679:Dial:busy",
            "+919812345679:Ringing:busy",
            "+919812345679:Answered:busy",
            "+919812345679:Terminal:free",
        ]
    );

    // StatusCallback: multipart by default.
    let st = &fake.seen("POST", "/status")[0];
    assert!(st
        .h("Content-Type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    assert!(st.body.contains("name=\"CallSid\"\r\n\r\nsid-1\r\n"));
    assert!(st.body.contains("name=\"Status\"\r\n\r\ncompleted\r\n"));
}

#[test]
fn wrong_content_type_uses_the_fallback() {
    let fake = Fake::start(|s, _| match s.path.as_str() {
        "/connect" => reply(200, Some("application/json; charset=utf-8"), CONNECT_OK),
        "/connect-fb" => json(r#"{"destination": {"numbers": ["+919000000001"]}}"#),
        _ => reply(404, None, ""),
    });
    let c = call(&format!(
        "{HEAD}[[applet]]\nkind = \"connect\"\nurl = \"/connect\"\nfallback = \"/connect-fb\"\n"
    ));
    let t = run(&c, &opts(&fake.base));
    assert!(t.ok, "{}", t.render());
    let s = &t.steps[0];
    assert!(s.fallback_used);
    assert!(
        s.fallback_reason
            .as_deref()
            .unwrap()
            .contains("Content-Type is \"application/json; charset=utf-8\""),
        "{:?}",
        s.fallback_reason
    );
    assert_eq!(t.rang, ["+919000000001"]);
    assert_eq!(
        fake.seen("GET", "/connect-fb")[0].h("Exotel-Version"),
        Some("1.0")
    );
}

#[test]
fn timeout_uses_the_fallback() {
    let fake = Fake::start(|s, _| match s.path.as_str() {
        "/gather" => Reply {
            delay_ms: 4000,
            ..json(r#"{"gather_prompt": {"text": "slow"}}"#)
        },
        "/gather-fb" => json(r#"{"gather_prompt": {"text": "Press 1"}, "max_input_digits": 1}"#),
        _ => reply(404, None, ""),
    });
    let c = call(&format!("{HEAD}[[applet]]\nkind = \"gather\"\nurl = \"/gather\"\nfallback = \"/gather-fb\"\ndigits = \"1\"\n"));
    // A shorter wait than Exotel's 5 s keeps the test quick; the rule is the same.
    let t = run(
        &c,
        &Options {
            timeout: Duration::from_millis(1500),
            ..opts(&fake.base)
        },
    );
    assert!(t.ok, "{}", t.render());
    let s = &t.steps[0];
    assert!(
        s.fallback_reason
            .as_deref()
            .unwrap()
            .contains("no answer within"),
        "{:?}",
        s.fallback_reason
    );
    assert!(
        s.exchanges[0].elapsed_ms >= 1400 && s.exchanges[0].elapsed_ms < 4000,
        "{}",
        s.exchanges[0].elapsed_ms
    );
    assert_eq!(t.heard, ["Press 1"]);
    assert_eq!(s.digits.as_deref(), Some("1"));
}

#[test]
fn invalid_json_on_both_means_we_didnt_dial_anyone() {
    let fake = Fake::start(|s, _| match s.path.as_str() {
        "/connect" => json("{\"destination\": "),
        "/connect-fb" => json(r#"{"destination": {"numbers": []}}"#),
        "/sorry" => text("Sorry, nobody is available."),
        _ => reply(404, None, ""),
    });
    let toml = format!(
        "{HEAD}[[applet]]\nkind = \"connect\"\nurl = \"/connect\"\nfallback = \"/connect-fb\"\non_no_dial = \"sorry\"\n\
         [[applet]]\nkind = \"passthru\"\nurl = \"/never\"\n[[applet]]\nid = \"sorry\"\nkind = \"greeting\"\nurl = \"/sorry\"\n"
    );
    let t = run(&call(&toml), &opts(&fake.base));
    assert!(!t.ok);
    let s = &t.steps[0];
    assert_eq!(s.branch.as_deref(), Some("We didn't dial anyone"));
    assert!(
        s.exchanges[0].problems[0].contains("not valid JSON"),
        "{:?}",
        s.exchanges[0].problems
    );
    assert!(
        s.exchanges[1].problems[0].contains("destination.numbers is empty"),
        "{:?}",
        s.exchanges[1].problems
    );
    assert!(
        t.failures[0].contains("we didn't dial anyone"),
        "{:?}",
        t.failures
    );
    assert!(t.rang.is_empty());
    assert_eq!(
        t.steps[1].applet, "greeting",
        "the no-dial branch skips the passthru"
    );
    assert!(fake.seen("GET", "/never").is_empty());

    // The binary says so with its exit code, and --json writes the same.
    let dir = std::env::temp_dir().join(format!("exoedge-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("call.toml");
    std::fs::write(&file, &toml).unwrap();
    let out_json = dir.join("t.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exoedge-sim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--base",
            &fake.base,
            "--json",
            out_json.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("We didn't dial anyone") && stdout.contains("Result: FAILED"),
        "{stdout}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap();
    assert_eq!(j["ok"], false);
}

#[test]
fn fetch_after_attempt_refetches_until_the_same_set_comes_back() {
    let fake = Fake::start(|s, n| match (s.path.as_str(), n) {
        ("/connect", 0) => {
            json(r#"{"fetch_after_attempt": true, "destination": {"numbers": ["+919000000001"]}}"#)
        }
        ("/connect", 1) => {
            json(r#"{"fetch_after_attempt": true, "destination": {"numbers": ["+919000000002"]}}"#)
        }
        ("/connect", _) => {
            json(r#"{"fetch_after_attempt": true, "destination": {"numbers": ["+919000000002"]}}"#)
        }
        _ => reply(404, None, ""),
    });
    let c = call(&format!("{HEAD}[[applet]]\nkind = \"connect\"\nurl = \"/connect\"\nanswers = [false, \"busy\", false]\n"));
    let t = run(&c, &opts(&fake.base));
    assert!(t.ok, "{}", t.render());
    assert_eq!(t.rang, ["+919000000001", "+919000000002"]);
    assert_eq!(t.steps[0].branch.as_deref(), Some("If nobody answers"));
    assert!(t.steps[0]
        .lines
        .iter()
        .any(|l| l.contains("same destination set")));
    let reqs = fake.seen("GET", "/connect");
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].q("DialCallStatus").is_none());
    assert_eq!(reqs[1].q("DialCallStatus"), Some("no-answer"));
    assert_eq!(reqs[1].q("Legs[0][Number]"), Some("+919000000001"));
    assert_eq!(reqs[1].q("DialWhomNumber"), Some("+919000000001"));
    assert_eq!(reqs[2].q("DialCallStatus"), Some("busy"));
    assert_eq!(reqs[2].q("Legs[1][CauseCode]"), Some("USER_BUSY"));
    assert_eq!(t.status, "busy");
}

#[test]
fn passthru_200_and_302_take_different_branches() {
    for (code, want_heard, branch) in [
        (200, "OK branch", "Once the URL returns OK (200 OK)"),
        (302, "else branch", "If the url returns anything else"),
    ] {
        let fake = Fake::start(move |s, _| match s.path.as_str() {
            "/passthru" => reply(code, Some("text/plain"), "x"),
            "/ok" => text("OK branch"),
            "/else" => text("else branch"),
            _ => reply(404, None, ""),
        });
        let toml = format!(
            "{HEAD}[[applet]]\nkind = \"passthru\"\nurl = \"/passthru\"\non_else = \"e\"\n\
             [[applet]]\nkind = \"greeting\"\nurl = \"/ok\"\nnext = \"hangup\"\n[[applet]]\nid = \"e\"\nkind = \"greeting\"\nurl = \"/else\"\n"
        );
        let t = run(&call(&toml), &opts(&fake.base));
        assert!(t.ok, "{}", t.render());
        assert_eq!(t.steps[0].branch.as_deref(), Some(branch));
        assert_eq!(t.heard, [want_heard]);
    }
}

#[test]
fn head_get_parity_violation_is_detected() {
    let fake = Fake::start(|s, _| match (s.method.as_str(), s.path.as_str()) {
        ("HEAD", "/greeting") => reply(200, Some("text/html"), ""),
        ("GET", "/greeting") => text("Hello"),
        _ => reply(404, None, ""),
    });
    let t = run(
        &call(&format!(
            "{HEAD}[[applet]]\nkind = \"greeting\"\nurl = \"/greeting\"\n"
        )),
        &opts(&fake.base),
    );
    assert!(!t.ok);
    let problems = &t.steps[0].exchanges[1].problems;
    assert!(
        problems.iter().any(|p| p
            .contains("HEAD sends content-type: text/html but GET sends content-type: text/plain")),
        "{problems:?}"
    );
    assert!(t.heard.is_empty());
    assert!(
        t.failures[0].starts_with("greeting: greeting refused"),
        "{:?}",
        t.failures
    );
}

#[test]
fn greeting_with_a_charset_is_refused() {
    let fake = Fake::start(|_, _| reply(200, Some("text/plain; charset=utf-8"), "Hello"));
    let t = run(
        &call(&format!(
            "{HEAD}[[applet]]\nkind = \"greeting\"\nurl = \"/g\"\n"
        )),
        &opts(&fake.base),
    );
    assert!(!t.ok);
    assert!(
        t.failures[0].contains("exactly \"text/plain\""),
        "{:?}",
        t.failures
    );
}

#[test]
fn gather_without_prompt_falls_back_and_audio_urls_are_fetched() {
    let fake = Fake::start(|s, _| match s.path.as_str() {
        "/gather" => json(r#"{"max_input_digits": 3}"#),
        "/gather-fb" => json(&r#"{"gather_prompt": {"audio_url": "AUDIO"}}"#.replace(
            "AUDIO",
            &format!("http://{}/menu.wav", s.h("Host").unwrap()),
        )),
        "/menu.wav" => reply(200, Some("audio/wav"), "RIFF"),
        _ => reply(404, None, ""),
    });
    let c = call(&format!(
        "{HEAD}[[applet]]\nkind = \"gather\"\nurl = \"/gather\"\nfallback = \"/gather-fb\"\n"
    ));
    let t = run(&c, &opts(&fake.base));
    assert!(t.ok, "{}", t.render());
    assert!(t.steps[0]
        .fallback_reason
        .as_deref()
        .unwrap()
        .contains("gather_prompt is missing"));
    assert_eq!(fake.seen("GET", "/menu.wav").len(), 1);
    assert!(t.heard[0].starts_with("[audio http://127.0.0.1"));
    assert_eq!(t.steps[0].digits, None, "nothing pressed");
}

#[test]
fn dialwhom_status_json_with_amd_and_basic_credentials() {
    let fake = Fake::start(|s, _| match s.path.as_str() {
        "/dialwhom" => text("+919000000001,09000000002"),
        "/status" => text("ok"),
        _ => reply(404, None, ""),
    });
    let base = fake
        .base
        .replace("http://", "http://exotel:s3cret-token-0123456789@");
    let c = call(&format!(
        "{HEAD}direction = \"outbound-dial\"\n[[applet]]\nkind = \"dialwhom\"\nurl = \"/dialwhom\"\nanswers = [\"busy\", true]\n\
         amd = {{ answered_by = \"MACHINE\", cause = \"MAXWORDS-5-4\" }}\n[status_callback]\nurl = \"/status\"\nformat = \"json\"\n"
    ));
    let t = run(&c, &opts(&base));
    assert!(t.ok, "{}", t.render());
    assert_eq!(t.rang, ["+919000000001", "09000000002"]);
    let d = &fake.seen("GET", "/dialwhom")[0];
    // base64("exotel:s3cret-token-0123456789")
    assert_eq!(
        d.h("Authorization"),
        Some("Basic ZXhvdGVsOnMzY3JldC10b2tlbi0wMTIzNDU2Nzg5")
    );
    assert_eq!(d.h("Exotel-Version"), None);
    assert_eq!(d.q("Direction"), Some("outbound-dial"));
    let st = &fake.seen("POST", "/status")[0];
    assert_eq!(st.h("Content-Type"), Some("application/json"));
    let j: serde_json::Value = serde_json::from_str(&st.body).unwrap();
    assert_eq!(j["Legs"][0]["AnsweredBy"], "NA");
    assert_eq!(j["Legs"][1]["AnsweredBy"], "MACHINE");
    assert_eq!(j["Legs"][1]["AmdCause"], "MAXWORDS-5-4");
    assert_eq!(j["Status"], "completed");
    // Credentials never reach the transcript.
    let all = serde_json::to_string(&t).unwrap() + &t.render();
    assert!(!all.contains("s3cret"), "token leaked into the transcript");
}

#[test]
fn token_paths_are_redacted_in_the_transcript() {
    let fake = Fake::start(|_, _| text("Hi"));
    let t: Transcript = run(
        &call(&format!(
            "{HEAD}[[applet]]\nkind = \"greeting\"\nurl = \"/exotel/greeting\"\n"
        )),
        &opts(&format!("{}/t/my-secret-token-0123", fake.base)),
    );
    assert!(t.ok, "{}", t.render());
    assert_eq!(
        fake.seen("GET", "/t/my-secret-token-0123/exotel/greeting")
            .len(),
        1
    );
    let all = serde_json::to_string(&t).unwrap() + &t.render();
    assert!(!all.contains("my-secret-token"), "{all}");
    assert!(all.contains("/t/***/exotel/greeting"));
}

#[test]
fn wav_is_rendered_with_espeak_or_skipped_with_a_clear_message() {
    let fake = Fake::start(|_, _| text("Thanks for calling."));
    let dir = std::env::temp_dir().join(format!("exoedge-sim-wav-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("call.toml");
    std::fs::write(
        &file,
        format!("{HEAD}[[applet]]\nkind = \"greeting\"\nurl = \"/g\"\n"),
    )
    .unwrap();
    let wav = dir.join("out.wav");
    let run_with_path = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_exoedge-sim"))
            .args([
                "run",
                file.to_str().unwrap(),
                "--base",
                &fake.base,
                "--wav",
                wav.to_str().unwrap(),
            ])
            .env("PATH", path)
            .output()
            .unwrap()
    };
    // No espeak-ng on PATH: the call still runs; the WAV is skipped, saying why.
    let out = run_with_path("/nonexistent");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("espeak-ng is not on PATH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!wav.exists());
    // With espeak-ng (where installed): a RIFF/WAVE file.
    let path = std::env::var("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|d| d.join("espeak-ng").is_file()) {
        let out = run_with_path(&path);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&wav).unwrap();
        assert!(bytes.len() > 1000 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE");
    }
}

#[test]
fn parallel_ringing_rings_batches_together() {
    let fake = Fake::start(|_, _| {
        json(
            r#"{"destination": {"numbers": ["+919000000001", "+919000000002", "+919000000003"]}, "parallel_ringing": {"activate": true, "max_parallel_attempts": 2}}"#,
        )
    });
    let c = call(&format!("{HEAD}[[applet]]\nkind = \"connect\"\nurl = \"/c\"\nanswers = [false, true]\n[[applet]]\nkind = \"passthru\"\nurl = \"/p\"\n"));
    let t = run(&c, &opts(&fake.base));
    assert!(t.ok, "{}", t.render());
    let a = &t.steps[0].attempts;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].numbers, ["+919000000001", "+919000000002"]);
    assert_eq!(a[1].answered.as_deref(), Some("+919000000003"));
    let p = &fake.seen("GET", "/p")[0];
    assert_eq!(p.q("Legs[0][Type]"), Some("parallel"));
    assert_eq!(p.q("Legs[2][Type]"), Some("single"));
    assert_eq!(p.q("DialWhomNumber"), Some("+919000000003"));
}

#[test]
fn secret_flag_hides_secrets_kept_elsewhere_in_the_url() {
    let fake = Fake::start(|_, _| text("Hi"));
    let dir = std::env::temp_dir().join(format!("exoedge-sim-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("call.toml");
    std::fs::write(
        &file,
        format!("{HEAD}[[applet]]\nkind = \"greeting\"\nurl = \"/hooks/hush-hush-42/greeting\"\n"),
    )
    .unwrap();
    let out_json = dir.join("t.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exoedge-sim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--base",
            &fake.base,
            "--json",
            out_json.to_str().unwrap(),
            "--secret",
            "hush-hush-42",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/hooks/***/greeting") && !stdout.contains("hush"),
        "{stdout}"
    );
    assert!(!std::fs::read_to_string(&out_json).unwrap().contains("hush"));
    assert_eq!(fake.seen("GET", "/hooks/hush-hush-42/greeting").len(), 1);
}
