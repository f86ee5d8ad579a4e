//! Vars and secrets, read one way: a value is trimmed, and a blank one
//! counts as unset (so `KEY=" "` or a secret pasted with a trailing
//! newline reads like the value an operator meant).

use worker::Env;

/// A var, trimmed; `None` when unset or blank.
pub fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().and_then(|v| non_blank(v.to_string()))
}

/// A var, else `default`.
pub fn var_or(env: &Env, name: &str, default: &str) -> String {
    var(env, name).unwrap_or_else(|| default.to_owned())
}

/// A whole-number var (a count, a byte limit, a millisecond budget), else
/// `default` (also when it does not parse).
pub fn var_u64(env: &Env, name: &str, default: u64) -> u64 {
    var(env, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A finite, non-negative number var (fractions allowed).
pub fn var_f64(env: &Env, name: &str) -> Option<f64> {
    var(env, name)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// A secret (or a var of that name), trimmed; `None` when unset or blank.
pub fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().and_then(|v| non_blank(v.to_string()))
}

fn non_blank(v: String) -> Option<String> {
    let t = v.trim();
    if t.is_empty() {
        None
    } else if t.len() == v.len() {
        Some(v)
    } else {
        Some(t.to_owned())
    }
}
