//! JSON documents (RFC 8259): a value type and its strict text form.
//!
//! tokenseal reads four kinds of JSON: JWK Sets, JWE protected headers, Auth0 users
//! and the shims' login input. A general-purpose JSON crate would do, but in the
//! WebAssembly module it costs more than everything else together: float parsing
//! tables, a B-tree map, and formatted error messages. This module is the part
//! tokenseal needs and nothing else:
//!
//! - numbers are kept as their exact text (validated against the RFC 8259 grammar), so
//!   there is no float parsing or printing and a number passes through unchanged;
//! - objects keep their members in document order (a sanitized user looks like the
//!   user); a repeated member name keeps the lexically last value, as JavaScript's
//!   `JSON.parse` does and as RFC 7515 §4 allows for JOSE headers;
//! - nesting deeper than [`MAX_DEPTH`] is an error, so hostile input cannot exhaust
//!   the stack;
//! - strings are Unicode scalar values only: an unpaired surrogate escape is an error.
//!
//! Its behaviour is checked against `serde_json` by differential tests.

/// Deepest nesting of arrays and objects accepted by [`Json::parse`].
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Json {
    /// `null`
    #[default]
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as its exact text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in document order.
    Object(Object),
}

/// A JSON number kept as its text, which always matches RFC 8259 §6's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

/// A JSON object: members in order, names unique. Equality ignores order, as JSON
/// object semantics do (RFC 8259 §4).
#[derive(Debug, Clone, Default)]
pub struct Object(Vec<(String, Json)>);

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Eq for Object {}

/// Why a text is not accepted. Deliberately without detail: callers map it to their own
/// typed error, and no part of the input is ever repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError;

impl Number {
    /// The number's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a `u64` when the text is a plain non-negative integer that fits.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        if self.0.is_empty() || !self.0.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.0.bytes().try_fold(0u64, |n, digit| {
            n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })
    }
}

impl From<u64> for Number {
    fn from(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self(digits[at..].iter().map(|&d| char::from(d)).collect())
    }
}

impl Object {
    /// An empty object.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of member `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value of member `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Json> {
        self.0.iter_mut().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets member `name`: replaces its value in place, or appends it.
    pub fn insert(&mut self, name: impl Into<String>, value: Json) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name, value)),
        }
    }

    /// Removes member `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Json> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(at).1)
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Object {
    type Item = (String, Json);
    type IntoIter = std::vec::IntoIter<(String, Json)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, Json)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(members: I) -> Self {
        let mut object = Self::new();
        for (name, value) in members {
            object.insert(name, value);
        }
        object
    }
}

