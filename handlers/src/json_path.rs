//! Where in a JSON document a serde error happened, as a path
//! (`lines.+918047115777.connect.max_ringing_duration`, `Legs[0].Status`).
//!
//! serde_json reports an error's line and column; this module turns that
//! position back into the path of the value it falls in, with one pass over
//! the text, only once something failed. The alternative, a path-tracking
//! deserializer wrapped around every typed decode (serde_path_to_error),
//! compiles a second copy of every `Deserialize` impl it wraps: about 200 KB
//! of the worker's wasm before optimisation, paid on every cold start for
//! the rare bad config or body. Here a decode is plain serde_json, and the
//! path costs nothing until an error asks for it.
//!
//! The path reads like serde_path_to_error's (which the tests check it
//! against): object keys joined by `.`, array indices as `[i]`, `.` for the
//! document itself.

use std::fmt::Write as _;

/// The path of the value `e` (from decoding `doc`) is about.
pub fn locate(doc: &[u8], e: &serde_json::Error) -> String {
    let offset = offset_of(doc, e.line(), e.column());
    // serde_json gives an error raised outside its own parsing (a
    // `deserialize_with` check, a `try_from`, an untagged enum that matched
    // nothing) the position of the object or array around it, after its
    // closing bracket when the value was the last one there. Such an error
    // is about that last member, unless it is the container's own
    // ("missing field", "invalid length").
    let closes = offset > 0 && matches!(doc.get(offset - 1), Some(b'}' | b']'));
    let message = e.to_string();
    // One case stays ambiguous: an untagged enum given an object, with
    // more members after it (`{"a": {"b": 1}, "c": 2}`), is reported after
    // its own `}` and named by its last member (`a.b`, not `a`).
    let about_container =
        message.starts_with("missing field") || message.starts_with("invalid length");
    let last_member =
        closes && !about_container && e.classify() == serde_json::error::Category::Data;
    // An object or array of the wrong kind is reported at its first byte,
    // or (read through `deserialize_any`) just past its opening bracket.
    let container = if message.starts_with("invalid type: map") {
        Some(b'{')
    } else if message.starts_with("invalid type: sequence") {
        Some(b'[')
    } else {
        None
    };
    let mode = match container {
        Some(open) => Mode::Container(open),
        None if last_member => Mode::LastMember,
        None => Mode::Plain,
    };
    path_at_inner(doc, offset, mode)
}

/// How an error's offset relates to the value it is about.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The value spans the offset.
    Plain,
    /// As `Plain`, but a container that just closed gives way to its last member.
    LastMember,
    /// The object (`{`) or array (`[`) at the offset, or just opened before it.
    Container(u8),
}

/// serde_json's message without its ` at line L column C` suffix, for
/// errors whose position means nothing to the client (a body it sent as a
/// form, re-encoded here).
pub fn message_only(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(text)
}

/// The byte offset serde_json's 1-based line and its column (bytes consumed
/// on that line) point just past.
fn offset_of(doc: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match doc[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => return doc.len(),
        }
    }
    (start + column).min(doc.len())
}

/// One step of a path.
#[derive(Clone, Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The path of the innermost value whose text spans `offset`: starts at
/// or before it (serde_json points at the first byte of a value of the
/// wrong kind) and ends at or after it (or just past a value it read). A value that just ended there is the
/// one serde was checking (a number out of range, a string of the wrong
/// kind, an object missing a field); a container whose key was just read
/// is where an unknown key was refused.
pub fn path_at(doc: &[u8], offset: usize) -> String {
    path_at_inner(doc, offset, Mode::Plain)
}

/// [`path_at`]; with `last_member`, a container that ends right at the
/// offset gives way to its last member.
fn path_at_inner(doc: &[u8], offset: usize, mode: Mode) -> String {
    let mut scan = Scan {
        doc,
        i: 0,
        offset,
        path: Vec::new(),
        best: None,
        mode,
    };
    scan.skip_ws();
    // A syntax error stops the scan; what was found up to it stands.
    let _ = scan.value();
    format_path(scan.best.as_deref().unwrap_or(&[]))
}

