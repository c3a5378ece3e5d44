//! Many compiled patterns evaluated together with one scan per record.

use super::eval::Evaluator;
use super::scan::{self, Plan, Scratch};
use super::FilterPattern;
use memchr::memchr2;

/// A set of compiled patterns. JSON patterns share one scan plan (the union of their selector
/// paths), so evaluating the whole set reads each record once.
#[derive(Debug, Clone, Default)]
pub struct FilterSet {
    patterns: Vec<FilterPattern>,
    plan: Plan,
    /// All JSON patterns, compiled together.
    evaluator: Evaluator,
    /// Evaluator index -> pattern index.
    json_patterns: Vec<usize>,
    /// Patterns of the other forms.
    other_patterns: Vec<usize>,
}

/// Which patterns of a [`FilterSet`] matched one record (a bit set indexed like the set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchSet {
    bits: Vec<u64>,
    len: usize,
}

impl MatchSet {
    fn reset(&mut self, len: usize) {
        self.len = len;
        self.bits.clear();
        self.bits.resize(len.div_ceil(64), 0);
    }

    fn set(&mut self, i: usize) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Did pattern `i` match?
    pub fn contains(&self, i: usize) -> bool {
        i < self.len
            && self
                .bits
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Indices of the patterns that matched, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.contains(i))
    }

    /// How many patterns matched.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Did any pattern match?
    pub fn any(&self) -> bool {
        self.bits.iter().any(|&w| w != 0)
    }
}

/// A log file that [`FilterSet::for_each_record`] cannot walk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed CloudTrail log file at byte {offset}: {reason}")]
pub struct LogFileError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected.
    pub reason: &'static str,
}

impl FilterSet {
    /// An empty set.
    pub fn new() -> FilterSet {
        FilterSet::default()
    }

    /// Adds a pattern and returns its index.
    pub fn push(&mut self, pattern: FilterPattern) -> usize {
        let idx = self.patterns.len();
        match pattern.json() {
            Some(j) => {
                self.plan.set_lazy(true);
                let slots = j.register(&mut self.plan);
                self.evaluator.add(j, &slots, &self.plan);
                self.evaluator.build();
                self.json_patterns.push(idx);
            }
            None => self.other_patterns.push(idx),
        }
        self.patterns.push(pattern);
        idx
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// True when the set has no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Pattern `i`.
    pub fn get(&self, i: usize) -> Option<&FilterPattern> {
        self.patterns.get(i)
    }

    /// All patterns, in insertion order.
    pub fn patterns(&self) -> &[FilterPattern] {
        &self.patterns
    }

    /// Evaluates every pattern against one message (one scan for all JSON patterns).
    pub fn matches_into(&self, message: &[u8], scratch: &mut Scratch, out: &mut MatchSet) {
        out.reset(self.patterns.len());
        self.eval_others(message, out);
        if !self.plan.is_empty() && scan::scan_message_into(&self.plan, message, scratch) {
            self.evaluator.run(&self.plan, message, scratch, |i| {
                out.set(self.json_patterns[i])
            });
        }
    }

    /// Convenience: evaluates every pattern against one message.
    pub fn matching(&self, message: &str) -> MatchSet {
        let mut out = MatchSet::default();
        self.matches_into(message.as_bytes(), &mut Scratch::default(), &mut out);
        out
    }

    fn eval_others(&self, record: &[u8], out: &mut MatchSet) {
        for &i in &self.other_patterns {
            if self.patterns[i].matches_with(record, &mut Scratch::default()) {
                out.set(i);
            }
        }
    }

    /// Walks a CloudTrail log file (`{"Records":[...]}`, or a bare JSON array of records) in
    /// one pass and calls `f(record_index, record_bytes, matches)` for every record. The record
    /// bytes are the exact JSON text of the record inside the file. Returns the number of
    /// records. Elements of `Records` that are not objects are an error.
    pub fn for_each_record<F>(
        &self,
        file: &[u8],
        scratch: &mut Scratch,
        mut f: F,
    ) -> Result<usize, LogFileError>
    where
        F: FnMut(usize, &[u8], &MatchSet),
    {
        let err = |offset: usize, reason: &'static str| LogFileError { offset, reason };
        let mut i = skip_ws(file, 0);
        match file.get(i) {
            Some(b'[') => {}
            Some(b'{') => {
                i = find_records_array(file, i)
                    .ok_or_else(|| err(i, "no \"Records\" array in the root object"))?;
            }
            _ => return Err(err(i, "expected '{' or '['")),
        }
        // file[i] == '['
        i = skip_ws(file, i + 1);
        let mut out = MatchSet::default();
        let mut n = 0;
        if file.get(i) == Some(&b']') {
            return Ok(0);
        }
        loop {
            i = skip_ws(file, i);
            if file.get(i) != Some(&b'{') {
                return Err(err(i, "expected a record object"));
            }
            let start = i;
            out.reset(self.patterns.len());
            let end = if self.plan.is_empty() {
                scan::skip_container(file, start)
                    .ok_or_else(|| err(start, "unterminated record"))?
            } else {
                scan::scan_object_at(&self.plan, file, start, scratch)
                    .ok_or_else(|| err(start, "invalid record JSON"))?
            };
            let record = &file[start..end];
            self.eval_others(record, &mut out);
            if !self.plan.is_empty() {
                self.evaluator.run(&self.plan, file, scratch, |k| {
                    out.set(self.json_patterns[k])
                });
            }
            f(n, record, &out);
            n += 1;
            i = skip_ws(file, end);
            match file.get(i) {
                Some(b',') => i += 1,
                Some(b']') => return Ok(n),
                _ => return Err(err(i, "expected ',' or ']' after a record")),
            }
        }
    }
}

impl FromIterator<FilterPattern> for FilterSet {
    fn from_iter<I: IntoIterator<Item = FilterPattern>>(iter: I) -> Self {
        let mut s = FilterSet::new();
        for p in iter {
            s.push(p);
        }
        s
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// In the root object at `b[i] == '{'`, finds the value of the `Records` member and returns
/// its position if it is an array.
fn find_records_array(b: &[u8], mut i: usize) -> Option<usize> {
    i = skip_ws(b, i + 1);
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let ks = i + 1;
        let mut j = ks;
        let ke = loop {
            let p = j + memchr2(b'"', b'\\', b.get(j..)?)?;
            if b[p] == b'"' {
                break p;
            }
            j = p + 2;
        };
        i = skip_ws(b, ke + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if &b[ks..ke] == b"Records" && b.get(i) == Some(&b'[') {
            return Some(i);
        }
        // skip the value
        i = match b.get(i)? {
            b'{' | b'[' => scan::skip_container(b, i)?,
            b'"' => {
                let mut j = i + 1;
                loop {
                    let p = j + memchr2(b'"', b'\\', b.get(j..)?)?;
                    if b[p] == b'"' {
                        break p + 1;
                    }
                    j = p + 2;
                }
            }
            _ => {
                let mut j = i;
                while j < b.len() && !matches!(b[j], b',' | b'}') {
                    j += 1;
                }
                j
            }
        };
        i = skip_ws(b, i);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            _ => return None,
        }
    }
}
