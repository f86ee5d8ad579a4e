//! What every part of the worker reaches the runtime for, written once:
//! the clock ([`clock`]), vars and secrets ([`env`]), time budgets
//! ([`budget`], over the one [`timer`]), outgoing HTTP ([`fetch`]) and calls to Durable Objects
//! ([`object`]).

pub mod budget;
pub mod clock;
pub mod env;
pub mod fetch;
pub mod object;
pub mod timer;
