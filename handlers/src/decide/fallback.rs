//! The safe static answers (`?fallback=1`, Exotel's Fallback URL): the
//! config's `fallback` section, which needs nothing but itself.

use crate::answer::{dialwhom, passthru, popup};
use crate::config::Config;
use crate::reply::Reply;

/// Connect: the fallback Connect answer.
pub fn connect(cfg: &Config) -> Reply {
    cfg.fallback.connect.reply()
}

/// Dial-whom: the fallback Connect's numbers.
pub fn dialwhom(cfg: &Config) -> Reply {
    dialwhom::reply(&cfg.fallback.connect.destination.numbers)
}

/// Gather: the fallback prompt.
pub fn gather(cfg: &Config) -> Reply {
    cfg.fallback.gather.reply()
}

/// Greeting: the fallback greeting.
pub fn greeting(cfg: &Config) -> Reply {
    cfg.fallback.greeting.reply()
}

/// Playback: the fallback playback.
pub fn playback(cfg: &Config) -> Reply {
    cfg.fallback.playback.reply()
}

/// Passthru: the fallback branch.
pub fn passthru(cfg: &Config) -> Reply {
    passthru::reply(cfg.fallback.passthru)
}

/// Popup: always 200, as any popup is answered.
pub fn popup() -> Reply {
    popup::reply()
}
