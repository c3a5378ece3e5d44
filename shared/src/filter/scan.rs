//! Zero-copy JSON scanner that extracts only the selector paths a set of patterns needs.
//!
//! A [`Plan`] is a trie of selector paths (object keys, array indices, wildcards). The scanner
//! walks a message once: members/elements that no path needs are skipped without being parsed
//! (strings with `memchr`, containers by bracket counting), needed values are recorded as spans
//! of the message ([`Entry`]). Recursion follows the trie only, so its depth is bounded by the
//! longest selector, never by the message. Duplicate keys: the last one wins (earlier entries
//! are marked dead). Validation is strict on everything walked (structure, literals, string
//! escapes of recorded strings and keys) and structural on skipped containers (balanced
//! brackets and strings).

use super::simd;
use std::collections::HashMap;
use std::ops::Range;

const NONE: u32 = u32::MAX;

/// One step of a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// `.name` or `['name']`
    Key(Vec<u8>),
    /// `[N]`
    Index(u32),
    /// `[*]` or `.*`: every array element and every object member value.
    Wildcard,
}

#[derive(Debug, Clone)]
struct Node {
    keys: Vec<(Box<[u8]>, u32)>,
    /// (length, bytes 0..8, bytes 8..16) of each key, zero-padded: keys of up to 16 bytes are
    /// told apart without a byte compare.
    key_heads: Vec<(usize, u64, u64)>,
    /// Open-addressing index over `key_heads` (entry + 1; 0 = empty), power-of-two size.
    key_table: Vec<u32>,
    /// One bit per key (bit `key_hash >> 58`): most keys that are not wanted fail this test.
    key_bloom: u64,
    indices: Vec<(u32, u32)>,
    wildcard: u32,
    slot: u32,
    /// Some condition on this slot is `IS NULL`: arrays must be checked for a null element.
    want_nulls: bool,
}

impl Node {
    fn new() -> Node {
        Node {
            keys: Vec::new(),
            key_heads: Vec::new(),
            key_table: Vec::new(),
            key_bloom: 0,
            indices: Vec::new(),
            wildcard: NONE,
            slot: NONE,
            want_nulls: false,
        }
    }

    fn wants_object(&self) -> bool {
        !self.keys.is_empty() || self.wildcard != NONE
    }

    fn wants_array(&self) -> bool {
        !self.indices.is_empty() || self.wildcard != NONE || (self.slot != NONE && self.want_nulls)
    }

    fn rebuild_key_table(&mut self) {
        let cap = (self.key_heads.len() * 4).next_power_of_two().max(16);
        self.key_table = vec![0; cap];
        self.key_bloom = 0;
        for (i, &(len, head, _)) in self.key_heads.iter().enumerate() {
            self.key_bloom |= 1 << (key_hash(len, head) >> 58);
            let mut h = (key_hash(len, head) as usize) & (cap - 1);
            while self.key_table[h] != 0 {
                h = (h + 1) & (cap - 1);
            }
            self.key_table[h] = i as u32 + 1;
        }
    }

    /// The child for the key of length `len` whose bytes 0..8 and 8..16 are `head` and `tail`
    /// (zero-padded); `full` gives the whole key, read only for keys longer than 16 bytes.
    #[inline(always)]
    fn lookup<'k>(&self, len: usize, head: u64, tail: u64, full: impl Fn() -> &'k [u8]) -> u32 {
        let hash = key_hash(len, head);
        if self.key_bloom & (1 << (hash >> 58)) == 0 {
            return NONE;
        }
        let cap = self.key_table.len();
        let mut h = (hash as usize) & (cap - 1);
        loop {
            let e = self.key_table[h];
            if e == 0 {
                return NONE;
            }
            let i = (e - 1) as usize;
            if self.key_heads[i] == (len, head, tail) {
                let (k, c) = &self.keys[i];
                if len <= 16 || k.get(16..) == full().get(16..) {
                    return *c;
                }
            }
            h = (h + 1) & (cap - 1);
        }
    }

    /// `key_child` for a key without escapes at `b[start..end]`.
    #[inline(always)]
    fn key_child_at(&self, b: &[u8], start: usize, end: usize) -> u32 {
        let len = end - start;
        let (head, tail) = match b.get(start..).and_then(<[u8]>::first_chunk::<16>) {
            Some(w) => {
                let v = u128::from_le_bytes(*w);
                let (mh, mt) = KEY_MASKS[len.min(16)];
                (v as u64 & mh, (v >> 64) as u64 & mt)
            }
            None => key_words(b.get(start..end).unwrap_or(&[])),
        };
        self.lookup(len, head, tail, || b.get(start..end).unwrap_or(&[]))
    }

    #[inline]
    fn key_child(&self, key: &[u8]) -> u32 {
        let (head, tail) = key_words(key);
        self.lookup(key.len(), head, tail, || key)
    }

    #[inline]
    fn index_child(&self, idx: u32) -> u32 {
        for (i, c) in &self.indices {
            if *i == idx {
                return *c;
            }
        }
        NONE
    }
}

