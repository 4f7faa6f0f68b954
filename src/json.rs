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
//!   `JSON.parse` does, except in [`Json::parse_strict`] and [`Json::parse_secret`],
//!   which refuse it (RFC 7515 §4 and RFC 7517 §4 allow either for JOSE headers and
//!   JWKs; refusing leaves no doubt about which value was authenticated or used);
//! - parsing is O(n log n) in the number of members of an object, whatever the input:
//!   user-writable metadata with many thousands of members is not a denial of service;
//! - [`Json::parse_secret`] wipes every string it allocated on every path (success,
//!   refused duplicate, malformed input), for documents that hold key material;
//! - nesting deeper than [`MAX_DEPTH`] is an error, so hostile input cannot exhaust
//!   the stack;
//! - strings are Unicode scalar values only: an unpaired surrogate escape is an error.
//!
//! Its behaviour is checked against `serde_json` by differential tests.

use std::collections::BinaryHeap;

use zeroize::{Zeroize, Zeroizing};

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

/// A JSON document that holds secrets (a JWK Set): every string in it is wiped when it
/// is dropped. Made by [`Json::parse_secret`].
pub struct SecretJson(Json);

impl SecretJson {
    /// Wraps a document built in memory (a JWK being written out) so that it is wiped
    /// when dropped.
    #[must_use]
    pub fn new(value: Json) -> Self {
        Self(value)
    }

    /// The document.
    #[must_use]
    pub fn get(&self) -> &Json {
        &self.0
    }
}

impl Drop for SecretJson {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

impl core::fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretJson([redacted])")
    }
}

fn wipe_members(members: &mut [(String, Json)]) {
    for (name, value) in members {
        name.zeroize();
        value.wipe();
    }
}

