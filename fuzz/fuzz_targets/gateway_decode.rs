//! proto-gateway's descriptor-driven decode (`EventSchema::decode`): any
//! bytes on the gRPC input must become an event or a clean error.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use proto_gateway::config::ProtoConfig;
use proto_gateway::convert::EventSchema;

fn schema() -> &'static EventSchema {
    static SCHEMA: OnceLock<EventSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        EventSchema::load(&ProtoConfig::default()).expect("built-in contract compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(ev) = schema().decode(data) {
        // What the outbox stores must be JSON again.
        let _: serde_json::Value = serde_json::from_str(&ev.json).expect("decoded event is JSON");
        let _ = schema().encode_ack(&ev.event_sid);
    }
});