/// 64-bit hash of a key's (length, first 8 bytes); the top 6 bits index the bloom word.
#[inline(always)]
fn key_hash(len: usize, head: u64) -> u64 {
    (head ^ (len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// Bytes 0..8 and 8..16 of `k` as little-endian integers (zero-padded).
#[inline]
fn key_words(k: &[u8]) -> (u64, u64) {
    let mut w = [0u8; 16];
    let n = k.len().min(16);
    w[..n].copy_from_slice(&k[..n]);
    let v = u128::from_le_bytes(w);
    (v as u64, (v >> 64) as u64)
}

/// `KEY_MASKS[n]`: the mask of the first `n` bytes of 16, as two words (see [`key_words`]).
const KEY_MASKS: [(u64, u64); 17] = {
    let mut t = [(0u64, 0u64); 17];
    let mut n = 1;
    while n <= 16 {
        let m = if n == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * n)) - 1
        };
        t[n] = (m as u64, (m >> 64) as u64);
        n += 1;
    }
    t
};

/// A trie of selector paths; each path's end node is a numbered slot.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    nodes: Vec<Node>,
    slots: usize,
    /// Per slot: the path has a wildcard (the slot can hold several values).
    multi: Vec<bool>,
    /// Per slot: the root member (trie node) its path goes through when the path is at least
    /// two keys deep from the root, else NONE. With `lazy`, such members' objects are not
    /// walked during the scan but kept as spans and walked on demand ([`materialize`]).
    owner: Vec<u32>,
    lazy: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            nodes: vec![Node::new()],
            slots: 0,
            multi: Vec::new(),
            owner: Vec::new(),
            lazy: false,
        }
    }
}

impl Plan {
    /// Adds a path (or finds it) and returns its slot.
    pub(crate) fn add_path(&mut self, path: &[Segment]) -> u32 {
        let mut n = 0usize;
        for seg in path {
            let existing = match seg {
                Segment::Key(k) => self.nodes[n].key_child(k),
                Segment::Index(i) => self.nodes[n].index_child(*i),
                Segment::Wildcard => self.nodes[n].wildcard,
            };
            let next = if existing != NONE {
                existing
            } else {
                let id = self.nodes.len() as u32;
                self.nodes.push(Node::new());
                match seg {
                    Segment::Key(k) => {
                        self.nodes[n].keys.push((k.clone().into_boxed_slice(), id));
                        let (head, tail) = key_words(k);
                        self.nodes[n].key_heads.push((k.len(), head, tail));
                        self.nodes[n].rebuild_key_table();
                    }
                    Segment::Index(i) => self.nodes[n].indices.push((*i, id)),
                    Segment::Wildcard => self.nodes[n].wildcard = id,
                }
                id
            };
            n = next as usize;
        }
        if self.nodes[n].slot == NONE {
            self.nodes[n].slot = self.slots as u32;
            self.slots += 1;
            self.multi.push(path.contains(&Segment::Wildcard));
            let owner = match path {
                [Segment::Key(k), _, ..] => self.nodes[0].key_child(k),
                _ => NONE,
            };
            self.owner.push(owner);
        }
        self.nodes[n].slot
    }

    /// Marks that `IS NULL` is asked of the path (arrays are then searched for a null).
    pub(crate) fn want_nulls(&mut self, path: &[Segment]) {
        let slot = self.add_path(path);
        if let Some(node) = self.nodes.iter_mut().find(|n| n.slot == slot) {
            node.want_nulls = true;
        }
    }

    /// Defer the walk of root members' objects until a condition needs them (FilterSet).
    pub(crate) fn set_lazy(&mut self, lazy: bool) {
        self.lazy = lazy;
    }

    /// The root member whose object must be materialized before `slot` can be read, or NONE.
    pub(crate) fn owner(&self, slot: u32) -> u32 {
        if !self.lazy {
            return NONE;
        }
        self.owner.get(slot as usize).copied().unwrap_or(NONE)
    }

    /// Can the slot hold several values (its path has a wildcard)?
    pub(crate) fn is_multi(&self, slot: u32) -> bool {
        self.multi.get(slot as usize).copied().unwrap_or(true)
    }

    /// True when no path was added (a set without JSON patterns needs no scan).
    pub(crate) fn is_empty(&self) -> bool {
        self.slots == 0
    }
}

/// The kind of a recorded value; offsets index the message (or `Scratch::unesc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// String without escapes: raw bytes between the quotes.
    Str,
    /// String with escapes, unescaped into `Scratch::unesc`.
    StrUnescaped,
    Num,
    True,
    False,
    Null,
    Object,
    Array {
        has_null: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    prev: u32,
    dead: bool,
    kind: Kind,
    start: usize,
    end: usize,
}

/// A recorded value, borrowed from the message or the scratch buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a [u8]),
    Num(&'a [u8]),
    Bool(bool),
    Null,
    Object,
    Array { has_null: bool },
}

#[derive(Clone, Copy)]
struct KeyRef {
    unescaped: bool,
    start: usize,
    end: usize,
}

#[derive(Clone, Copy)]
struct Dup {
    /// The member's first trie child when the object has no wildcard (identifies the key);
    /// NONE when duplicates are found by key bytes.
    child: u32,
    key: KeyRef,
    entries: (usize, usize),
}

/// Reusable buffers for scanning (keep one per thread / worker and reuse it across messages).
#[derive(Debug, Default)]
pub struct Scratch {
    entries: Vec<Entry>,
    heads: Vec<u32>,
    stack: Vec<u32>,
    dups: Vec<Dup>,
    dup_maps: Vec<HashMap<Box<[u8]>, usize>>,
    unesc: Vec<u8>,
    keybuf: Vec<u8>,
    pub(crate) truth: Vec<u64>,
    /// Per trie node: (object instance, entries range) of its last match, for duplicate keys.
    seen: Vec<(u64, usize, usize)>,
    instance: u64,
    /// Per trie node: (scan number, start, end) of a deferred root member object.
    spans: Vec<(u64, usize, usize)>,
    scan: u64,
    /// Lazy condition results: known / value bits.
    pub(crate) lazy_known: Vec<u64>,
    pub(crate) lazy_value: Vec<u64>,
}

