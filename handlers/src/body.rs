//! Request bodies, read within a limit and decoded in the client's terms.
//!
//! Every route that reads a body goes through the worker's `src/body.rs`,
//! which uses the two halves here: [`check_declared`] refuses a body whose
//! `Content-Length` is over the route's limit before a byte of it is read,
//! and [`Collector`] counts a streamed (chunked) body chunk by chunk, keeps
//! nothing past the limit, and tells the reader to stop (cancel) once
//! [`DRAIN_BYTES`] past it, so the runtime never holds more than the limit
//! plus one chunk. It keeps the chunks as they came (in the worker, JS
//! buffers outside wasm memory) and copies them once, into a buffer of the
//! body's exact size, only when the whole body fits: a buffer grown by
//! doubling held up to twice the limit, and wasm memory never shrinks. A Worker isolate has 128 MB and the edge accepts bodies
//! up to 100 MB: reading first and measuring afterwards would let one
//! anonymous request take the isolate that serves live calls down.
//!
//! [`object`] decodes a JSON body into a route's request type with errors
//! that name the field (`Legs[0]: ...`) and the JSON kind expected, never
//! a Rust type (`expected struct RawStatus`).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::BodyError;
use crate::json_path;

/// The HTTP status for a body error: the one mapping, used by the
/// callback routes (`src/http.rs`) and the app API (`AppError`).
pub fn status(e: &BodyError) -> u16 {
    match e {
        BodyError::TooLarge { .. } => 413,
        BodyError::Unreadable(_) | BodyError::BadJson(_) => 400,
    }
}

/// Refuses a declared length over `limit`; returns the declared length
/// otherwise. A length too large for a number is over any limit; a
/// header that is no number at all (the runtime rejects those first) is
/// ignored, and the streamed count still applies.
pub fn check_declared(
    content_length: Option<&str>,
    limit: usize,
) -> Result<Option<usize>, BodyError> {
    let Some(text) = content_length.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if n > limit => Err(BodyError::TooLarge { limit }),
        Ok(n) => Ok(Some(n)),
        Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => Err(BodyError::TooLarge { limit }),
        Err(_) => Ok(None),
    }
}

/// How much of a streamed body past its limit is still read, and thrown
/// away at once, before the read is cancelled. A server that stops reading
/// closes the connection with the client's bytes unread, and the client's
/// kernel then resets it, often before the client has read the 413: a
/// client a little over the limit (Exotel, an app, the gateway) should get
/// the 413 and its message, not a reset. Only a count is kept, so memory
/// stays bounded; a body far over the limit is cancelled after this much.
pub const DRAIN_BYTES: usize = 256 * 1024;

/// A piece of a streamed body as its reader got it: bytes natively, a JS
/// `Uint8Array` in the worker (`src/body.rs`), so the pieces stay where
/// they are until the body is known to fit.
pub trait Chunk {
    /// Its length in bytes.
    fn byte_len(&self) -> usize;
}

impl<T: AsRef<[u8]> + ?Sized> Chunk for &T {
    fn byte_len(&self) -> usize {
        (*self).as_ref().len()
    }
}

impl Chunk for Vec<u8> {
    fn byte_len(&self) -> usize {
        self.len()
    }
}

/// Collects a streamed body up to a limit, chunk by chunk.
#[derive(Debug)]
pub struct Collector<C> {
    chunks: Vec<C>,
    /// Bytes in `chunks`.
    len: usize,
    limit: usize,
    /// Bytes thrown away since the body passed the limit.
    discarded: Option<usize>,
}

