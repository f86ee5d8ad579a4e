//! The answers exoedge gives Exotel, one module per callback, each type
//! with its `reply()`: what goes on the wire and nothing about when.
//!
//! A layer above the values only (src/lib.rs, "Layers"): these modules
//! import the value types (`bounded`, `destination`, `params`, `reply`,
//! ...), never [`crate::config`], [`crate::routing`], [`crate::decide`] or
//! the events flow above them (`tests/layers.rs` checks). Which answer a
//! call gets is decided in [`crate::decide`].

pub mod connect;
pub mod dialwhom;
pub mod exoml;
pub mod gather;
pub mod greeting;
pub mod passthru;
pub mod playback;
pub mod popup;

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::reply::Reply;

/// An answer's HTTP reply: what [`Static`] keeps.
pub trait Answer {
    /// The reply Exotel gets for this answer.
    fn reply(&self) -> Reply;
}

macro_rules! answer_by_inherent_reply {
    ($($t:ty),*) => {
        $(impl Answer for $t {
            fn reply(&self) -> Reply {
                <$t>::reply(self)
            }
        })*
    };
}
answer_by_inherent_reply!(
    connect::ConnectAnswer,
    gather::GatherAnswer,
    greeting::GreetingAnswer,
    playback::PlaybackAnswer
);

/// An answer written in the config, with its reply made on first use and
/// kept for the config's life.
///
/// Why: a loaded config never changes (a new document is a new `Config`),
/// so a line's static Connect or Gather answer is the same bytes on every
/// call; serialising it per request was ~4% of a warm Connect on workerd
/// (BENCHMARKS.md, "Issue 16"). Read-only on purpose (`Deref`, no
/// `DerefMut`, no public field): a copy changed for one call is a plain
/// `T`, so a kept reply can never disagree with its value.
pub struct Static<T> {
    value: T,
    reply: OnceLock<Reply>,
}

impl<T> Static<T> {
    /// A static answer whose reply is made on first use.
    pub const fn new(value: T) -> Self {
        Self {
            value,
            reply: OnceLock::new(),
        }
    }
}

impl<T: Answer> Static<T> {
    /// The answer's reply: made once; every call shares its body.
    pub fn reply(&self) -> Reply {
        self.reply
            .get_or_init(|| {
                let r = self.value.reply();
                Reply {
                    body: r.body.kept(),
                    ..r
                }
            })
            .clone()
    }
}

impl<T> std::ops::Deref for Static<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A clone keeps the reply: both are the same immutable value.
impl<T: Clone> Clone for Static<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            reply: self.reply.clone(),
        }
    }
}

/// Equal when the answers are: the kept reply is a cache, not part of the value.
impl<T: PartialEq> PartialEq for Static<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Static<T> {}

impl<T: fmt::Debug> fmt::Debug for Static<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// On the wire and in the config document, exactly the answer.
impl<T: Serialize> Serialize for Static<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Static<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::new)
    }
}

/// The config's schema shows the answer itself.
#[cfg(feature = "schema")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Static<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}