impl std::fmt::Debug for Dup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dup({:?})", self.entries)
    }
}

impl Scratch {
    fn reset(&mut self, slots: usize, nodes: usize) {
        if self.seen.len() < nodes {
            self.seen.resize(nodes, (0, 0, 0));
            self.spans.resize(nodes, (0, 0, 0));
        }
        self.scan += 1;
        self.entries.clear();
        self.heads.clear();
        self.heads.resize(slots, NONE);
        self.stack.clear();
        self.dups.clear();
        self.unesc.clear();
        self.keybuf.clear();
    }
}

/// Read access to the values recorded by the last scan.
pub(crate) struct Values<'a> {
    buf: &'a [u8],
    s: &'a Scratch,
}

impl<'a> Values<'a> {
    pub(crate) fn slot(&self, slot: u32) -> SlotIter<'a> {
        let cur = self.s.heads.get(slot as usize).copied().unwrap_or(NONE);
        SlotIter {
            buf: self.buf,
            s: self.s,
            cur,
        }
    }
}

pub(crate) struct SlotIter<'a> {
    buf: &'a [u8],
    s: &'a Scratch,
    cur: u32,
}

impl<'a> Iterator for SlotIter<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        while self.cur != NONE {
            let e = self.s.entries.get(self.cur as usize)?;
            self.cur = e.prev;
            if e.dead {
                continue;
            }
            let v = match e.kind {
                Kind::Str => Value::Str(self.buf.get(e.start..e.end)?),
                Kind::StrUnescaped => Value::Str(self.s.unesc.get(e.start..e.end)?),
                Kind::Num => Value::Num(self.buf.get(e.start..e.end)?),
                Kind::True => Value::Bool(true),
                Kind::False => Value::Bool(false),
                Kind::Null => Value::Null,
                Kind::Object => Value::Object,
                Kind::Array { has_null } => Value::Array { has_null },
            };
            return Some(v);
        }
        None
    }
}

/// Scans a whole message that must be one JSON object (surrounding whitespace allowed).
/// Returns the recorded values, or `None` if the message is not a JSON object.
pub(crate) fn scan_message<'a>(
    plan: &Plan,
    buf: &'a [u8],
    scratch: &'a mut Scratch,
) -> Option<Values<'a>> {
    let end = scan_object_at(plan, buf, 0, scratch)?;
    let rest = buf.get(end..)?;
    if rest.iter().all(|b| b.is_ascii_whitespace()) {
        Some(Values { buf, s: scratch })
    } else {
        None
    }
}

/// Like [`scan_message`], leaving the values in `scratch` (read them with [`values`]).
pub(crate) fn scan_message_into(plan: &Plan, buf: &[u8], scratch: &mut Scratch) -> bool {
    match scan_object_at(plan, buf, 0, scratch) {
        Some(end) => buf
            .get(end..)
            .is_some_and(|r| r.iter().all(|b| b.is_ascii_whitespace())),
        None => false,
    }
}

/// Scans the JSON object that starts at `start` (after optional whitespace) and returns where
/// it ends (just after its `}`), recording the plan's values in `scratch`.
pub(crate) fn scan_object_at(
    plan: &Plan,
    buf: &[u8],
    start: usize,
    scratch: &mut Scratch,
) -> Option<usize> {
    scratch.reset(plan.slots, plan.nodes.len());
    let mut sc = Scanner {
        b: buf,
        i: start,
        plan,
        s: scratch,
    };
    sc.ws();
    if sc.peek() != Some(b'{') {
        return None;
    }
    sc.s.stack.push(0);
    let r = sc.value(0..1);
    let end = sc.i;
    r.ok().map(|_| end)
}

/// Walks the deferred object of root member `node` (if the last scan deferred one) and records
/// its values. Returns the deferred span when there was one (the object's bytes).
pub(crate) fn materialize(plan: &Plan, buf: &[u8], scratch: &mut Scratch, node: u32) {
    let Some(&(scan, start, _end)) = scratch.spans.get(node as usize) else {
        return;
    };
    if scan != scratch.scan || scan == 0 {
        return;
    }
    scratch.spans[node as usize].0 = 0;
    let mut sc = Scanner {
        b: buf,
        i: start,
        plan,
        s: scratch,
    };
    let top = sc.s.stack.len();
    sc.s.stack.push(node);
    // Malformed JSON inside the object (accepted by the structural skip) records nothing more.
    let _ = sc.object(top..top + 1);
    sc.s.stack.truncate(top);
}

/// The bytes of the deferred object of root member `node`, if the last scan deferred one and
/// it has not been materialized yet.
pub(crate) fn deferred_span<'a>(buf: &'a [u8], scratch: &Scratch, node: u32) -> Option<&'a [u8]> {
    let &(scan, start, end) = scratch.spans.get(node as usize)?;
    if scan != scratch.scan || scan == 0 {
        return None;
    }
    buf.get(start..end)
}

