//! The embedded config written out as Rust (feature `bake`; only the
//! worker's build script, `build.rs` at the root, compiles it).
//!
//! Why: a cold isolate that serves the embedded config otherwise decodes
//! its JSON on the first request, and V8 compiles, on that request, all the
//! serde code the config's types instantiate (≈ 3.4 ms of a first Connect;
//! BENCHMARKS.md, "Issue 16"). Written out as Rust values by the build, the
//! config is a plain constructor: nothing to decode, nothing to validate
//! (the build script bakes only a document that passed [`Config::from_json`],
//! so an invalid embedded config fails the build instead of serving).
//!
//! [`Bake::bake`] gives the Rust expression that builds a value, with full
//! paths (`handlers::...`) so it compiles in the worker's crate. No crate
//! does this for owned types: `databake` needs its `BakeSize` on every field
//! (none for `String`, `Vec`, `BTreeMap`), `uneval` follows `Serialize`,
//! which these types shape for the wire. A struct's impl names every field
//! (`bake_struct!`), so a field added to a type and not here fails the
//! build where the baked code is compiled.
//!
//! [`Config::from_json`]: crate::config::Config::from_json

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use crate::answer::connect::{
    ConnectAnswer, DestinationList, MusicOnHold, ParallelRinging, RecordingChannels,
};
use crate::answer::gather::{GatherAnswer, Prompt as GatherPrompt};
use crate::answer::greeting::{AudioList, GreetingAnswer};
use crate::answer::passthru::{Branch, PassthruRule, PassthruRules};
use crate::answer::playback::{
    EndCallPlayback, InCallPlayback, Media, PlaybackAnswer, PlaybackTo, StartCallPlayback,
};
use crate::bounded::{
    ConversationSeconds, FinishOnKey, HttpUrl, InputTimeout, MaxInputDigits, ParallelAttempts,
    PlaybackSeconds, RepeatMenu, RingingSeconds, SpokenText,
};
use crate::config::callers::CallerLists;
use crate::config::events_flow::{EventsFlow, GatherSettings, Prompt as FlowPrompt};
use crate::config::groups::{AgentGroup, Strategy};
use crate::config::hours::{Day, Hours, WeekDay, Window, Zone};
use crate::config::menu::{Menu, Target};
use crate::config::personalize::{Lookup, Personalize};
use crate::config::template::Template;
use crate::config::trace_settings::TraceSettings;
use crate::config::{Config, Fallback, Line, ZoneOffsets};
use crate::destination::{Destination, Numbers};
use crate::rule::Condition;

/// A value that can write the Rust expression building it.
pub trait Bake {
    /// The expression, with full paths.
    fn bake(&self) -> TokenStream;
}

/// The whole config as a Rust expression of type `handlers::config::Config`
/// (its zone offsets unset, as after parsing).
pub fn config(cfg: &Config) -> TokenStream {
    cfg.bake()
}

