//! The single-pass reader of a Config rule event.
//!
//! Config sends the invoking event as a JSON **string** inside the Lambda event: read the usual
//! way, the event is scanned once for itself, its `invokingEvent` is unescaped into a new
//! string, that string is scanned again, and the item's `configuration` once more for each
//! member a rule reads. [`Reader`] reads JSON either as plain text or *nested*: as the body of
//! a JSON string literal that holds JSON, escapes and all (`{\"a\":\"b\"}`), so the invoking
//! event is read in the same pass as the event around it, and the item's `configuration` is
//! indexed in that pass (each member's span) so that a rule decodes only the members it reads.
//!
//! It is a fast path, not a second parser of record: it reads the common shape strictly and
//! answers `None` on anything else (another message type, an escape it does not read such as
//! `\u0022` standing for a quote, a surrogate pair, an unusual member type, nesting deeper
//! than [`MAX_DEPTH`], any error). The caller then takes the `serde_json::Value` path, which
//! gives the same event or the error to report. Whatever it accepts is valid JSON at both
//! levels, and it builds the same [`ConfigRuleEvent`] as the `Value` path (duplicate members:
//! the last one wins, as in a decoded object); the tests check both on every sample event and
//! on thousands of mutations of them.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::{Map, Value};

use super::event::{parse_rule_parameters, ConfigRuleEvent, InvokingEvent, MessageType};
use super::item::{ConfigurationItem, Source, ITEM_MEMBERS};
use super::value;

/// Deeper nesting is left to the `Value` path (serde_json stops at 128).
const MAX_DEPTH: usize = 100;

/// The bytes that end a run of plain string characters: a quote, a backslash, a control
/// character.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first [`STOP`] byte among sixteen (`chunk` has at least 16 bytes).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn stop16(chunk: &[u8]) -> Option<usize> {
    use std::arch::x86_64::*;
    assert!(chunk.len() >= 16);
    // SAFETY: SSE2 is part of x86_64; the load reads the first 16 bytes of `chunk`.
    let m = unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr() as *const __m128i);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    };
    (m != 0).then(|| m.trailing_zeros() as usize)
}

/// The first [`STOP`] byte among sixteen (`chunk` has at least 16 bytes).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn stop16(chunk: &[u8]) -> Option<usize> {
    use std::arch::aarch64::*;
    assert!(chunk.len() >= 16);
    // SAFETY: NEON is part of aarch64; the load reads the first 16 bytes of `chunk`.
    let m = unsafe {
        let v = vld1q_u8(chunk.as_ptr());
        let hit = vorrq_u8(
            vorrq_u8(
                vceqq_u8(v, vdupq_n_u8(b'"')),
                vceqq_u8(v, vdupq_n_u8(b'\\')),
            ),
            vcleq_u8(v, vdupq_n_u8(0x1f)),
        );
        // Four bits per byte: narrow each 16-bit lane shifted right by 4.
        let nibbles = vshrn_n_u16::<4>(vreinterpretq_u16_u8(hit));
        vget_lane_u64::<0>(vreinterpret_u64_u8(nibbles))
    };
    (m != 0).then(|| (m.trailing_zeros() / 4) as usize)
}

/// Elsewhere: no vector step.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn stop16(chunk: &[u8]) -> Option<usize> {
    chunk[..16].iter().position(|&c| STOP[c as usize])
}

/// The index of the first [`STOP`] byte: sixteen bytes at a time with the vector unit every
/// x86_64 and aarch64 CPU has (SSE2, NEON), then eight at a time (a byte equal to a quote or
/// a backslash, or below 0x20, sets its top bit in `m`; bits above the first set one may be
/// wrong, the first is exact), then the tail through the table.
#[inline]
fn stop(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 16) {
        if let Some(j) = stop16(chunk) {
            return Some(i + j);
        }
        i += 16;
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let m = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| STOP[c as usize]).map(|j| i + j)
}

/// A JSON reader over plain text or over the escaped body of a string literal holding JSON.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    /// The text is the body of a JSON string literal: a quote is `\"`, a backslash `\\`.
    nested: bool,
}

/// Where the characters of a string go: a buffer, or nowhere when the string is skipped.
trait Sink {
    fn bytes(&mut self, b: &[u8]);
    fn char(&mut self, c: char);
}