/// The values recorded by the last successful [`scan_object_at`] over `buf`.
pub(crate) fn values<'a>(buf: &'a [u8], scratch: &'a Scratch) -> Values<'a> {
    Values { buf, s: scratch }
}

type R<T> = Result<T, ()>;

struct Scanner<'a, 'p> {
    b: &'a [u8],
    i: usize,
    plan: &'p Plan,
    s: &'a mut Scratch,
}

#[inline]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !is_ws(c) {
            break;
        }
        i += 1;
    }
    i
}

/// Quote and backslash positions of a 64-byte window of the buffer (bits relative to `base`),
/// so that a key and its string value are usually found from one SIMD classification.
#[derive(Clone, Copy)]
struct QuoteWindow {
    base: usize,
    /// Quote bits that are certainly not escaped: those before the window's first backslash.
    quotes: u64,
}

impl QuoteWindow {
    const EMPTY: QuoteWindow = QuoteWindow {
        base: usize::MAX,
        quotes: 0,
    };

    /// Like [`string_end`] (content starting at `j`), from the window when possible.
    #[inline(always)]
    fn string_end<W: Fn(&[u8; 64]) -> (u64, u64)>(
        &mut self,
        b: &[u8],
        j: usize,
        load: &W,
    ) -> Option<(usize, bool)> {
        let off = j.wrapping_sub(self.base);
        if off < 64 {
            let m = self.quotes & (!0u64 << off);
            if m != 0 {
                return Some((self.base + m.trailing_zeros() as usize, false));
            }
        }
        // Reload at `j` (just after an unescaped quote, so its first byte is not escaped).
        if let Some(block) = b.get(j..j + 64) {
            let (q, bs) = load(block.try_into().ok()?);
            // quotes at or after the first backslash may be escaped: not usable
            let clean = if bs == 0 {
                q
            } else {
                q & ((1u64 << bs.trailing_zeros()) - 1)
            };
            self.base = j;
            self.quotes = clean;
            if clean != 0 {
                return Some((j + clean.trailing_zeros() as usize, false));
            }
        }
        string_end(b, j)
    }
}

#[inline(always)]
fn window_sse2(block: &[u8; 64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is baseline on x86_64; loads read 16-byte pieces of a 64-byte array.
        unsafe {
            let q = _mm_set1_epi8(b'"' as i8);
            let bs = _mm_set1_epi8(b'\\' as i8);
            let mut qm = 0u64;
            let mut bm = 0u64;
            for k in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
                qm |=
                    ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u32 as u64) & 0xFFFF) << (16 * k);
                bm |=
                    ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) as u32 as u64) & 0xFFFF) << (16 * k);
            }
            (qm, bm)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut qm = 0u64;
        let mut bm = 0u64;
        for (k, &c) in block.iter().enumerate() {
            qm |= ((c == b'"') as u64) << k;
            bm |= ((c == b'\\') as u64) << k;
        }
        (qm, bm)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn window_avx2(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: the loads read bytes 0..32 and 32..64 of a 64-byte array.
    unsafe {
        let lo = _mm256_loadu_si256(block.as_ptr() as *const __m256i);
        let hi = _mm256_loadu_si256(block.as_ptr().add(32) as *const __m256i);
        let q = _mm256_set1_epi8(b'"' as i8);
        let bs = _mm256_set1_epi8(b'\\' as i8);
        let m = |v: __m256i| {
            let a = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, v)) as u32 as u64;
            let b = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, v)) as u32 as u64;
            a | (b << 32)
        };
        (m(q), m(bs))
    }
}

/// For string content starting at `j` (just after the opening quote): the position of the
/// closing quote and whether the string has escapes.
#[inline(always)]
fn string_end(b: &[u8], mut j: usize) -> Option<(usize, bool)> {
    let mut esc = false;
    loop {
        let (p, is_quote) = simd::find_quote_or_backslash(b, j)?;
        if is_quote {
            return Some((p, esc));
        }
        esc = true;
        j = p + 2;
    }
}

