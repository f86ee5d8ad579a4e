//! Descriptor-driven transcoding: protobuf bytes of whatever message the
//! configured RPC takes, to its protobuf-JSON form, plus the two values the
//! gateway needs from it (event id and ordering key).
//!
//! Nothing here knows the event's fields at compile time: the contract is
//! compiled from .proto source at startup (protox) and messages are decoded
//! as [`DynamicMessage`]s, so a different contract is a config change.
//!
//! # Example
//! ```
//! use proto_gateway::config::ProtoConfig;
//! use proto_gateway::convert::EventSchema;
//!
//! let schema = EventSchema::load(&ProtoConfig::default()).unwrap();
//! assert_eq!(
//!     schema.rpc_path(),
//!     "/exotel.callback.v1.CallbackEventService/TriggerCallbackEvent"
//! );
//! // Field 1 (event_sid), length-delimited, "ev1".
//! let event = schema.decode(&[0x0a, 3, b'e', b'v', b'1']).unwrap();
//! assert_eq!(event.event_sid, "ev1");
//! // No leg or bridge sid: the event is its own ordering key.
//! assert_eq!(event.ordering_key, "event:ev1");
//! // Defaults are printed too, with proto field names.
//! assert!(event.json.contains("\"event_name\":\"\""));
//! ```

use std::path::PathBuf;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value;

use crate::config::ProtoConfig;
use crate::error::{Error, Result};

/// Name of the built-in contract inside its include root.
pub const BUILTIN_PROTO_NAME: &str = "exotel/callback/v1/callback_event.proto";
/// The built-in contract, compiled into the binary so the default config
/// works from any directory.
pub const BUILTIN_PROTO_SOURCE: &str =
    include_str!("../proto/exotel/callback/v1/callback_event.proto");

/// One decoded event, ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id (`webhook-id` on delivery).
    pub event_sid: String,
    /// Events with the same key are delivered one after another, in order.
    pub ordering_key: String,
    /// The protobuf-JSON form that is POSTed.
    pub json: String,
}

/// The compiled contract and where to find the interesting fields.
#[derive(Debug, Clone)]
pub struct EventSchema {
    input: MessageDescriptor,
    output: MessageDescriptor,
    /// The reply's string field echoing the event id, if it has one: its
    /// number and whether it is encoded when empty (explicit presence).
    ack_sid_field: Option<(u32, bool)>,
    rpc_path: String,
    event_sid_path: Vec<String>,
    ordering_paths: Vec<Vec<String>>,
}

/// How events are rendered: proto field names (the snake_case the Exotel docs
/// show), scalar defaults included (an empty string or 0 is still printed).
/// Message fields that are not set (`event_timestamp`, `data`) have no
/// default value in protobuf-JSON and are omitted.
const JSON_OPTIONS: SerializeOptions = SerializeOptions::new()
    .use_proto_field_name(true)
    .skip_default_fields(false);

impl EventSchema {
    /// Compiles the configured contract and resolves service and method.
    pub fn load(cfg: &ProtoConfig) -> Result<EventSchema> {
        let pool = compile(cfg)?;
        let service = pool.get_service_by_name(&cfg.service).ok_or_else(|| {
            let known: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
            Error::Descriptor(format!(
                "service {:?} not found (the contract defines: {})",
                cfg.service,
                known.join(", ")
            ))
        })?;
        let method = service
            .methods()
            .find(|m| m.name() == cfg.method)
            .ok_or_else(|| {
                Error::Descriptor(format!(
                    "method {:?} not found in service {}",
                    cfg.method,
                    service.full_name()
                ))
            })?;
        if method.is_client_streaming() || method.is_server_streaming() {
            return Err(Error::Descriptor(format!(
                "method {} must be unary",
                method.full_name()
            )));
        }
        Ok(EventSchema {
            rpc_path: format!("/{}/{}", service.full_name(), method.name()),
            input: method.input(),
            ack_sid_field: split_path(&cfg.event_sid_field)
                .last()
                .and_then(|name| method.output().get_field_by_name(name))
                .filter(|f| f.kind() == prost_reflect::Kind::String && !f.is_list())
                .map(|f| (f.number(), f.supports_presence())),
            output: method.output(),
            event_sid_path: split_path(&cfg.event_sid_field),
            ordering_paths: cfg
                .ordering_key_fields
                .iter()
                .map(|p| split_path(p))
                .collect(),
        })
    }

