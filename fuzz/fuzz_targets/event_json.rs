//! The real-time event JSON (`POST /events`): parse, name, and the flow's
//! decision with the default config and its events flow.
#![no_main]

use std::sync::OnceLock;

use handlers::config::events_flow::EventsFlow;
use handlers::config::Config;
use handlers::events::{decide, Event};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(|| Config::from_json(handlers::DEFAULT_CONFIG).expect("default config loads"))
}

/// A flow that reaches every step: greeting, retries, routes, goodbye.
fn flow() -> &'static EventsFlow {
    static FLOW: OnceLock<EventsFlow> = OnceLock::new();
    FLOW.get_or_init(|| {
        serde_json::from_str(
            r##"{"greeting":{"text":"Welcome & <hello>"},"retry_prompt":{"text":"again"},
                "goodbye":{"audio_url":"https://example.com/bye.wav"},
                "gather":{"num_digits":1,"timeout_in_sec":5,"finish_on_key":"#"},
                "routes":{"1":"+919900112233","2":"sip:agent"},"max_retries":2,
                "exophone":"08047115777","absorb_dtmf":true}"##,
        )
        .expect("the fuzz flow parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_json(data) else {
        return;
    };
    let _ = event.name();
    let _ = event.data.digits();
    let cfg = config();
    // A fixed instant (Thursday 2026-01-01 12:00 IST): hours-dependent steps stay deterministic.
    for action in decide(&event, flow(), cfg, 1_767_249_000_000) {
        if let handlers::events::Action::PostLegAction(a) = action {
            // The ExoML the edge would POST must always be writable.
            a.request().expect("a decided action serializes");
        }
    }
});