impl Scanner<'_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if is_ws(c) {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> R<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    fn push_entry(&mut self, slot: u32, kind: Kind, start: usize, end: usize) -> usize {
        let idx = self.s.entries.len();
        let prev = self.s.heads.get(slot as usize).copied().unwrap_or(NONE);
        self.s.entries.push(Entry {
            prev,
            dead: false,
            kind,
            start,
            end,
        });
        if let Some(h) = self.s.heads.get_mut(slot as usize) {
            *h = idx as u32;
        }
        idx
    }

    /// Processes a value wanted by the trie nodes `self.s.stack[set]`.
    fn value(&mut self, set: Range<usize>) -> R<()> {
        self.ws();
        let plan = self.plan;
        let c = self.peek().ok_or(())?;
        match c {
            b'"' => {
                let (start, end, esc) = self.string()?;
                let mut span: Option<(Kind, usize, usize)> = None;
                for k in set {
                    let slot = plan.nodes[self.s.stack[k] as usize].slot;
                    if slot == NONE {
                        continue;
                    }
                    let (kind, s, e) = match span {
                        Some(x) => x,
                        None => *span.insert(self.string_content(start, end, esc)?),
                    };
                    self.push_entry(slot, kind, s, e);
                }
                Ok(())
            }
            b'{' => {
                let mut descend = false;
                for k in set.clone() {
                    let node = &plan.nodes[self.s.stack[k] as usize];
                    if node.slot != NONE {
                        self.push_entry(node.slot, Kind::Object, 0, 0);
                    }
                    descend |= node.wants_object();
                }
                if descend {
                    self.object(set)
                } else {
                    self.skip_container()
                }
            }
            b'[' => {
                let first_entry = self.s.entries.len();
                let mut descend = false;
                for k in set.clone() {
                    let node = &plan.nodes[self.s.stack[k] as usize];
                    if node.slot != NONE {
                        self.push_entry(node.slot, Kind::Array { has_null: false }, 0, 0);
                    }
                    descend |= node.wants_array();
                }
                let own_entries = first_entry..self.s.entries.len();
                if descend {
                    self.array(set, own_entries)
                } else {
                    self.skip_container()
                }
            }
            b't' | b'f' | b'n' => {
                let (lit, kind): (&[u8], Kind) = match c {
                    b't' => (b"true", Kind::True),
                    b'f' => (b"false", Kind::False),
                    _ => (b"null", Kind::Null),
                };
                if !self.b[self.i..].starts_with(lit) {
                    return Err(());
                }
                self.i += lit.len();
                for k in set {
                    let node = &plan.nodes[self.s.stack[k] as usize];
                    if node.slot != NONE {
                        self.push_entry(node.slot, kind, 0, 0);
                    }
                }
                Ok(())
            }
            _ => {
                let (start, end) = self.number()?;
                for k in set {
                    let node = &plan.nodes[self.s.stack[k] as usize];
                    if node.slot != NONE {
                        self.push_entry(node.slot, Kind::Num, start, end);
                    }
                }
                Ok(())
            }
        }
    }

    fn object(&mut self, set: Range<usize>) -> R<()> {
        let plan = self.plan;
        if set.len() == 1 {
            let nid = self.s.stack[set.start];
            if plan.nodes[nid as usize].wildcard == NONE {
                return self.object_single(nid);
            }
        }
        self.i += 1; // '{'
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let dup_base = self.s.dups.len();
        let map_base = self.s.dup_maps.len();
        let result = (|| -> R<()> {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(());
                }
                let (ks, ke, kesc) = self.string()?;
                let key = if kesc {
                    let start = self.s.keybuf.len();
                    unescape(&self.b[ks..ke], &mut self.s.keybuf)?;
                    KeyRef {
                        unescaped: true,
                        start,
                        end: self.s.keybuf.len(),
                    }
                } else {
                    KeyRef {
                        unescaped: false,
                        start: ks,
                        end: ke,
                    }
                };
                self.ws();
                self.expect(b':')?;
                let child_start = self.s.stack.len();
                let mut wild = false;
                {
                    let kb: &[u8] = if key.unescaped {
                        &self.s.keybuf[key.start..key.end]
                    } else {
                        &self.b[key.start..key.end]
                    };
                    for k in set.clone() {
                        let node = &plan.nodes[self.s.stack[k] as usize];
                        let c = node.key_child(kb);
                        if c != NONE {
                            self.s.stack.push(c);
                        }
                        if node.wildcard != NONE {
                            self.s.stack.push(node.wildcard);
                            wild = true;
                        }
                    }
                }
                let child_end = self.s.stack.len();
                if child_start == child_end {
                    self.skip_value()?;
                } else {
                    let first_child = if wild {
                        NONE
                    } else {
                        self.s.stack[child_start]
                    };
                    let e0 = self.s.entries.len();
                    self.value(child_start..child_end)?;
                    let e1 = self.s.entries.len();
                    self.s.stack.truncate(child_start);
                    self.note_member(dup_base, map_base, first_child, key, (e0, e1));
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        return Ok(());
                    }
                    _ => return Err(()),
                }
            }
        })();
        self.s.dups.truncate(dup_base);
        self.s.dup_maps.truncate(map_base);
        result
    }

    /// `object` for the common case: one trie node, no wildcard. A tight loop over local
    /// state: keys are read and looked up, values nobody wants are skipped (strings with the
    /// SIMD quote search, containers with the SIMD bracket matcher). Root members' objects are
    /// deferred when the plan is lazy. Duplicate keys are detected per trie child with the
    /// object-instance counter.
    fn object_single(&mut self, nid: u32) -> R<()> {
        #[cfg(target_arch = "x86_64")]
        {
            if simd::has_avx2() {
                // SAFETY: the CPU supports AVX2, POPCNT and BMI1 (checked at run time).
                return unsafe { self.object_single_avx2(nid) };
            }
        }
        self.object_single_with(nid, &window_sse2)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    fn object_single_avx2(&mut self, nid: u32) -> R<()> {
        self.object_single_with(nid, &|block: &[u8; 64]| {
            // SAFETY: only reached from object_single after the AVX2 check.
            #[allow(unused_unsafe)]
            unsafe {
                window_avx2(block)
            }
        })
    }

    #[inline(always)]
    fn object_single_with<W: Fn(&[u8; 64]) -> (u64, u64)>(&mut self, nid: u32, load: &W) -> R<()> {
        let plan = self.plan;
        let node = &plan.nodes[nid as usize];
        let b = self.b;
        let mut win = QuoteWindow::EMPTY;
        let mut i = skip_ws(b, self.i + 1);
        if b.get(i) == Some(&b'}') {
            self.i = i + 1;
            return Ok(());
        }
        self.s.instance += 1;
        let inst = self.s.instance;
        loop {
            if b.get(i) != Some(&b'"') {
                return Err(());
            }
            let ks = i + 1;
            let (ke, kesc) = win.string_end(b, ks, load).ok_or(())?;
            let child = if kesc {
                let start = self.s.keybuf.len();
                unescape(&b[ks..ke], &mut self.s.keybuf)?;
                node.key_child(&self.s.keybuf[start..])
            } else {
                node.key_child_at(b, ks, ke)
            };
            i = ke + 1;
            if b.get(i) == Some(&b':') {
                i += 1;
            } else {
                i = skip_ws(b, i);
                if b.get(i) != Some(&b':') {
                    return Err(());
                }
                i += 1;
            }
            if child == NONE {
                match b.get(i) {
                    Some(b'"') => {
                        let (end, esc) = win.string_end(b, i + 1, load).ok_or(())?;
                        if esc {
                            // Checked like a wanted string's (which is unescaped), so that
                            // whether the object is valid does not depend on what is wanted.
                            self.check_escapes(i + 1, end)?;
                        }
                        i = end + 1;
                    }
                    Some(b'{' | b'[') => i = skip_container(b, i).ok_or(())?,
                    _ => {
                        self.i = i;
                        self.skip_value()?;
                        i = self.i;
                    }
                }
            } else {
                i = skip_ws(b, i);
                let e0 = self.s.entries.len();
                let cnode = &plan.nodes[child as usize];
                // A root member's object that the patterns look into: a lazy plan defers it,
                // a plan that walks it now reads it as `materialize` would (malformed JSON
                // inside, past the structural skip, records nothing more), so a pattern alone
                // and the same pattern in a set give the same answer.
                let root_object = nid == 0 && b.get(i) == Some(&b'{') && cnode.wants_object();
                if plan.lazy && root_object {
                    if cnode.slot != NONE {
                        self.push_entry(cnode.slot, Kind::Object, 0, 0);
                    }
                    let end = skip_container(b, i).ok_or(())?;
                    self.s.spans[child as usize] = (self.s.scan, i, end);
                    i = end;
                } else {
                    if plan.lazy && nid == 0 {
                        self.s.spans[child as usize].0 = 0;
                    }
                    if b.get(i) == Some(&b'"') {
                        // A string (the common case: `eventName`, `errorCode`): its end from
                        // the quote window, no trip through `value`.
                        let (end, esc) = win.string_end(b, i + 1, load).ok_or(())?;
                        if cnode.slot != NONE {
                            let (kind, s, e) = self.string_content(i + 1, end, esc)?;
                            self.push_entry(cnode.slot, kind, s, e);
                        }
                        i = end + 1;
                    } else {
                        self.i = i;
                        let top = self.s.stack.len();
                        self.s.stack.push(child);
                        let walked = self.value(top..top + 1);
                        self.s.stack.truncate(top);
                        i = match walked {
                            Ok(()) => self.i,
                            Err(()) if root_object => skip_container(b, i).ok_or(())?,
                            Err(()) => return Err(()),
                        };
                    }
                }
                let e1 = self.s.entries.len();
                let seen = self.s.seen.get(child as usize).copied().ok_or(())?;
                if seen.0 == inst {
                    for e in &mut self.s.entries[seen.1..seen.2] {
                        e.dead = true;
                    }
                }
                self.s.seen[child as usize] = (inst, e0, e1);
            }
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    if b.get(i) != Some(&b'"') {
                        i = skip_ws(b, i);
                    }
                }
                Some(b'}') => {
                    self.i = i + 1;
                    return Ok(());
                }
                _ => {
                    i = skip_ws(b, i);
                    match b.get(i) {
                        Some(b',') => i = skip_ws(b, i + 1),
                        Some(b'}') => {
                            self.i = i + 1;
                            return Ok(());
                        }
                        _ => return Err(()),
                    }
                }
            }
        }
    }

    fn key_bytes(&self, k: KeyRef) -> &[u8] {
        if k.unescaped {
            &self.s.keybuf[k.start..k.end]
        } else {
            &self.b[k.start..k.end]
        }
    }

    /// Records that member `key` of the current object produced `entries`; if the key was seen
    /// before in this object, the earlier occurrence's entries die (last duplicate wins).
    fn note_member(
        &mut self,
        dup_base: usize,
        map_base: usize,
        child: u32,
        key: KeyRef,
        entries: (usize, usize),
    ) {
        const LINEAR_MAX: usize = 16;
        let n = self.s.dups.len() - dup_base;
        let found = if child != NONE {
            (dup_base..self.s.dups.len()).find(|&j| self.s.dups[j].child == child)
        } else if self.s.dup_maps.len() > map_base {
            let kb = self.key_bytes(key);
            self.s.dup_maps[map_base].get(kb).copied()
        } else {
            let kb = self.key_bytes(key);
            (dup_base..self.s.dups.len()).find(|&j| self.key_bytes(self.s.dups[j].key) == kb)
        };
        if let Some(j) = found {
            let (a, b) = self.s.dups[j].entries;
            for e in &mut self.s.entries[a..b] {
                e.dead = true;
            }
            self.s.dups[j].entries = entries;
            return;
        }
        self.s.dups.push(Dup {
            child,
            key,
            entries,
        });
        if child != NONE {
            // bounded by the number of trie children: no index needed
        } else if self.s.dup_maps.len() > map_base {
            let kb: Box<[u8]> = self.key_bytes(key).into();
            let idx = self.s.dups.len() - 1;
            self.s.dup_maps[map_base].insert(kb, idx);
        } else if n + 1 > LINEAR_MAX {
            let mut m = HashMap::with_capacity(2 * LINEAR_MAX);
            for j in dup_base..self.s.dups.len() {
                m.insert(Box::<[u8]>::from(self.key_bytes(self.s.dups[j].key)), j);
            }
            self.s.dup_maps.push(m);
        }
    }

    fn array(&mut self, set: Range<usize>, own_entries: Range<usize>) -> R<()> {
        let plan = self.plan;
        self.i += 1; // '['
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        let mut idx: u32 = 0;
        loop {
            self.ws();
            if self.peek() == Some(b'n') && !own_entries.is_empty() {
                for e in &mut self.s.entries[own_entries.clone()] {
                    e.kind = Kind::Array { has_null: true };
                }
            }
            let child_start = self.s.stack.len();
            for k in set.clone() {
                let node = &plan.nodes[self.s.stack[k] as usize];
                let c = node.index_child(idx);
                if c != NONE {
                    self.s.stack.push(c);
                }
                if node.wildcard != NONE {
                    self.s.stack.push(node.wildcard);
                }
            }
            let child_end = self.s.stack.len();
            if child_start == child_end {
                self.skip_value()?;
            } else {
                self.value(child_start..child_end)?;
                self.s.stack.truncate(child_start);
            }
            idx = idx.saturating_add(1);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(()),
            }
        }
    }

    /// Checks the escapes of the string content `b[start..end]` (unescaped into the scratch
    /// buffer, which is then cut back).
    fn check_escapes(&mut self, start: usize, end: usize) -> R<()> {
        let mark = self.s.unesc.len();
        let r = unescape(&self.b[start..end], &mut self.s.unesc);
        self.s.unesc.truncate(mark);
        r
    }

    /// How to record the string content `b[start..end]`: as it is, or (`esc`) unescaped into
    /// `Scratch::unesc`.
    fn string_content(&mut self, start: usize, end: usize, esc: bool) -> R<(Kind, usize, usize)> {
        if !esc {
            return Ok((Kind::Str, start, end));
        }
        let us = self.s.unesc.len();
        unescape(&self.b[start..end], &mut self.s.unesc)?;
        Ok((Kind::StrUnescaped, us, self.s.unesc.len()))
    }

    /// At an opening quote: returns (content start, content end, has escapes), cursor after the
    /// closing quote.
    #[inline]
    fn string(&mut self) -> R<(usize, usize, bool)> {
        let start = self.i + 1;
        let (end, esc) = string_end(self.b, start).ok_or(())?;
        self.i = end + 1;
        Ok((start, end, esc))
    }

    fn number(&mut self) -> R<(usize, usize)> {
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        if self.i == start {
            Err(())
        } else {
            Ok((start, self.i))
        }
    }

    fn skip_value(&mut self) -> R<()> {
        self.ws();
        match self.peek().ok_or(())? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => self.skip_container(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    fn literal(&mut self, lit: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(())
        }
    }

    /// At `{` or `[`: moves past the matching close bracket. Iterative; counts only the opening
    /// bracket's own kind (the other kind is balanced inside it in valid JSON).
    fn skip_container(&mut self) -> R<()> {
        let end = skip_container(self.b, self.i).ok_or(())?;
        self.i = end;
        Ok(())
    }
}