    /// The HTTP/2 path gRPC clients call, e.g.
    /// `/exotel.callback.v1.CallbackEventService/TriggerCallbackEvent`.
    pub fn rpc_path(&self) -> &str {
        &self.rpc_path
    }

    /// The request message type (useful to build test clients).
    pub fn input(&self) -> &MessageDescriptor {
        &self.input
    }

    /// The reply message type.
    pub fn output(&self) -> &MessageDescriptor {
        &self.output
    }

    /// Decodes one request and extracts its id and ordering key.
    pub fn decode(&self, bytes: &[u8]) -> Result<Event> {
        let message = DynamicMessage::decode(self.input.clone(), bytes)?;
        let value = message
            .serialize_with_options(serde_json::value::Serializer, &JSON_OPTIONS)
            // Only out-of-range well-known values (e.g. a Timestamp beyond
            // year 9999) fail here: still the sender's data at fault.
            .map_err(|e| Error::InvalidEvent(e.to_string()))?;
        let event_sid =
            lookup_string(&value, &self.event_sid_path).ok_or_else(|| Error::MissingField {
                field: self.event_sid_path.join("."),
            })?;
        check_event_sid(&event_sid, &self.event_sid_path.join("."))?;
        let ordering_key = self
            .ordering_paths
            .iter()
            .find_map(|path| lookup_string(&value, path))
            // No leg or bridge: nothing to order against, so the event is
            // its own key and never waits for another.
            .unwrap_or_else(|| format!("event:{event_sid}"));
        let json = serde_json::to_string(&value)?;
        // The edge limits the JSON it receives, not the protobuf: characters
        // JSON escapes (quotes, control characters) can make the JSON several
        // times larger. Such an event could only ever dead-letter, so it is
        // refused now, while the sender can still hear about it.
        if json.len() > MAX_EVENT_JSON_BYTES {
            return Err(Error::JsonTooLarge {
                len: json.len(),
                limit: MAX_EVENT_JSON_BYTES,
            });
        }
        Ok(Event {
            event_sid,
            ordering_key,
            json,
        })
    }

    /// The reply to an accepted event: the output type's defaults, with the
    /// event id echoed when the output has a string field of the same name.
    ///
    /// Encoded by hand (one string field; every other field keeps its
    /// default, which protobuf does not encode): building a reflective
    /// message for every RPC showed up in profiles.
    pub fn encode_ack(&self, event_sid: &str) -> Vec<u8> {
        use prost::encoding::{encode_key, encode_varint, WireType};
        let mut reply = Vec::new();
        if let Some((number, explicit)) = self.ack_sid_field {
            if explicit || !event_sid.is_empty() {
                reply.reserve(event_sid.len() + 8);
                encode_key(number, WireType::LengthDelimited, &mut reply);
                encode_varint(event_sid.len() as u64, &mut reply);
                reply.extend_from_slice(event_sid.as_bytes());
            }
        }
        reply
    }
}

/// Largest event JSON the edge takes (`handlers::events::MAX_EVENT_BYTES`,
/// the size as delivered).
pub const MAX_EVENT_JSON_BYTES: usize = handlers::events::MAX_EVENT_BYTES;

