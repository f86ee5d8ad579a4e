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