macro_rules! bake_literal {
    ($($t:ty),*) => {
        $(impl Bake for $t {
            fn bake(&self) -> TokenStream {
                quote!(#self)
            }
        })*
    };
}
bake_literal!(bool, u8, u16, u32, i32, i64);

impl Bake for String {
    fn bake(&self) -> TokenStream {
        let s = self.as_str();
        quote!(::std::string::String::from(#s))
    }
}

impl<T: Bake> Bake for Option<T> {
    fn bake(&self) -> TokenStream {
        match self {
            None => quote!(::core::option::Option::None),
            Some(v) => {
                let v = v.bake();
                quote!(::core::option::Option::Some(#v))
            }
        }
    }
}

impl<T: Bake> Bake for Vec<T> {
    fn bake(&self) -> TokenStream {
        let items = self.iter().map(Bake::bake);
        quote!(::std::vec![#(#items),*])
    }
}

/// The parts of a checked type with two (`Zone`, `Window`).
impl<A: Bake, B: Bake> Bake for (A, B) {
    fn bake(&self) -> TokenStream {
        let (a, b) = (self.0.bake(), self.1.bake());
        quote!((#a, #b))
    }
}

impl<T: Bake> Bake for Box<T> {
    fn bake(&self) -> TokenStream {
        let v = (**self).bake();
        quote!(::std::boxed::Box::new(#v))
    }
}

impl<K: Bake, V: Bake> Bake for BTreeMap<K, V> {
    fn bake(&self) -> TokenStream {
        let pairs = self.iter().map(|(k, v)| {
            let (k, v) = (k.bake(), v.bake());
            quote!((#k, #v))
        });
        quote!(::std::collections::BTreeMap::from([#(#pairs),*]))
    }
}

/// A static answer: its value, the reply made on first use as at runtime.
impl<T: Bake> Bake for crate::answer::Static<T> {
    fn bake(&self) -> TokenStream {
        let v = (**self).bake();
        quote!(handlers::answer::Static::new(#v))
    }
}

/// A struct with public fields, as a struct literal naming each field.
macro_rules! bake_struct {
    ($ty:ident, $($seg:ident)::+, { $($field:ident),* $(,)? }) => {
        impl Bake for $ty {
            fn bake(&self) -> TokenStream {
                let $ty { $($field),* } = self;
                $(let $field = $field.bake();)*
                quote!($($seg)::+::$ty { $($field: #$field),* })
            }
        }
    };
}

/// An enum without data.
macro_rules! bake_unit_enum {
    ($ty:ident, $($seg:ident)::+, [$($variant:ident),* $(,)?]) => {
        impl Bake for $ty {
            fn bake(&self) -> TokenStream {
                let module = quote!($($seg)::+);
                match self {
                    $($ty::$variant => quote!(#module::$ty::$variant),)*
                }
            }
        }
    };
}

/// An enum whose variants each hold one value; `$($seg)::+` is the
/// enum's full path (`$ty` may be a local alias of it).
macro_rules! bake_tuple_enum {
    ($ty:ident, $($seg:ident)::+, [$($variant:ident),* $(,)?]) => {
        impl Bake for $ty {
            fn bake(&self) -> TokenStream {
                let path = quote!($($seg)::+);
                match self {
                    $($ty::$variant(v) => {
                        let v = v.bake();
                        quote!(#path::$variant(#v))
                    })*
                }
            }
        }
    };
}

/// A checked type with private parts: a call to its `from_baked` with what
/// its `baked_parts` gives back (`baked_newtype!` in lib.rs).
macro_rules! bake_via {
    ($ty:ty, $($seg:ident)::+) => {
        impl Bake for $ty {
            fn bake(&self) -> TokenStream {
                let parts = self.baked_parts().bake();
                quote!($($seg)::+::from_baked(#parts))
            }
        }
    };
}

/// The zone offsets are the worker's to set after loading, as for a
/// parsed document: baked as none.
impl Bake for ZoneOffsets {
    fn bake(&self) -> TokenStream {
        quote!(handlers::config::ZoneOffsets(::core::option::Option::None))
    }
}

bake_struct!(Config, handlers::config, {
    version, cache_ttl_seconds, lines, default_line, fallback, events, groups, callers, trace,
    zone_offsets,
});
bake_struct!(Line, handlers::config, {
    name, connect, dialwhom, gather, greeting, playback, passthru, hours, closed, agents,
    vip_agents, menu, personalize,
});
bake_struct!(Fallback, handlers::config, { connect, gather, greeting, playback, passthru });
bake_struct!(CallerLists, handlers::config::callers, { block, vip });
bake_struct!(GatherSettings, handlers::config::events_flow, {
    num_digits, timeout_in_sec, finish_on_key,
});
bake_struct!(EventsFlow, handlers::config::events_flow, {
    answer_inbound, greeting, retry_prompt, goodbye, gather, routes, max_retries,
    hangup_when_answered_by, exophone, absorb_dtmf,
});
bake_struct!(AgentGroup, handlers::config::groups, {
    strategy, agents, per_attempt, ring_seconds, fetch_after_attempt, sticky_minutes,
});
bake_struct!(Hours, handlers::config::hours, { timezone, weekly, holidays });
bake_struct!(Menu, handlers::config::menu, { options, invalid });
bake_struct!(Lookup, handlers::config::personalize, { kv, origin, timeout_ms, cache_seconds });
bake_struct!(Personalize, handlers::config::personalize, { lookup, greeting, playback });
bake_struct!(TraceSettings, handlers::config::trace_settings, {
    full_numbers, retention_days, max_rows_per_call,
});
bake_struct!(DestinationList, handlers::answer::connect, { numbers });
bake_struct!(ParallelRinging, handlers::answer::connect, { activate, max_parallel_attempts });
bake_struct!(ConnectAnswer, handlers::answer::connect, {
    fetch_after_attempt, destination, outgoing_phone_number, record, recording_channels,
    max_ringing_duration, max_conversation_duration, music_on_hold, parallel_ringing,
    dial_passthru_event_url, start_call_playback,
});
bake_struct!(GatherAnswer, handlers::answer::gather, {
    gather_prompt, max_input_digits, finish_on_key, input_timeout, repeat_menu,
    repeat_gather_prompt,
});
bake_struct!(PassthruRule, handlers::answer::passthru, { when, branch });
bake_struct!(PassthruRules, handlers::answer::passthru, { rules, default });
bake_struct!(StartCallPlayback, handlers::answer::playback, { playback_to, media });
bake_struct!(InCallPlayback, handlers::answer::playback, {
    start_delay, repeat_frequency, play_to_callee, play_to_caller, media,
});
bake_struct!(EndCallPlayback, handlers::answer::playback, { media });
bake_struct!(PlaybackAnswer, handlers::answer::playback, {
    start_call_playback, in_call_playback, end_call_playback,
});
bake_struct!(Condition, handlers::rule, {
    digits_in, digits_len, has_digits, dial_call_status_in, call_type_in, answered_by_in,
    caller_in, params, custom_field, open, vip,
});

bake_unit_enum!(
    Strategy,
    handlers::config::groups,
    [Sequential, RoundRobin, Parallel, Sticky]
);
bake_unit_enum!(
    WeekDay,
    handlers::config::hours,
    [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
);
bake_unit_enum!(RecordingChannels, handlers::answer::connect, [Single, Dual]);
bake_unit_enum!(Branch, handlers::answer::passthru, [Ok, Else]);
bake_unit_enum!(PlaybackTo, handlers::answer::playback, [Both, Callee]);

impl Bake for MusicOnHold {
    fn bake(&self) -> TokenStream {
        match self {
            Self::DefaultTone => quote!(handlers::answer::connect::MusicOnHold::DefaultTone),
            Self::OperatorTone => quote!(handlers::answer::connect::MusicOnHold::OperatorTone),
            Self::CustomTone { value } => {
                let value = value.bake();
                quote!(handlers::answer::connect::MusicOnHold::CustomTone { value: #value })
            }
        }
    }
}

bake_tuple_enum!(
    GatherPrompt,
    handlers::answer::gather::Prompt,
    [Text, AudioUrl]
);
bake_tuple_enum!(
    GreetingAnswer,
    handlers::answer::greeting::GreetingAnswer,
    [Text, AudioUrls]
);
bake_tuple_enum!(Media, handlers::answer::playback::Media, [Text, AudioUrl]);
bake_tuple_enum!(Target, handlers::config::menu::Target, [Group, Numbers]);

impl Bake for FlowPrompt {
    fn bake(&self) -> TokenStream {
        match self {
            Self::Text { text } => {
                let text = text.bake();
                quote!(handlers::config::events_flow::Prompt::Text { text: #text })
            }
            Self::Audio { audio_url } => {
                let audio_url = audio_url.bake();
                quote!(handlers::config::events_flow::Prompt::Audio { audio_url: #audio_url })
            }
        }
    }
}

bake_via!(RingingSeconds, handlers::bounded::RingingSeconds);
bake_via!(ConversationSeconds, handlers::bounded::ConversationSeconds);
bake_via!(ParallelAttempts, handlers::bounded::ParallelAttempts);
bake_via!(MaxInputDigits, handlers::bounded::MaxInputDigits);
bake_via!(InputTimeout, handlers::bounded::InputTimeout);
bake_via!(RepeatMenu, handlers::bounded::RepeatMenu);
bake_via!(PlaybackSeconds, handlers::bounded::PlaybackSeconds);
bake_via!(FinishOnKey, handlers::bounded::FinishOnKey);
bake_via!(HttpUrl, handlers::bounded::HttpUrl);
bake_via!(SpokenText, handlers::bounded::SpokenText);
bake_via!(Destination, handlers::destination::Destination);
bake_via!(Numbers, handlers::destination::Numbers);
bake_via!(AudioList, handlers::answer::greeting::AudioList);
bake_via!(Template, handlers::config::template::Template);
bake_via!(Day, handlers::config::hours::Day);
bake_via!(Zone, handlers::config::hours::Zone);
bake_via!(Window, handlers::config::hours::Window);

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded config bakes, and the baked text names what the
    /// document holds (the worker's build compiles it; the Miniflare suite
    /// checks that it answers as the same document read from KV).
    #[test]
    fn the_embedded_config_bakes_with_its_values() {
        let cfg = Config::from_json(crate::DEFAULT_CONFIG).expect("valid");
        let text = config(&cfg).to_string();
        assert!(text.starts_with("handlers :: config :: Config {"), "{text}");
        for expected in [
            "+918047115777",
            "+919812345679",
            "Call from the support line",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
    }
}