/// Refuses an event id that could not travel as the `webhook-id` header the
/// edge verifies: printable ASCII only (no control characters, no
/// non-ASCII), at most [`handlers::webhook::MAX_ID_LEN`] bytes, and no `.`
/// (the signed content is `id.timestamp.body`).
pub fn check_event_sid(sid: &str, field: &str) -> Result<()> {
    let why = if sid.len() > handlers::webhook::MAX_ID_LEN {
        Some(format!(
            "is {} bytes; at most {} are allowed",
            sid.len(),
            handlers::webhook::MAX_ID_LEN
        ))
    } else if let Some(c) = sid.chars().find(|c| !(' '..='~').contains(c)) {
        Some(format!(
            "contains {c:?}; only printable ASCII can be an HTTP header value"
        ))
    } else if sid.contains('.') {
        Some("contains '.', which the webhook signature scheme does not allow".into())
    } else if sid.trim() != sid {
        Some("has leading or trailing spaces".into())
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::BadEventId {
            field: field.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The non-empty string (or number, as text) at `path` in a JSON object.
fn lookup_string(value: &Value, path: &[String]) -> Option<String> {
    let mut cur = value;
    for key in path {
        cur = cur.as_object()?.get(key)?;
    }
    match cur {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Serves the built-in contract to protox by name.
struct BuiltinResolver;

impl FileResolver for BuiltinResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == BUILTIN_PROTO_NAME {
            File::from_source(name, BUILTIN_PROTO_SOURCE)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

fn compile(cfg: &ProtoConfig) -> Result<DescriptorPool> {
    let boxed = |e: protox::Error| Error::Proto(Box::new(e));
    if cfg.files.is_empty() {
        let mut resolver = ChainFileResolver::new();
        resolver.add(BuiltinResolver);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.open_file(BUILTIN_PROTO_NAME).map_err(boxed)?;
        return Ok(compiler.descriptor_pool());
    }
    // Without explicit include paths, each file's own directory is one, so a
    // single self-contained .proto works with just `files = [...]`.
    let includes: Vec<PathBuf> = if cfg.include_paths.is_empty() {
        cfg.files
            .iter()
            .map(|f| match f.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            })
            .collect()
    } else {
        cfg.include_paths.clone()
    };
    let mut compiler = protox::Compiler::new(includes).map_err(boxed)?;
    compiler.open_files(&cfg.files).map_err(boxed)?;
    Ok(compiler.descriptor_pool())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use prost_reflect::Value as PValue;

    fn schema() -> EventSchema {
        EventSchema::load(&ProtoConfig::default()).unwrap()
    }

    /// Builds an event with the built-in contract's field names.
    pub(crate) fn event_bytes(schema: &EventSchema, sid: &str, leg: Option<&str>) -> Vec<u8> {
        let json = serde_json::json!({
            "event_sid": sid,
            "event_type": "leg_action_event",
            "event_name": "leg_answered",
            "event_timestamp": "2024-12-02T14:12:07.963868626Z",
            "action_sid": "act1",
            "data": match leg { Some(l) => serde_json::json!({"leg_sid": l, "state": "answered"}), None => serde_json::json!({}) },
        });
        let msg = DynamicMessage::deserialize(schema.input().clone(), json).unwrap();
        msg.encode_to_vec()
    }

    #[test]
    fn unset_message_fields_are_omitted_and_scalars_printed() {
        // What docs/gateway.md promises about the JSON the edge receives.
        let s = schema();
        let ev = s.decode(&[0x0a, 3, b'e', b'v', b'1']).unwrap();
        let v: serde_json::Value = serde_json::from_str(&ev.json).unwrap();
        assert_eq!(v["event_name"], "");
        assert_eq!(v["action_custom_parameter"], "");
        assert!(v.get("event_timestamp").is_none(), "{}", ev.json);
        assert!(v.get("data").is_none(), "{}", ev.json);
    }

    #[test]
    fn event_ids_must_be_header_values() {
        for bad in ["a\nb", "\u{e9}v", "a.b", " a", &"x".repeat(257)] {
            assert!(
                matches!(
                    check_event_sid(bad, "event_sid"),
                    Err(Error::BadEventId { .. })
                ),
                "{bad:?}"
            );
        }
        check_event_sid("2q47dipYPQbEnwgEnNWxrTB6Ywb00000", "event_sid").unwrap();
    }

    #[test]
    fn builtin_contract_resolves() {
        let s = schema();
        assert_eq!(
            s.rpc_path(),
            "/exotel.callback.v1.CallbackEventService/TriggerCallbackEvent"
        );
    }

    #[test]
    fn decodes_to_snake_case_json_with_key() {
        let s = schema();
        let ev = s.decode(&event_bytes(&s, "ev1", Some("leg9"))).unwrap();
        assert_eq!(ev.event_sid, "ev1");
        assert_eq!(ev.ordering_key, "leg9");
        let v: Value = serde_json::from_str(&ev.json).unwrap();
        assert_eq!(v["event_name"], "leg_answered");
        assert_eq!(v["data"]["leg_sid"], "leg9");
        assert_eq!(v["event_timestamp"], "2024-12-02T14:12:07.963868626Z");
        // Defaults are present, so receivers can rely on every field.
        assert_eq!(v["action_custom_parameter"], "");
    }

    #[test]
    fn event_without_leg_is_its_own_key() {
        let s = schema();
        let ev = s.decode(&event_bytes(&s, "ev2", None)).unwrap();
        assert_eq!(ev.ordering_key, "event:ev2");
    }

    #[test]
    fn missing_sid_and_garbage_are_rejected() {
        let s = schema();
        assert!(matches!(
            s.decode(&event_bytes(&s, "", Some("l"))),
            Err(Error::MissingField { .. })
        ));
        assert!(matches!(
            s.decode(&[0xff, 0xff, 0xff, 0xff]),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn ack_echoes_the_sid() {
        let s = schema();
        let bytes = s.encode_ack("ev3");
        let reply = DynamicMessage::decode(s.output.clone(), bytes.as_slice()).unwrap();
        assert_eq!(
            reply.get_field_by_name("event_sid").unwrap().as_ref(),
            &PValue::String("ev3".into())
        );
        // The same bytes a reflective message of the reply type encodes to.
        let mut built = DynamicMessage::new(s.output.clone());
        built.set_field_by_name("event_sid", PValue::String("ev3".into()));
        assert_eq!(bytes, built.encode_to_vec());
    }

    #[test]
    fn other_contract_from_files_is_a_config_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("other.proto"),
            "syntax = \"proto3\"; package acme;\n\
             message Ev { string id = 1; Inner call = 2; }\n\
             message Inner { string call_sid = 1; }\n\
             message Ack {}\n\
             service Events { rpc Push(Ev) returns (Ack); }\n",
        )
        .unwrap();
        let cfg = ProtoConfig {
            files: vec![dir.path().join("other.proto")],
            include_paths: vec![],
            service: "acme.Events".into(),
            method: "Push".into(),
            event_sid_field: "id".into(),
            ordering_key_fields: vec!["call.call_sid".into()],
        };
        let s = EventSchema::load(&cfg).unwrap();
        assert_eq!(s.rpc_path(), "/acme.Events/Push");
        let msg = DynamicMessage::deserialize(
            s.input().clone(),
            serde_json::json!({"id": "x1", "call": {"call_sid": "c7"}}),
        )
        .unwrap();
        let ev = s.decode(&msg.encode_to_vec()).unwrap();
        assert_eq!(
            (ev.event_sid.as_str(), ev.ordering_key.as_str()),
            ("x1", "c7")
        );
    }

    #[test]
    fn unknown_service_names_what_exists() {
        let cfg = ProtoConfig {
            service: "nope.Svc".into(),
            ..ProtoConfig::default()
        };
        let err = EventSchema::load(&cfg).unwrap_err().to_string();
        assert!(
            err.contains("exotel.callback.v1.CallbackEventService"),
            "{err}"
        );
    }
}