impl<C: Chunk> Collector<C> {
    /// Starts a body of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
            limit,
            discarded: None,
        }
    }

    /// Adds a chunk. A chunk that takes the body past the limit, and every
    /// chunk after it, is counted and dropped; `Err` means the body is more
    /// than [`DRAIN_BYTES`] past the limit and the caller must stop reading
    /// (and cancel) now.
    pub fn push(&mut self, chunk: C) -> Result<(), BodyError> {
        let n = chunk.byte_len();
        let over = match self.discarded {
            Some(d) => d + n,
            None if n > self.limit - self.len => {
                // Nothing of an oversized body is needed any more.
                self.chunks = Vec::new();
                self.len = 0;
                n
            }
            None => {
                self.len += n;
                if n > 0 {
                    self.chunks.push(chunk);
                }
                return Ok(());
            }
        };
        self.discarded = Some(over);
        if over > DRAIN_BYTES {
            return Err(BodyError::TooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// Whether the body passed its limit (it will be refused).
    pub fn is_over(&self) -> bool {
        self.discarded.is_some()
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body's chunks in order and their total length, or `TooLarge` if
    /// it passed the limit. The caller copies them into one buffer of that
    /// size ([`Collector::finish`] does for bytes).
    pub fn into_chunks(self) -> Result<(Vec<C>, usize), BodyError> {
        match self.discarded {
            Some(_) => Err(BodyError::TooLarge { limit: self.limit }),
            None => Ok((self.chunks, self.len)),
        }
    }
}

impl<C: Chunk + AsRef<[u8]>> Collector<C> {
    /// The whole body in one buffer of its exact size, or `TooLarge` if it
    /// passed the limit.
    pub fn finish(self) -> Result<Vec<u8>, BodyError> {
        let (chunks, len) = self.into_chunks()?;
        let mut body = Vec::with_capacity(len);
        for c in &chunks {
            body.extend_from_slice(c.as_ref());
        }
        Ok(body)
    }
}

/// Decodes a JSON body that must be one object into `T`: straight from
/// the bytes, one pass, no intermediate `Value`. Only a body that fails
/// that pays for the slower path, which decides what to tell the client.
pub fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let starts_as_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if starts_as_object {
        if let Ok(v) = serde_json::from_slice(body) {
            return Ok(v);
        }
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::BadJson(format!("body is not valid JSON: {e}")))?;
    object_value(value)
}

/// [`object`] for a value already parsed (or built from form pairs). Its
/// text is decoded again, so a field's error has a position to name its
/// path by (`crate::json_path`). A body with a key twice reaches here too:
/// as a `Value` the last one wins, as it always did.
pub fn object_value<T: DeserializeOwned>(value: Value) -> Result<T, BodyError> {
    if !value.is_object() {
        return Err(BodyError::BadJson(format!(
            "body must be a JSON object, got {}",
            json_kind(&value)
        )));
    }
    // from_slice, as in `object`: one instantiation of `T`'s decoder.
    let text = value.to_string();
    serde_json::from_slice(text.as_bytes()).map_err(|e| {
        let path = json_path::locate(text.as_bytes(), &e);
        let message = client_terms(&json_path::message_only(&e));
        BodyError::BadJson(if path == "." {
            message
        } else {
            format!("{path}: {message}")
        })
    })
}

/// The JSON kind of a value, as a client would name it.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Rewrites serde's words for our types (`expected struct Foo`,
/// `untagged enum Foo`) and its data model (map, sequence) into the JSON
/// the client should send.
pub fn client_terms(message: &str) -> String {
    const UNTAGGED: &str = "data did not match any variant of untagged enum ";
    if let Some(rest) = message.strip_prefix(UNTAGGED) {
        return format!("has a type or value not accepted here{}", skip_ident(rest));
    }
    // serde's data model words for JSON's own.
    let mut s = message
        .replace("invalid type: map", "invalid type: object")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("expected a map", "expected an object")
        .replace("expected a sequence", "expected an array");
    for (pattern, say) in [
        ("expected tuple struct ", "expected an array"),
        ("expected unit struct ", "expected null"),
        ("expected struct ", "expected an object"),
        ("expected enum ", "expected one of the accepted values"),
        (
            "expected variant of enum ",
            "expected one of the accepted values",
        ),
    ] {
        while let Some(i) = s.find(pattern) {
            let after = skip_arity(skip_ident(&s[i + pattern.len()..])).to_owned();
            // "invalid length 0, expected struct X with 2 elements": an
            // array where an object belongs; say only what belongs there.
            let start = invalid_length_at(&s[..i]).unwrap_or(i);
            s = format!("{}{say}{after}", &s[..start]);
        }
    }
    s
}

/// Where `before` ends in serde's "invalid length 0, ".
fn invalid_length_at(before: &str) -> Option<usize> {
    let j = before.rfind("invalid length ")?;
    let n = before[j + "invalid length ".len()..].strip_suffix(", ")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(j)
}

/// What follows serde's " with 2 elements" at the start of `s`.
fn skip_arity(s: &str) -> &str {
    let Some(rest) = s.strip_prefix(" with ") else {
        return s;
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits == 0 {
        return s;
    }
    let rest = &rest[digits..];
    rest.strip_prefix(" elements")
        .or_else(|| rest.strip_prefix(" element"))
        .unwrap_or(s)
}

/// What follows a Rust identifier at the start of `s`.
fn skip_ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[end..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn declared_lengths() {
        assert_eq!(check_declared(None, 10), Ok(None));
        assert_eq!(check_declared(Some(""), 10), Ok(None));
        assert_eq!(check_declared(Some("10"), 10), Ok(Some(10)));
        assert_eq!(check_declared(Some(" 3 "), 10), Ok(Some(3)));
        assert_eq!(
            check_declared(Some("11"), 10),
            Err(BodyError::TooLarge { limit: 10 })
        );
        assert_eq!(
            check_declared(Some("99999999999999999999999999"), 10),
            Err(BodyError::TooLarge { limit: 10 })
        );
        assert_eq!(check_declared(Some("ten"), 10), Ok(None));
    }

    #[test]
    fn collector_keeps_the_limit_exactly() {
        let mut c = Collector::<&[u8]>::new(10);
        c.push(b"12345").unwrap();
        c.push(b"67890").unwrap();
        c.push(b"").unwrap();
        assert_eq!(c.len(), 10);
        assert!(!c.is_over());
        assert_eq!(c.finish().unwrap(), b"1234567890");
        assert_eq!(Collector::<&[u8]>::new(0).finish().unwrap(), b"");
    }

    #[test]
    fn collector_copies_once_into_a_buffer_of_the_exact_size() {
        // 1000 chunks of 1000 bytes, no declared length: a buffer grown by
        // doubling would end at 1 MiB of capacity for 1 MB of body.
        let mut c = Collector::new(4 << 20);
        for i in 0..1000u32 {
            c.push(vec![(i % 251) as u8; 1000]).unwrap();
        }
        assert_eq!(c.len(), 1_000_000);
        let body = c.finish().unwrap();
        assert_eq!((body.len(), body.capacity()), (1_000_000, 1_000_000));
        assert_eq!(&body[999..1001], [0, 1]);
        // The chunks as they came, for a reader that copies them itself.
        let mut c = Collector::<&[u8]>::new(10);
        c.push(b"abc").unwrap();
        c.push(b"").unwrap();
        c.push(b"de").unwrap();
        let (chunks, len) = c.into_chunks().unwrap();
        assert_eq!((chunks, len), (vec![&b"abc"[..], &b"de"[..]], 5));
    }

    #[test]
    fn collector_keeps_nothing_past_the_limit_and_stops_after_the_drain() {
        let mut c = Collector::<&[u8]>::new(10);
        c.push(b"1234567890").unwrap();
        // Past the limit: dropped (and what was kept is released), reading may go on.
        c.push(b"x").unwrap();
        assert!(c.is_over() && c.is_empty());
        assert_eq!(c.finish(), Err(BodyError::TooLarge { limit: 10 }));
        // A little over, the client's whole body read: a clean 413.
        let mut c = Collector::<&[u8]>::new(10);
        for _ in 0..DRAIN_BYTES / 1024 {
            c.push(&[0; 1024]).unwrap();
        }
        assert!(c.is_empty());
        assert_eq!(c.finish(), Err(BodyError::TooLarge { limit: 10 }));
        // Far over: stop once more than DRAIN_BYTES were thrown away.
        let mut c = Collector::<&[u8]>::new(10);
        let chunk = [0u8; 64 * 1024];
        let mut chunks = 0;
        while c.push(&chunk).is_ok() {
            chunks += 1;
            assert!(chunks <= DRAIN_BYTES / chunk.len());
        }
        assert_eq!(chunks, DRAIN_BYTES / chunk.len());
        // One chunk larger than the drain: stop at once.
        assert_eq!(
            Collector::<&[u8]>::new(10).push(&vec![0; DRAIN_BYTES + 1]),
            Err(BodyError::TooLarge { limit: 10 })
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        user_name: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn err<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        match object::<T>(body.as_bytes()) {
            Err(BodyError::BadJson(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field_not_our_types() {
        for (body, want) in [
            ("[]", "body must be a JSON object, got an array"),
            ("5", "body must be a JSON object, got a number"),
            ("\"x\"", "body must be a JSON object, got a string"),
            ("{", "body is not valid JSON"),
            ("{}", "missing field `user_name`"),
            (
                r#"{"user_name": 5}"#,
                "user_name: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"user_name": "a", "inner": []}"#,
                "inner: expected an object",
            ),
            (
                r#"{"user_name": "a", "inner": 5}"#,
                "inner: invalid type: integer `5`, expected an object",
            ),
            (
                r#"{"user_name": "a", "inner": {"n": "x"}}"#,
                "inner.n: invalid type: string \"x\", expected u32",
            ),
        ] {
            let e = err::<Login>(body);
            assert!(e.contains(want), "{body}: {e}");
            assert!(!e.contains("Login") && !e.contains("Inner"), "{body}: {e}");
        }
    }

    #[test]
    fn a_key_twice_the_last_wins_as_before() {
        let l: Login = object(br#"{"user_name": "a", "user_name": "b"}"#).unwrap();
        assert_eq!(l.user_name, "b");
    }

    #[test]
    fn rust_names_are_rewritten() {
        assert_eq!(
            client_terms("invalid type: map, expected struct RawStatus"),
            "invalid type: object, expected an object"
        );
        assert_eq!(
            client_terms("invalid type: sequence, expected a map"),
            "invalid type: array, expected an object"
        );
        assert_eq!(
            client_terms(
                "data did not match any variant of untagged enum Loose at line 1 column 3"
            ),
            "has a type or value not accepted here at line 1 column 3"
        );
        assert_eq!(
            client_terms("invalid length 0, expected struct Inner with 1 element"),
            "expected an object"
        );
        assert_eq!(
            client_terms("invalid length 3, expected tuple struct P with 2 elements"),
            "expected an array"
        );
        // Inside another error's text, as `EventError` wraps serde's.
        assert_eq!(
            client_terms("event body is not an event object: invalid length 0, expected struct Event with 7 elements at line 1 column 2"),
            "event body is not an event object: expected an object at line 1 column 2"
        );
        assert_eq!(
            client_terms(
                "x: invalid type: sequence, expected struct EventData at line 1 column 41"
            ),
            "x: invalid type: array, expected an object at line 1 column 41"
        );
        assert_eq!(
            client_terms("unknown variant `x`, expected `a` or `b`"),
            "unknown variant `x`, expected `a` or `b`"
        );
    }
}