impl Sink for Vec<u8> {
    fn bytes(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    fn char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

impl Sink for () {
    fn bytes(&mut self, _: &[u8]) {}
    fn char(&mut self, _: char) {}
}

impl<'a> Reader<'a> {
    pub(crate) fn new(s: &'a str, nested: bool) -> Self {
        Self {
            s,
            b: s.as_bytes(),
            pos: 0,
            nested,
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline(always)]
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(self.pos + i).copied()
    }

    /// Skips whitespace: in nested text a raw space, or `\n`, `\t`, `\r` (escaped, since the
    /// string literal cannot hold them raw).
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' => self.pos += 1,
                b'\n' | b'\t' | b'\r' if !self.nested => self.pos += 1,
                b'\\' if self.nested && matches!(self.at(1), Some(b'n' | b't' | b'r')) => {
                    self.pos += 2
                }
                _ => return,
            }
        }
    }

    /// Whitespace, then the byte `c`.
    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// Whitespace, then the end of the text.
    pub(crate) fn end(&mut self) -> Option<()> {
        self.ws();
        (self.pos == self.b.len()).then_some(())
    }

    #[inline(always)]
    fn at_quote(&self) -> bool {
        if self.nested {
            self.peek() == Some(b'\\') && self.at(1) == Some(b'"')
        } else {
            self.peek() == Some(b'"')
        }
    }

    /// Four hex digits at the current position, consumed.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.pos..self.pos + 4)?;
        let mut n = 0u32;
        for &d in digits {
            n = n * 16 + (d as char).to_digit(16)?;
        }
        self.pos += 4;
        Some(n)
    }

    /// A string after whitespace; borrowed when it holds no escape.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.ws();
        if !self.at_quote() {
            return None;
        }
        self.pos += if self.nested { 2 } else { 1 };
        let start = self.pos;
        // The common case: no escape up to the closing quote.
        let rest = &self.b[start..];
        let i = stop(rest)?;
        let closes = if self.nested {
            rest[i] == b'\\' && rest.get(i + 1) == Some(&b'"')
        } else {
            rest[i] == b'"'
        };
        if closes {
            self.pos = start + i + if self.nested { 2 } else { 1 };
            return Some(Cow::Borrowed(&self.s[start..start + i]));
        }
        let mut out = Vec::with_capacity(i + 16);
        self.string_body(&mut out)?;
        String::from_utf8(out).ok().map(Cow::Owned)
    }

    /// Skips a string after whitespace (validating it as [`string`](Self::string) reads it).
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        self.ws();
        if !self.at_quote() {
            return None;
        }
        self.pos += if self.nested { 2 } else { 1 };
        self.string_body(&mut ())
    }

    /// The characters of a string up to and including its closing quote.
    fn string_body<S: Sink>(&mut self, out: &mut S) -> Option<()> {
        loop {
            let rest = &self.b[self.pos..];
            let i = stop(rest)?;
            out.bytes(&rest[..i]);
            self.pos += i;
            match rest[i] {
                b'"' if !self.nested => {
                    self.pos += 1;
                    return Some(());
                }
                // A raw quote ends the string literal the nested text is in; a raw control
                // character is invalid at either level.
                b'"' => return None,
                b'\\' => {}
                _ => return None,
            }
            // An escape.
            let e = self.at(1)?;
            self.pos += 2;
            if !self.nested {
                match e {
                    b'"' => out.bytes(b"\""),
                    b'\\' => out.bytes(b"\\"),
                    b'/' => out.bytes(b"/"),
                    b'b' => out.bytes(b"\x08"),
                    b'f' => out.bytes(b"\x0c"),
                    b'n' => out.bytes(b"\n"),
                    b'r' => out.bytes(b"\r"),
                    b't' => out.bytes(b"\t"),
                    b'u' => out.char(self.unit()?),
                    _ => return None,
                }
                continue;
            }
            match e {
                // `\"`: the nested string's closing quote.
                b'"' => return Some(()),
                b'/' => out.bytes(b"/"),
                // An escaped character of the literal inside the nested string: fine unless
                // it stands for a quote, a backslash or a control character.
                b'u' => {
                    let c = self.unit()?;
                    if c == '"' || c == '\\' || (c as u32) < 0x20 {
                        return None;
                    }
                    out.char(c);
                }
                // `\\`: a backslash of the nested text, starting one of its escapes, whose
                // character is itself written as the literal writes it.
                b'\\' => {
                    let f = self.peek()?;
                    match f {
                        b'\\' => {
                            match self.at(1)? {
                                b'"' => out.bytes(b"\""),
                                b'\\' => out.bytes(b"\\"),
                                b'/' => out.bytes(b"/"),
                                _ => return None,
                            }
                            self.pos += 2;
                        }
                        b'/' => {
                            out.bytes(b"/");
                            self.pos += 1;
                        }
                        b'b' | b'f' | b'n' | b'r' | b't' => {
                            out.bytes(match f {
                                b'b' => b"\x08",
                                b'f' => b"\x0c",
                                b'n' => b"\n",
                                b'r' => b"\r",
                                _ => b"\t",
                            });
                            self.pos += 1;
                        }
                        b'u' => {
                            self.pos += 1;
                            out.char(self.unit()?);
                        }
                        _ => return None,
                    }
                }
                // `\n`, `\t`, ... inside a nested string would be a raw control character
                // of the nested text.
                _ => return None,
            }
        }
    }

    /// The code unit of a `\u` escape whose `\u` is consumed; surrogates are left to the
    /// `Value` path.
    fn unit(&mut self) -> Option<char> {
        let n = self.hex4()?;
        char::from_u32(n)
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.pos..self.pos + word.len())? == word {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    /// The span of a number (JSON's grammar, strictly).
    fn number_span(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.pos += 1;
            }
            (r.pos > from).then_some(())
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            digits(self)?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            digits(self)?;
        }
        Some(start..self.pos)
    }

    fn number(&mut self) -> Option<Value> {
        let span = self.number_span()?;
        let text = &self.s[span];
        // Small non-negative integers directly; anything else as serde_json reads it, so the
        // number is the same `Number` the `Value` path makes.
        if text.len() <= 18 && text.bytes().all(|c| c.is_ascii_digit()) {
            return text.parse::<u64>().ok().map(Value::from);
        }
        serde_json::from_str(text).ok()
    }

    /// A value after whitespace, decoded.
    pub(crate) fn value(&mut self, depth: usize) -> Option<Value> {
        self.ws();
        match self.peek()? {
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                let mut m = Map::new();
                self.object(|r, k| {
                    let v = r.value(depth + 1)?;
                    m.insert(k.into_owned(), v);
                    Some(())
                })?;
                Some(Value::Object(m))
            }
            b'[' => {
                let mut a = Vec::new();
                self.array(|r| {
                    a.push(r.value(depth + 1)?);
                    Some(())
                })?;
                Some(Value::Array(a))
            }
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.string().map(|s| Value::String(s.into_owned())),
        }
    }

    /// A value after whitespace as [`value::scalar_text`] renders it (`None` for null, arrays
    /// and objects); a string is borrowed when it holds no escape.
    pub(crate) fn scalar(&mut self) -> Option<Option<Cow<'a, str>>> {
        self.ws();
        if self.at_quote() {
            return self.string().map(Some);
        }
        Some(value::scalar_text(&self.value(1)?).map(Cow::Owned))
    }

    /// A value after whitespace: the string if it is one (borrowed when it holds no escape),
    /// else `None` with the value skipped.
    pub(crate) fn string_or_skip(&mut self, depth: usize) -> Option<Option<Cow<'a, str>>> {
        self.ws();
        if self.at_quote() {
            return self.string().map(Some);
        }
        self.skip(depth).map(|()| None)
    }

    /// Skips a value after whitespace, validating it as [`value`](Self::value) reads it: a
    /// loop, not a recursion, with the open containers in a bit stack (1: an object), at most
    /// 64 of them (deeper values are left to the `Value` path).
    pub(crate) fn skip(&mut self, depth: usize) -> Option<()> {
        let limit = MAX_DEPTH.saturating_sub(depth).min(64);
        let mut stack = 0u64;
        let mut level = 0usize;
        'value: loop {
            self.ws();
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    if level >= limit {
                        return None;
                    }
                    self.pos += 1;
                    let object = open == b'{';
                    self.ws();
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.pos += 1;
                    } else {
                        stack = (stack << 1) | u64::from(object);
                        level += 1;
                        if object {
                            self.skip_string()?;
                            self.eat(b':')?;
                        }
                        continue 'value;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => {
                    self.number_span()?;
                }
                _ => self.skip_string()?,
            }
            // A value is complete: close containers, or go on to the next member.
            loop {
                if level == 0 {
                    return Some(());
                }
                let object = stack & 1 == 1;
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if object {
                            self.skip_string()?;
                            self.eat(b':')?;
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.pos += 1;
                stack >>= 1;
                level -= 1;
            }
        }
    }

    /// After a member or element: `Some(true)` on a comma, `Some(false)` on `close`.
    #[inline(always)]
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(true)
            }
            c if c == close => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// The next byte after whitespace (`{`, `[`, `"`, a digit, ...; `\\` before a nested
    /// string).
    pub(crate) fn next_byte(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    /// An array after whitespace: `f(reader)` reads each element (or skips it).
    pub(crate) fn array(&mut self, f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.container(b'[', b']', f)
    }

    /// An object after whitespace: `f(reader, key)` reads each member's value (or skips it).
    pub(crate) fn object(
        &mut self,
        mut f: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        self.container(b'{', b'}', |r| {
            let k = r.string()?;
            r.eat(b':')?;
            f(r, k)
        })
    }

    /// `open`, then `f` for each comma-separated entry, then `close`.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut f: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Some(());
        }
        loop {
            f(self)?;
            if !self.next_member(close)? {
                return Some(());
            }
        }
    }

    /// An object after whitespace, kept as its text with the span of each member's value.
    fn indexed_object(&mut self, depth: usize) -> Option<RawConfig> {
        self.ws();
        let start = self.pos;
        let mut members = Vec::new();
        self.object(|r, k| {
            r.ws();
            let from = r.pos - start;
            r.skip(depth + 1)?;
            members.push((Box::from(k.as_ref()), from..r.pos - start));
            Some(())
        })?;
        Some(RawConfig {
            text: Box::from(&self.s[start..self.pos]),
            nested: self.nested,
            members,
        })
    }
}

