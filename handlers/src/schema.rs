//! JSON Schema for the config document (`exoedge-config schema`), built from
//! the same types that parse it, so schema and parser cannot disagree. The
//! validated value types get hand-written schemas that state their rules
//! (ranges, patterns) instead of the bare string or integer serde sees.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::answer::greeting::AudioList;
use crate::bounded::{
    ConversationSeconds, FinishOnKey, HttpUrl, InputTimeout, MaxInputDigits, ParallelAttempts,
    PlaybackSeconds, RepeatMenu, RingingSeconds, SpokenText,
};
use crate::config::hours::{Day, Window, Zone};
use crate::config::template::Template;
use crate::config::Config;
use crate::destination::{Destination, Numbers};

macro_rules! manual {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

macro_rules! int_range {
    ($ty:ty, $name:literal) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "integer", "minimum": <$ty>::MIN, "maximum": <$ty>::MAX })
            }
        }
    };
}

int_range!(RingingSeconds, "RingingSeconds");
int_range!(ConversationSeconds, "ConversationSeconds");
int_range!(ParallelAttempts, "ParallelAttempts");
int_range!(MaxInputDigits, "MaxInputDigits");
int_range!(InputTimeout, "InputTimeout");
int_range!(RepeatMenu, "RepeatMenu");
int_range!(PlaybackSeconds, "PlaybackSeconds");

manual!(FinishOnKey, "FinishOnKey", { "type": "string", "enum": ["", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"] });
manual!(HttpUrl, "HttpUrl", { "type": "string", "format": "uri", "pattern": "^https?://" });
manual!(SpokenText, "SpokenText", { "type": "string", "minLength": 1, "maxLength": 2000, "description": "text for Exotel's TTS; whitespace is folded to one line" });
manual!(Destination, "Destination", {
    "type": "string",
    "description": "E.164 (+919812345678), an Indian national form (09812345678), or sip:<user>",
    "pattern": "^(sip:[A-Za-z0-9._+-]{1,64}|\\+?[0-9 ()-]{8,20})$"
});
manual!(Template, "Template", { "type": "string", "minLength": 1, "description": "text with {{variable}} placeholders" });
manual!(Zone, "Zone", {
    "type": "string",
    "description": "an IANA zone (Asia/Kolkata, Europe/London, America/New_York, ...; daylight saving is followed) or a fixed offset like +05:30",
    "pattern": "^((Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)(/[A-Za-z][A-Za-z0-9_+-]*){1,2}|UTC|[+-][0-9]{2}:[0-9]{2})$"
});
manual!(Window, "Window", { "type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$", "description": "HH:MM-HH:MM; an end before the start runs past midnight" });
manual!(Day, "Day", { "type": "string", "format": "date" });

impl JsonSchema for Numbers {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Numbers")
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": g.subschema_for::<Destination>(), "minItems": 1, "maxItems": Numbers::MAX })
    }
}

impl JsonSchema for AudioList {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("AudioList")
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": g.subschema_for::<HttpUrl>(), "minItems": 1 })
    }
}

/// The schema of the whole config document, pretty-printed.
pub fn config_schema() -> String {
    let schema = schemars::schema_for!(Config);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    /// The committed config/schema.json is what the types generate: run
    /// `cargo run -p handlers --features schema --bin exoedge-config -- schema > config/schema.json`
    /// after changing a config type.
    #[test]
    fn committed_schema_is_current() {
        let committed = include_str!("../../config/schema.json");
        assert_eq!(
            committed,
            super::config_schema(),
            "config/schema.json is stale; regenerate it"
        );
    }
}