impl Json {
    /// Parses a complete JSON text (RFC 8259 §2): one value, optional whitespace around.
    ///
    /// # Errors
    /// [`ParseError`] for anything that is not JSON, for nesting deeper than
    /// [`MAX_DEPTH`], and for unpaired surrogate escapes.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value(0)?;
        parser.skip_whitespace();
        if parser.at == parser.bytes.len() {
            Ok(value)
        } else {
            Err(ParseError)
        }
    }

    /// Parses JSON from bytes, which must be UTF-8 (RFC 8259 §8.1).
    ///
    /// # Errors
    /// [`ParseError`], as for [`Json::parse`], and for bytes that are not UTF-8.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        core::str::from_utf8(bytes)
            .map_err(|_| ParseError)
            .and_then(Self::parse)
    }

    /// The compact JSON text of this value.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Member `name` when this is an object.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.as_object().and_then(|o| o.get(name))
    }

    /// Member `name` when this is an object, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Json> {
        match self {
            Self::Object(o) => o.get_mut(name),
            _ => None,
        }
    }

    /// The string, when this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a `u64`, when this is a plain non-negative integer that fits.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The object, when this is one.
    #[must_use]
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, when this is one.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// True for `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            Self::Number(n) => out.push_str(&n.0),
            Self::String(s) => write_string(s, out),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Object(object) => {
                out.push('{');
                for (i, (name, value)) in object.0.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(name, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

static NULL: Json = Json::Null;

impl core::ops::Index<&str> for Json {
    type Output = Json;

    /// Member `name`, or `null` when absent or when this is not an object.
    fn index(&self, name: &str) -> &Json {
        self.get(name).unwrap_or(&NULL)
    }
}

impl core::ops::Index<&str> for Object {
    type Output = Json;

    /// Member `name`, or `null` when absent.
    fn index(&self, name: &str) -> &Json {
        self.get(name).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Self::Number(Number::from(n))
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<Object> for Json {
    fn from(o: Object) -> Self {
        Self::Object(o)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

impl serde::Serialize for Json {
    /// For native callers that hand tokenseal's values to another serde format. Numbers
    /// become integers when they are, else `f64` (the WebAssembly build never calls
    /// this: it crosses the boundary as JSON text).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Number(n) => match (n.as_u64(), n.0.parse::<i64>()) {
                (Some(u), _) => serializer.serialize_u64(u),
                (None, Ok(i)) => serializer.serialize_i64(i),
                (None, Err(_)) => {
                    serializer.serialize_f64(n.0.parse::<f64>().map_err(serde::ser::Error::custom)?)
                }
            },
            Self::String(s) => serializer.serialize_str(s),
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(object) => object.serialize(serializer),
        }
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`-style
/// or `\u00XX` escapes (RFC 8259 §7), everything else as UTF-8.
fn write_string(s: &str, out: &mut String) {
    let needs_escape = |c: char| c < ' ' || c == '"' || c == '\\';
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs without escapes are copied whole: sealed values, ids and URLs are long and
    // have none, and a push per character was a tenth of a sealing login's plan.
    let mut rest = s;
    while let Some((run, tail)) = rest
        .find(needs_escape)
        .and_then(|at| rest.split_at_checked(at))
    {
        out.push_str(run);
        let mut chars = tail.chars();
        match chars.next() {
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some('\u{08}') => out.push_str("\\b"),
            Some('\u{0c}') => out.push_str("\\f"),
            Some(c) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u8; // a control character, below 0x20, so one byte
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
            None => {}
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    out.push('"');
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, ParseError> {
        let b = self.peek().ok_or(ParseError)?;
        self.at += 1;
        Ok(b)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8], value: Json) -> Result<Json, ParseError> {
        if self.bytes[self.at..].starts_with(literal) {
            self.at += literal.len();
            Ok(value)
        } else {
            Err(ParseError)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, ParseError> {
        self.skip_whitespace();
        match self.peek().ok_or(ParseError)? {
            b'n' => self.expect_literal(b"null", Json::Null),
            b't' => self.expect_literal(b"true", Json::Bool(true)),
            b'f' => self.expect_literal(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' => self.array(depth + 1),
            b'{' => self.object(depth + 1),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(ParseError),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError);
        }
        self.at += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b']' => return Ok(Json::Array(items)),
                _ => return Err(ParseError),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError);
        }
        self.at += 1; // '{'
        let mut object = Object::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(object));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(ParseError);
            }
            let name = self.string()?;
            self.skip_whitespace();
            if self.next()? != b':' {
                return Err(ParseError);
            }
            let value = self.value(depth)?;
            object.insert(name, value);
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b'}' => return Ok(Json::Object(object)),
                _ => return Err(ParseError),
            }
        }
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(ParseError),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        let text = core::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| ParseError)?;
        Ok(Json::Number(Number(text.to_owned())))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), ParseError> {
        let start = self.at;
        self.digits();
        if self.at > start {
            Ok(())
        } else {
            Err(ParseError)
        }
    }

    /// RFC 8259 §7. The input is a `&str`, so unescaped bytes are valid UTF-8 already.
    fn string(&mut self) -> Result<String, ParseError> {
        self.at += 1; // '"'
        let mut out = String::new();
        loop {
            let start = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.push_str(
                core::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| ParseError)?,
            );
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => out.push(self.escape()?),
                _ => return Err(ParseError), // an unescaped control character
            }
        }
    }

    fn escape(&mut self) -> Result<char, ParseError> {
        Ok(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{08}',
            b'f' => '\u{0c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low one.
                        if self.next()? != b'\\' || self.next()? != b'u' {
                            return Err(ParseError);
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(ParseError);
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            .ok_or(ParseError)?
                    }
                    _ => char::from_u32(unit).ok_or(ParseError)?,
                }
            }
            _ => return Err(ParseError),
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = char::from(self.next()?).to_digit(16).ok_or(ParseError)?;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