fn format_path(segments: &[Segment]) -> String {
    if segments.is_empty() {
        return ".".into();
    }
    let mut out = String::new();
    for (n, s) in segments.iter().enumerate() {
        match s {
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Segment::Key(k) => {
                if n > 0 {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
    out
}

struct Scan<'a> {
    doc: &'a [u8],
    i: usize,
    offset: usize,
    path: Vec<Segment>,
    /// The deepest path found so far that spans the offset.
    best: Option<Vec<Segment>>,
    mode: Mode,
}

/// The scan met text that is not JSON.
struct Stop;

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.doc.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), Stop> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// Records the current path if a value at `start` that ended at
    /// `end` (`None`: never ended) spans the offset and is deeper than
    /// what was found.
    fn consider(&mut self, start: usize, end: Option<usize>) {
        // With `last_member`, a member that ends just before its
        // container's closing bracket (and whitespace) spans the offset.
        if let Mode::Container(open) = self.mode {
            let at = self.doc[start] == open
                && (start == self.offset
                    || (start < self.offset
                        && self.doc[start + 1..self.offset]
                            .iter()
                            .all(u8::is_ascii_whitespace)));
            if at && self.best.as_ref().is_none_or(|b| self.path.len() > b.len()) {
                self.best = Some(self.path.clone());
            }
            return;
        }
        let end = match end {
            Some(e) if self.mode == Mode::LastMember => {
                let rest = self.doc[e..self.offset.max(e)]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace());
                match rest.map(|r| e + r) {
                    Some(close)
                        if close + 1 == self.offset && self.closes_container(start, close) =>
                    {
                        Some(self.offset)
                    }
                    _ => Some(e),
                }
            }
            e => e,
        };
        let spans = start <= self.offset && end.is_none_or(|e| self.offset <= e);
        let deeper = self.best.as_ref().is_none_or(|b| self.path.len() > b.len());
        if spans && deeper {
            self.best = Some(self.path.clone());
        }
    }

    /// Whether the bracket at `close` ends the container the value at
    /// `start` is a member of (not the value itself).
    fn closes_container(&self, start: usize, close: usize) -> bool {
        !self.path.is_empty() && close > start && matches!(self.doc[close], b'}' | b']')
    }

    fn value(&mut self) -> Result<(), Stop> {
        let start = self.i;
        let r = match self.peek().ok_or(Stop)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(drop),
            _ => self.scalar(),
        };
        self.consider(start, r.is_ok().then_some(self.i));
        r
    }

    fn object(&mut self) -> Result<(), Stop> {
        self.eat(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.eat(b':')?;
            self.skip_ws();
            self.path.push(Segment::Key(key));
            let r = self.value();
            self.path.pop();
            r?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Stop),
            }
        }
    }

    fn array(&mut self) -> Result<(), Stop> {
        self.eat(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            self.skip_ws();
            self.path.push(Segment::Index(index));
            let r = self.value();
            self.path.pop();
            r?;
            index += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Stop),
            }
        }
    }

    /// A string, decoded (keys become path segments).
    fn string(&mut self) -> Result<String, Stop> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = self.peek().ok_or(Stop)?;
            self.i += 1;
            match b {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = self.peek().ok_or(Stop)?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let c = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&c)
                                && self.doc.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((c - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                c
                            };
                            let ch = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let digits = self.doc.get(self.i..self.i + 4).ok_or(Stop)?;
        let text = std::str::from_utf8(digits).map_err(|_| Stop)?;
        let c = u32::from_str_radix(text, 16).map_err(|_| Stop)?;
        self.i += 4;
        Ok(c)
    }

    /// A number, `true`, `false` or `null`: up to the next delimiter.
    fn scalar(&mut self) -> Result<(), Stop> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            Err(Stop)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        lines: BTreeMap<String, Line>,
        #[serde(default)]
        block: Vec<u64>,
        #[serde(default)]
        legs: Vec<Leg>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[serde(deserialize_with = "small")]
        ring: u32,
        #[serde(default)]
        tags: Vec<String>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Leg {
        status: Status,
        n: Option<u8>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(untagged)]
    enum Status {
        Text(String),
        Code(u16),
    }
    fn small<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let n = u32::deserialize(d)?;
        if n > 60 {
            return Err(serde::de::Error::custom("at most 60"));
        }
        Ok(n)
    }

    /// The same document through serde_path_to_error: the path it reports.
    fn reference(doc: &str) -> String {
        let de = &mut serde_json::Deserializer::from_str(doc);
        let e = serde_path_to_error::deserialize::<_, Doc>(de).unwrap_err();
        e.path().to_string()
    }

    fn ours(doc: &str) -> String {
        let e = serde_json::from_str::<Doc>(doc).unwrap_err();
        locate(doc.as_bytes(), &e)
    }

    #[test]
    fn paths_match_serde_path_to_error() {
        for doc in [
            r#"{"name": 5}"#,
            r#"{"name": "a", "lines": {"+918047115777": {"ring": 90}}}"#,
            "{\"name\": \"a\",\n \"lines\": {\n  \"+918047115777\": {\"ring\": 30, \"tags\": [\"a\", 7]}}}",
            r#"{"name": "a", "block": [1, 2, "x"]}"#,
            r#"{"name": "a", "block": [1, 2, -3]}"#,
            r#"{"name": "a", "legs": [{"status": "ok"}, {"status": {"x": 1}}]}"#,
            r#"{"name": "a", "legs": [{"status": "ok", "n": 300}]}"#,
            r#"{"name": "a", "legs": [{"n": 1}]}"#,
            r#"{"name": "a", "lines": {"a\"b\u00e9": {"ring": "x"}}}"#,
            r#"{"lines": {}}"#,
            r#"{"name": "a", "lines": {"x": {}}}"#,
            r#"{"name": "a", "lines": {"x": []}}"#,
            r#"{"name": "a", "block": {}}"#,
            r#"{"name": "a", "block": [1, 2,"#,
            r#"{"name": "a", "lines": {"x": {"ring": 1, "tags": [{}]}}}"#,
            r#"{"name": "a", "lines": {"x": {"tags": [], "ring": 61}}}"#,
            r#"{"name": "a", "lines": {"x": {"tags": [], "ring": 61 } } }"#,
            r#"{"name": "a", "lines": {"x": {"ring": 61, "tags": []}}}"#,
            r#"{"name": "a", "lines": {"x": {"ring": 1}, "y": {"ring": 99}}}"#,
            r#"{"name": "a", "lines": {"x": {"ring": 99}, "y": {"ring": 1}}}"#,
            r#"{"name": "a", "legs": [{"status": true}]}"#,
            r#"{"name": "a", "legs": [{"n": 1, "status": [1]}]}"#,
            r#"{"name": "a", "legs": [{"status": 1, "n": 1.5}]}"#,
            r#"{"name": "a", "block": [1, 2, 3], "legs": 4}"#,
            r#"{"name": "a", "legs": [{"status": [1]}]}"#,
            r#"{"name": "a", "legs": [{"status": [ ]}]}"#,
            r#"{"name": ["a"]}"#,
            r#"{"name": {"a": 1}}"#,
        ] {
            assert_eq!(ours(doc), reference(doc), "{doc}");
        }
    }

    #[test]
    fn an_untagged_object_followed_by_more_is_named_by_its_last_member() {
        let doc = r#"{"name": "a", "legs": [{"status": {"a": [1]}, "n": 2}]}"#;
        assert_eq!(reference(doc), "legs[0].status");
        assert_eq!(ours(doc), "legs[0].status.a");
    }

    #[test]
    fn unknown_keys_name_their_object() {
        // serde_path_to_error names the unknown key itself; the message
        // names it too, so either reads well. Ours names the object.
        let doc = r#"{"name": "a", "lines": {"x": {"ring": 1, "rung": 2}}}"#;
        let e = serde_json::from_str::<Doc>(doc).unwrap_err();
        assert_eq!(locate(doc.as_bytes(), &e), "lines.x");
        assert!(e.to_string().contains("unknown field `rung`"), "{e}");
    }

    #[test]
    fn messages_lose_only_their_position() {
        let e = serde_json::from_str::<Doc>(r#"{"name": 5}"#).unwrap_err();
        assert_eq!(
            message_only(&e),
            "invalid type: integer `5`, expected a string"
        );
        assert_eq!(path_at(b"", 0), ".");
        assert_eq!(path_at(b"{\"a\": [1, {\"b\": 2}]}", 17), "a[1].b");
    }
}