/// At `b[i]` == `{` or `[`: returns the position just after the matching close bracket.
pub(crate) fn skip_container(b: &[u8], i: usize) -> Option<usize> {
    simd::skip_container(b, i)
}

/// Unescapes JSON string content (between the quotes) into `out`. Lone surrogates become U+FFFD.
pub(crate) fn unescape(s: &[u8], out: &mut Vec<u8>) -> R<()> {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' {
            // copy a run
            let run_end = memchr::memchr(b'\\', &s[i..]).map_or(s.len(), |k| i + k);
            out.extend_from_slice(&s[i..run_end]);
            i = run_end;
            continue;
        }
        let e = *s.get(i + 1).ok_or(())?;
        i += 2;
        match e {
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let hi = hex4(s.get(i..i + 4).ok_or(())?)?;
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    if s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u') {
                        match s.get(i + 2..i + 6).map(hex4) {
                            Some(Ok(lo)) if (0xDC00..0xE000).contains(&lo) => {
                                i += 6;
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            }
                            Some(Ok(_)) => 0xFFFD,
                            _ => return Err(()),
                        }
                    } else {
                        0xFFFD
                    }
                } else if (0xDC00..0xE000).contains(&hi) {
                    0xFFFD
                } else {
                    hi
                };
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            }
            _ => return Err(()),
        }
    }
    Ok(())
}