/// An item's `configuration` object still as text (escaped as it was in the event), with the
/// span of each member's value.
#[derive(Clone)]
pub(crate) struct RawConfig {
    text: Box<str>,
    nested: bool,
    members: Vec<(Box<str>, Range<usize>)>,
}

impl RawConfig {
    /// The whole object, decoded (`None` cannot happen for text the reader indexed).
    pub(crate) fn decode(&self) -> Option<Value> {
        let mut r = Reader::new(&self.text, self.nested);
        let v = r.value(0)?;
        r.end().map(|()| v)
    }

    /// `Some(member)` (the last of duplicates, as in the decoded object), `Some(None)` when
    /// there is none; `None` if it cannot be decoded.
    pub(crate) fn member(&self, key: &str) -> Option<Option<Value>> {
        self.read_member(key, |r| match r {
            None => Some(None),
            Some(r) => r.value(0).map(Some),
        })
    }

    /// `f` on a reader of the member `key` (the last of duplicates; `None` when there is
    /// none); `None` if `f` fails or leaves text behind.
    pub(crate) fn read_member<T>(
        &self,
        key: &str,
        f: impl FnOnce(Option<&mut Reader<'_>>) -> Option<T>,
    ) -> Option<T> {
        match self.members.iter().rev().find(|(k, _)| &**k == key) {
            None => f(None),
            Some((_, span)) => {
                let mut r = Reader::new(self.text.get(span.clone())?, self.nested);
                let out = f(Some(&mut r))?;
                r.end().map(|()| out)
            }
        }
    }
}

/// The Lambda event of a custom rule, when it is a change notification this reader takes.
pub(crate) fn rule_event(text: &str) -> Option<ConfigRuleEvent> {
    let mut r = Reader::new(text, false);
    let mut invoking: Option<InvokingEvent> = None;
    let mut params: Option<Value> = None;
    let mut left_scope: Option<Value> = None;
    let mut scalars: [Option<String>; 8] = Default::default();
    const SCALARS: [&str; 8] = [
        "resultToken",
        "executionRoleArn",
        "configRuleArn",
        "configRuleName",
        "configRuleId",
        "accountId",
        "version",
        "evaluationMode",
    ];
    r.object(|r, k| {
        match k.as_ref() {
            "invokingEvent" => {
                r.ws();
                invoking = Some(if r.peek() == Some(b'"') {
                    // The usual form: a string holding the event, read in place.
                    r.pos += 1;
                    let mut inner = Reader {
                        nested: true,
                        ..r.clone()
                    };
                    let ie = invoking_event(&mut inner)?;
                    inner.ws();
                    if inner.peek() != Some(b'"') {
                        return None;
                    }
                    r.pos = inner.pos + 1;
                    ie
                } else {
                    invoking_event(r)?
                });
            }
            "ruleParameters" => params = Some(r.value(1)?),
            "eventLeftScope" => left_scope = Some(r.value(1)?),
            other => match SCALARS.iter().position(|s| *s == other) {
                Some(i) => scalars[i] = r.scalar()?.map(Cow::into_owned),
                None => r.skip(1)?,
            },
        }
        Some(())
    })?;
    r.end()?;
    let rule_parameters = parse_rule_parameters(params.as_ref()).ok()?;
    let event_left_scope = match left_scope {
        None | Some(Value::Null) => false,
        Some(b) => value::truthy(&b)?,
    };
    let [result_token, execution_role_arn, config_rule_arn, config_rule_name, config_rule_id, account_id, version, evaluation_mode] =
        scalars;
    Some(ConfigRuleEvent {
        invoking_event: invoking?,
        rule_parameters,
        result_token,
        event_left_scope,
        execution_role_arn,
        config_rule_arn,
        config_rule_name,
        config_rule_id,
        account_id,
        version,
        evaluation_mode,
    })
}

/// An invoking event given as JSON text, when it is a change notification.
pub(crate) fn invoking_event_text(text: &str) -> Option<InvokingEvent> {
    let mut r = Reader::new(text, false);
    let ie = invoking_event(&mut r)?;
    r.end().map(|()| ie)
}

/// A `ConfigurationItemChangeNotification` invoking event (an object after whitespace).
fn invoking_event(r: &mut Reader<'_>) -> Option<InvokingEvent> {
    let mut message_type = None;
    let mut item = None;
    let mut diff = None;
    let mut time = None;
    let mut record_version = None;
    r.object(|r, k| {
        match k.as_ref() {
            "messageType" => message_type = Some(r.value(1)?),
            "configurationItem" => item = Some(configuration_item(r)?),
            "configurationItemDiff" => diff = Some(r.value(1)?),
            "notificationCreationTime" => time = Some(r.value(1)?),
            "recordVersion" => record_version = Some(r.value(1)?),
            _ => r.skip(1)?,
        }
        Some(())
    })?;
    match message_type? {
        Value::String(s)
            if MessageType::parse(&s).ok()? == MessageType::ConfigurationItemChangeNotification => {
        }
        _ => return None,
    }
    let notification_creation_time = match time {
        None => None,
        Some(t) => value::timestamp(&t).ok()?,
    };
    Some(InvokingEvent::Change {
        item: Box::new(item?),
        diff: diff.filter(|d| !d.is_null()),
        notification_creation_time,
        record_version: record_version.as_ref().and_then(value::scalar_text),
    })
}

/// A configuration item (an object after whitespace), normalised as
/// [`ConfigurationItem::from_owned`] does; `configuration` stays indexed text.
fn configuration_item(r: &mut Reader<'_>) -> Option<ConfigurationItem> {
    r.ws();
    if r.peek() != Some(b'{') {
        return None;
    }
    let mut slots: [Option<Value>; ITEM_MEMBERS.len()] = Default::default();
    let mut configuration = None;
    let mut supplementary = None;
    r.object(|r, k| {
        match k.as_ref() {
            "configuration" => {
                r.ws();
                configuration = Some(if r.peek() == Some(b'{') {
                    Source::Raw(r.indexed_object(2)?)
                } else {
                    Source::Value(r.value(2)?)
                });
            }
            "supplementaryConfiguration" => supplementary = Some(r.value(2)?),
            key => match ITEM_MEMBERS.iter().position(|m| *m == key) {
                Some(i) => slots[i] = Some(r.value(2)?),
                None => r.skip(2)?,
            },
        }
        Some(())
    })?;
    let get = |key: &str| {
        let i = ITEM_MEMBERS.iter().position(|m| *m == key);
        debug_assert!(i.is_some(), "build_with reads {key}, not in ITEM_MEMBERS");
        let i = i?;
        slots[i].as_ref()
    };
    ConfigurationItem::build_with(get, configuration, supplementary).ok()
}

/// Seeded mutations of a text for the tests that hold the reader to the decoded path: delete
/// a character, insert a piece before it, or replace it with the piece (xorshift, so every run
/// makes the same ones).
#[cfg(test)]
pub(crate) struct Mutator(u64);

#[cfg(test)]
impl Mutator {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One mutation of `base` (not empty) with one of `pieces`.
    pub(crate) fn mutate(&mut self, base: &str, pieces: &[&str]) -> String {
        let chars = base.char_indices().count();
        let (at, c) = base
            .char_indices()
            .nth(self.below(chars))
            .unwrap_or_default();
        let end = at + c.len_utf8();
        let piece = pieces[self.below(pieces.len())];
        match self.below(3) {
            0 => format!("{}{}", &base[..at], &base[end..]),
            1 => format!("{}{piece}{}", &base[..at], &base[at..]),
            _ => format!("{}{piece}{}", &base[..at], &base[end..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(v: &Value) -> Option<Value> {
        let text = v.to_string();
        let mut r = Reader::new(&text, false);
        let out = r.value(0)?;
        r.end().map(|()| out)
    }

    /// `v` written as a JSON string literal's body, read nested.
    fn nested(v: &Value) -> Option<Value> {
        let lit = Value::String(v.to_string()).to_string();
        let body = &lit[1..lit.len() - 1];
        let mut r = Reader::new(body, true);
        let out = r.value(0)?;
        r.end().map(|()| out)
    }

    #[test]
    fn stop_finds_the_first_stop_byte() {
        for len in 0..40 {
            for at in 0..=len {
                for c in [b'"', b'\\', 0u8, 0x1f] {
                    let mut b = vec![b'a'; len];
                    // Bytes that look like stops to a careless test: 0x20, 0x7f, 0x80-0xff.
                    for (i, x) in b.iter_mut().enumerate() {
                        *x = [b'a', 0x20, 0x7f, 0x80, 0xff, b'#', b']'][i % 7];
                    }
                    if at < len {
                        b[at] = c;
                        if at + 1 < len {
                            b[at + 1] = b'"';
                        }
                    }
                    let want = (at < len).then_some(at);
                    assert_eq!(stop(&b), want, "len {len}, at {at}, byte {c:#x}");
                }
            }
        }
    }

    #[test]
    fn values_read_at_both_levels() {
        let v = json!({
            "s": "plain", "q": "say \"hi\" \\ back\\slash / \n\t\r \u{1} é 𝄞",
            "n": [0, -1, 12.5, 1e3, -0.0, 18446744073709551615u64, 123456789012345678u64],
            "b": [true, false, null], "o": {"": {}, "a": []}, "dup": 1
        });
        assert_eq!(plain(&v), Some(v.clone()));
        assert_eq!(nested(&v), Some(v.clone()));
        assert_eq!(plain(&json!("x")), Some(json!("x")));
    }

    #[test]
    fn invalid_json_is_refused() {
        for bad in [
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "nul",
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "{\"a\" 1}",
            "[1 2]",
            "{} x",
            "\"\u{1}\"",
            "{\"a\":}",
            "\"\\ud800\"",
        ] {
            let mut r = Reader::new(bad, false);
            let ok = r.value(0).and_then(|_| r.end());
            assert!(ok.is_none(), "{bad:?} was accepted");
            assert!(serde_json::from_str::<Value>(bad).is_err() || bad == "\"\\ud800\"");
        }
        // Nested: a raw quote, a raw control character, an escaped control character inside a
        // nested string, and a quote written as \u0022 are refused.
        for bad in [
            "\"a\"",
            "{\\\"a\\\":1}\"",
            "\\\"a\u{1}\\\"",
            "\\\"a\\n\\\"",
            "\\\"\\u0022\\\"",
        ] {
            let mut r = Reader::new(bad, true);
            let ok = r.value(0).and_then(|_| r.end());
            assert!(ok.is_none(), "{bad:?} was accepted");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(Reader::new(&deep, false).value(0).is_none());
        assert!(Reader::new(&deep, false).skip(0).is_none());
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(Reader::new(&ok, false).skip(0).is_some());
        assert!(Reader::new(&ok, false).skip(MAX_DEPTH - 63).is_none());
    }

    #[test]
    fn indexed_members_decode_alone_and_last_wins() {
        let text = r#"{"a": [1, {"b": "c"}], "x": "y", "a": {"z": true}}"#;
        let mut r = Reader::new(text, false);
        let raw = r.indexed_object(0).unwrap();
        assert_eq!(raw.member("a"), Some(Some(json!({"z": true}))));
        assert_eq!(raw.member("x"), Some(Some(json!("y"))));
        assert_eq!(raw.member("nope"), Some(None));
        assert_eq!(raw.decode(), Some(json!({"a": {"z": true}, "x": "y"})));
    }

    fn data_dir() -> std::path::PathBuf {
        match std::env::var_os("TRAILWARDEN_DATA_DIR") {
            Some(d) => d.into(),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        }
    }

    /// Every rule event of the kit, and a change event around every kit item, plus one with
    /// every kind of escape in its strings.
    fn corpus() -> Vec<String> {
        let dir = data_dir();
        let mut out = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir.join("events/config-rule-invocations"))
            .expect("kit events")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read_to_string(f).unwrap());
        }
        let mut items: Vec<_> = std::fs::read_dir(dir.join("config/items"))
            .expect("kit items")
            .map(|e| e.unwrap().path())
            .collect();
        items.sort();
        let mut escaped = json!({
            "resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-1",
            "configurationItemCaptureTime": "2024-05-01T19:55:21.708Z",
            "tags": {"Name": "a \"quoted\" \\ name/é 𝄞\t"},
            "configuration": {"description": "line\nbreak \u{7f} \u{1}", "groupName": "x",
                "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                    "ipRanges": ["0.0.0.0/0"]}], "n": [1.5e3, -2, 0]},
        });
        let mut all: Vec<Value> = items
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect();
        all.push(escaped.take());
        for item in all {
            for (k, v) in [
                ("configurationItem", item.clone()),
                (
                    "configurationItem",
                    item.get("configurationItems")
                        .and_then(|a| a.get(0))
                        .cloned()
                        .unwrap_or(Value::Null),
                ),
            ] {
                if v.is_null() {
                    continue;
                }
                let ie = json!({
                    k: v, "configurationItemDiff": null,
                    "messageType": "ConfigurationItemChangeNotification",
                    "notificationCreationTime": "2024-05-01T10:00:00.000Z", "recordVersion": "1.3"
                });
                for form in [Value::String(ie.to_string()), ie.clone()] {
                    out.push(
                        json!({
                            "accountId": "123456789012", "configRuleName": "r",
                            "eventLeftScope": false, "invokingEvent": form,
                            "resultToken": "TESTMODE", "ruleParameters": "{\"a\":\"1\"}",
                            "version": "1.0", "unknown": [{"x": null}]
                        })
                        .to_string(),
                    );
                }
            }
        }
        out
    }

    /// The one-pass reader's event equals the `Value` path's, member by member too; `true`
    /// when the reader took the event.
    fn check(text: &str) -> bool {
        let Some(fast) = rule_event(text) else {
            return false;
        };
        let slow = ConfigRuleEvent::from_json_tree(text).unwrap_or_else(|e| {
            panic!("the reader took an event the Value path refuses ({e}): {text}")
        });
        if let (InvokingEvent::Change { item: f, .. }, InvokingEvent::Change { item: s, .. }) =
            (&fast.invoking_event, &slow.invoking_event)
        {
            // Member by member while the configuration is still text.
            let keys: Vec<String> = s
                .configuration
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for k in keys.iter().map(String::as_str).chain(["absent"]) {
                assert_eq!(
                    f.configuration.with_member(k, |m| m.cloned()),
                    s.configuration.get(k).cloned(),
                    "member {k} of {text}"
                );
            }
        }
        assert_eq!(fast, slow, "{text}");
        true
    }

    #[test]
    fn same_events_as_the_value_path() {
        let corpus = corpus();
        let taken = corpus.iter().filter(|t| check(t)).count();
        // Every change notification with an item is taken (the kit's files, both forms of the
        // built ones); other message types are left to the Value path.
        assert!(taken >= 20, "only {taken} of {} events taken", corpus.len());
    }

    #[test]
    fn mutations_never_differ_from_the_value_path() {
        const PIECES: [&str; 22] = [
            "\"",
            "\\",
            "\\\"",
            "\\\\\\\"",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\\n",
            "\n",
            "\\u0022",
            "\\u0041",
            "\\u00e9",
            "0",
            "-",
            "e",
            "null",
            "é",
            "\\\\u0041",
        ];
        let mut mutator = Mutator::new(0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut total) = (0, 0);
        for base in corpus().iter().filter(|t| rule_event(t).is_some()) {
            for _ in 0..400 {
                let text = mutator.mutate(base, &PIECES);
                total += 1;
                taken += usize::from(check(&text));
            }
        }
        // Many mutations keep the event valid (inside strings); the reader must take some.
        assert!(taken > total / 10, "{taken} of {total} mutations taken");
    }
}