/// Objects with at most this many members are checked for repeated names pairwise;
/// larger ones by sorting, so that a hostile object costs O(n log n), not O(n²).
const PAIRWISE_MAX: usize = 16;

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

    /// Appends a member whose name the caller knows is not present yet (it comes from
    /// an object that already had unique names): O(1), where [`Object::insert`] scans.
    pub(crate) fn push_unique(&mut self, name: String, value: Json) {
        debug_assert!(self.get(&name).is_none(), "push_unique with a present name");
        self.0.push((name, value));
    }

    /// Keeps only the members for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Json) -> bool) {
        self.0.retain(|(name, value)| keep(name, value));
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
    /// A repeated member name keeps the lexically last value, as `JSON.parse` does.
    ///
    /// # Errors
    /// [`ParseError`] for anything that is not JSON, for nesting deeper than
    /// [`MAX_DEPTH`], and for unpaired surrogate escapes.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Parser::new(text, Mode::LENIENT).document()
    }

    /// [`Json::parse`], except that a member name repeated in any object is an error.
    /// For documents whose meaning must be unambiguous: a JOSE protected header
    /// (RFC 7515 §4 lets a parser reject duplicates, and then no reader of the header
    /// can see another value than tokenseal did).
    ///
    /// # Errors
    /// As [`Json::parse`], and [`ParseError`] for a repeated member name.
    pub fn parse_strict(text: &str) -> Result<Self, ParseError> {
        Parser::new(text, Mode::STRICT).document()
    }

    /// [`Json::parse_strict`] for text that holds key material: every string the parse
    /// allocates is wiped when it is dropped, on success and on every error path, and
    /// is allocated at its final size so that no copy is left behind by a reallocation.
    ///
    /// # Errors
    /// As [`Json::parse_strict`].
    pub fn parse_secret(text: &str) -> Result<SecretJson, ParseError> {
        Parser::new(text, Mode::SECRET).document().map(SecretJson)
    }

    /// Parses JSON from bytes, which must be UTF-8 (RFC 8259 §8.1), refusing repeated
    /// member names as [`Json::parse_strict`] does.
    ///
    /// # Errors
    /// [`ParseError`], as for [`Json::parse_strict`], and for bytes that are not UTF-8.
    pub fn parse_bytes_strict(bytes: &[u8]) -> Result<Self, ParseError> {
        core::str::from_utf8(bytes)
            .map_err(|_| ParseError)
            .and_then(Self::parse_strict)
    }

    /// Overwrites every string and member name in this value with zeros.
    fn wipe(&mut self) {
        match self {
            Self::String(s) => s.zeroize(),
            Self::Array(items) => items.iter_mut().for_each(Self::wipe),
            Self::Object(object) => wipe_members(&mut object.0),
            Self::Null | Self::Bool(_) | Self::Number(_) => {}
        }
    }

    /// The compact JSON text of this value.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// The compact JSON text of a value that holds secrets, allocated once at its exact
    /// size (growing a `String` would leave copies in freed memory) and wiped on drop.
    #[must_use]
    pub fn to_text_secret(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(self.text_len()));
        self.write(&mut out);
        out
    }

    /// The length in bytes of [`Json::to_text`]'s result, without writing it.
    fn text_len(&self) -> usize {
        match self {
            Self::Null => 4,
            Self::Bool(true) => 4,
            Self::Bool(false) => 5,
            Self::Number(n) => n.0.len(),
            Self::String(s) => string_text_len(s),
            Self::Array(items) => {
                2 + items.len().saturating_sub(1) + items.iter().map(Self::text_len).sum::<usize>()
            }
            Self::Object(object) => {
                2 + object.len().saturating_sub(1)
                    + object
                        .iter()
                        .map(|(name, value)| string_text_len(name) + 1 + value.text_len())
                        .sum::<usize>()
            }
        }
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

/// The length of `s` written by [`write_string`].
fn string_text_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
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

/// How a parse treats repeated member names and the memory it leaves behind.
#[derive(Clone, Copy)]
struct Mode {
    refuse_duplicates: bool,
    wipe: bool,
}

impl Mode {
    const LENIENT: Self = Self {
        refuse_duplicates: false,
        wipe: false,
    };
    const STRICT: Self = Self {
        refuse_duplicates: true,
        wipe: false,
    };
    const SECRET: Self = Self {
        refuse_duplicates: true,
        wipe: true,
    };
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    mode: Mode,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, mode: Mode) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
            mode,
        }
    }

    fn document(mut self) -> Result<Json, ParseError> {
        let mut value = self.value(0)?;
        self.skip_whitespace();
        if self.at == self.bytes.len() {
            Ok(value)
        } else {
            self.discard(&mut value);
            Err(ParseError)
        }
    }

    /// Drops a value the parse will not return, wiping it first in secret mode.
    fn discard(&self, value: &mut Json) {
        if self.mode.wipe {
            value.wipe();
        }
    }

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
        match self.items(depth, &mut items) {
            Ok(()) => Ok(Json::Array(items)),
            Err(error) => {
                if self.mode.wipe {
                    items.iter_mut().for_each(Json::wipe);
                }
                Err(error)
            }
        }
    }

    /// The elements of an array after its `[`, through its `]`.
    fn items(&mut self, depth: usize, items: &mut Vec<Json>) -> Result<(), ParseError> {
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b']' => return Ok(()),
                _ => return Err(ParseError),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError);
        }
        self.at += 1; // '{'
        let mut members = Vec::new();
        match self
            .members(depth, &mut members)
            .and_then(|()| self.unique(&mut members))
        {
            Ok(()) => Ok(Json::Object(Object(members))),
            Err(error) => {
                if self.mode.wipe {
                    wipe_members(&mut members);
                }
                Err(error)
            }
        }
    }

    /// The members of an object after its `{`, through its `}`, as they appear.
    fn members(
        &mut self,
        depth: usize,
        members: &mut Vec<(String, Json)>,
    ) -> Result<(), ParseError> {
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(ParseError);
            }
            let mut name = self.string()?;
            self.skip_whitespace();
            if self.next()? != b':' {
                if self.mode.wipe {
                    name.zeroize();
                }
                return Err(ParseError);
            }
            match self.value(depth) {
                Ok(value) => members.push((name, value)),
                Err(error) => {
                    if self.mode.wipe {
                        name.zeroize();
                    }
                    return Err(error);
                }
            }
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b'}' => return Ok(()),
                _ => return Err(ParseError),
            }
        }
    }

    /// Makes member names unique: refuses a repeated name in strict mode, otherwise
    /// keeps the last value at the position of the first occurrence (as `JSON.parse`
    /// does). Pairwise for small objects; for large ones by sorting indices, so the cost
    /// stays O(n log n) however many members a hostile document has.
    fn unique(&self, members: &mut Vec<(String, Json)>) -> Result<(), ParseError> {
        // Index pairs (earlier, later) of the same name, found without a quadratic scan.
        let mut repeats = Vec::new();
        if members.len() <= PAIRWISE_MAX {
            for later in 1..members.len() {
                if let Some(earlier) = members[..later]
                    .iter()
                    .position(|(name, _)| *name == members[later].0)
                {
                    repeats.push((earlier, later));
                }
            }
        } else {
            // A heap sort of (name, index): O(n log n) on any input, and far less code
            // in the WebAssembly module than the slice sorts.
            let order = BinaryHeap::from_iter(
                members
                    .iter()
                    .enumerate()
                    .map(|(index, (name, _))| (name.as_str(), index)),
            )
            .into_sorted_vec();
            let mut first = 0;
            for i in 1..order.len() {
                if order[i].0 == order[first].0 {
                    repeats.push((order[first].1, order[i].1));
                } else {
                    first = i;
                }
            }
        }
        if repeats.is_empty() {
            return Ok(());
        }
        if self.mode.refuse_duplicates {
            return Err(ParseError);
        }
        // Keep-last: move each later value into its name's first slot, in document
        // order, so the last one written there wins; then drop the later slots.
        // In document order of the later occurrence, so the last one written wins.
        let repeats =
            BinaryHeap::from_iter(repeats.into_iter().map(|(e, l)| (l, e))).into_sorted_vec();
        let mut dropped = vec![false; members.len()];
        for &(later, earlier) in &repeats {
            let value = core::mem::take(&mut members[later].1);
            members[earlier].1 = value;
            dropped[later] = true;
        }
        let mut index = 0;
        members.retain(|_| {
            let keep = !dropped[index];
            index += 1;
            keep
        });
        Ok(())
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
                      // In secret mode the string is allocated once at its largest possible size (its
                      // escaped length), so that growing it never leaves a copy in freed memory.
        let mut out = if self.mode.wipe {
            String::with_capacity(self.escaped_len())
        } else {
            String::new()
        };
        let result = self.string_body(&mut out);
        match result {
            Ok(()) => Ok(out),
            Err(error) => {
                if self.mode.wipe {
                    out.zeroize();
                }
                Err(error)
            }
        }
    }

    /// Bytes from here to the closing quote of the current string (or to the end).
    fn escaped_len(&self) -> usize {
        let mut at = self.at;
        while let Some(&b) = self.bytes.get(at) {
            match b {
                b'"' => break,
                b'\\' => at += 2,
                _ => at += 1,
            }
        }
        at.min(self.bytes.len()) - self.at
    }

    fn string_body(&mut self, out: &mut String) -> Result<(), ParseError> {
        loop {
            let start = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.push_str(
                core::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| ParseError)?,
            );
            match self.next()? {
                b'"' => return Ok(()),
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