fn hex4(h: &[u8]) -> R<u32> {
    let mut v = 0u32;
    for &c in h {
        let d = (c as char).to_digit(16).ok_or(())?;
        v = v * 16 + d;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Segment {
        Segment::Key(k.as_bytes().to_vec())
    }

    fn collect(plan: &Plan, msg: &str, slot: u32) -> Option<Vec<String>> {
        let mut s = Scratch::default();
        let v = scan_message(plan, msg.as_bytes(), &mut s)?;
        Some(
            v.slot(slot)
                .map(|x| match x {
                    Value::Str(b) => format!("s:{}", String::from_utf8_lossy(b)),
                    Value::Num(b) => format!("n:{}", String::from_utf8_lossy(b)),
                    other => format!("{other:?}"),
                })
                .collect(),
        )
    }

    /// Keys are told apart by length and their first 16 bytes, then the rest: keys sharing
    /// those, keys one byte longer or shorter, and keys near the end of the buffer (fewer than
    /// 16 bytes left to read) each find their own slot and no other.
    #[test]
    fn key_lookup_tells_similar_keys_apart() {
        let wanted = [
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnopr",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "abcdefghijklmnopqrstuvwxyz0123456788",
            "bbcdefghijklmnop",
            "eventName",
            "additionalEventData",
        ];
        let mut p = Plan::default();
        let slots: Vec<u32> = wanted.iter().map(|k| p.add_path(&[key(k)])).collect();
        let mut probes: Vec<String> = Vec::new();
        for k in wanted {
            probes.push(k.to_string());
            probes.push(format!("{k}x"));
            probes.push(k[..k.len() - 1].to_string());
            let mut last = k.as_bytes().to_vec();
            if let Some(c) = last.last_mut() {
                *c ^= 1;
            }
            probes.push(String::from_utf8(last).unwrap());
        }
        for probe in &probes {
            for msg in [
                format!(r#"{{"{probe}":"v"}}"#),
                format!(r#"{{"{probe}":"v","zzzzzzzzzzzzzzzzzzzzzzzz":0}}"#),
            ] {
                for (k, &slot) in wanted.iter().zip(&slots) {
                    let want: Vec<String> = if k == probe {
                        vec!["s:v".into()]
                    } else {
                        vec![]
                    };
                    assert_eq!(collect(&p, &msg, slot), Some(want), "{msg} slot of {k}");
                }
            }
        }
    }

    #[test]
    fn extracts_and_skips() {
        let mut p = Plan::default();
        let a_b = p.add_path(&[key("a"), key("b")]);
        let c0 = p.add_path(&[key("c"), Segment::Index(1)]);
        let w = p.add_path(&[key("d"), Segment::Wildcard]);
        let msg = r#" {"x":{"a":[1,"}",{"b":2}]},"a":{"b":"v\"w","z":[]},"c":[0,true],"d":{"p":1,"q":null} } "#;
        assert_eq!(collect(&p, msg, a_b).unwrap(), vec!["s:v\"w"]);
        assert_eq!(collect(&p, msg, c0).unwrap(), vec!["Bool(true)"]);
        assert_eq!(collect(&p, msg, w).unwrap(), vec!["Null", "n:1"]);
    }

    #[test]
    fn last_duplicate_wins() {
        let mut p = Plan::default();
        let a = p.add_path(&[key("a")]);
        let a_b = p.add_path(&[key("a"), key("b")]);
        let msg = r#"{"a":{"b":1},"a":{"c":2}}"#;
        assert_eq!(collect(&p, msg, a).unwrap(), vec!["Object"]);
        assert!(collect(&p, msg, a_b).unwrap().is_empty());
        let msg = r#"{"a":1,"\u0061":2}"#;
        assert_eq!(collect(&p, msg, a).unwrap(), vec!["n:2"]);
        // many distinct keys under a wildcard switch to the hash index
        let mut p = Plan::default();
        let w = p.add_path(&[Segment::Wildcard]);
        let mut msg = String::from("{");
        for i in 0..40 {
            msg.push_str(&format!("\"k{i}\":{i},"));
        }
        msg.push_str("\"k3\":\"again\"}");
        let vals = collect(&p, &msg, w).unwrap();
        assert_eq!(vals.len(), 40);
        assert!(vals.contains(&"s:again".to_string()));
        assert!(!vals.contains(&"n:3".to_string()));
    }

    #[test]
    fn invalid() {
        let mut p = Plan::default();
        let a = p.add_path(&[key("a")]);
        for bad in [
            "",
            "[]",
            "\"a\"",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1} x",
            "{\"a\":tru}",
            "{\"b\":{\"c\":[}",
            "{\"a\":\"\\q\"}",
            "{\"b\":\"\\q\"}",
            "{\"b\":\"x\\u12\"}",
            "{\"a\" 1}",
        ] {
            assert!(collect(&p, bad, a).is_none(), "{bad}");
        }
    }

    /// Malformed JSON inside a root member's object that the plan walks (past the structural
    /// skip) records nothing more, as the lazy plans of a FilterSet do: the record stays valid
    /// and what was read before the error counts.
    #[test]
    fn nested_errors_record_what_was_read() {
        let mut p = Plan::default();
        let t = p.add_path(&[key("u"), key("t")]);
        let a = p.add_path(&[key("a")]);
        for msg in [
            r#"{"u":{"t":"R","x":tru},"a":1}"#,
            r#"{"u":{"t":"R","x":"\q"},"a":1}"#,
            r#"{"u":{"t":"R","x":[1 2]},"a":1}"#,
        ] {
            assert_eq!(collect(&p, msg, t), Some(vec!["s:R".to_string()]), "{msg}");
            assert_eq!(collect(&p, msg, a), Some(vec!["n:1".to_string()]), "{msg}");
        }
        // Unbalanced brackets are still an error of the record.
        assert_eq!(collect(&p, r#"{"u":{"t":"R","x":{},"a":1}"#, a), None);
    }

    #[test]
    fn unescapes() {
        let mut out = Vec::new();
        unescape(br#"a\u00e9\ud83d\ude00\ud800x\/\n"#, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\u{e9}\u{1F600}\u{FFFD}x/\n"
        );
    }
}
