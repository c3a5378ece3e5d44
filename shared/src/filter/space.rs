//! Space-delimited patterns: `[ip, user, ..., status_code=4* || status_code=5*, size > 1000]`.
//!
//! The message is split on whitespace; `"..."` and `[...]` are one field each (reported without
//! their delimiters). Without `...`, slot *i* takes field *i* and the last slot takes the rest
//! of the line. `...` absorbs any number of fields (leftmost placement when there are several).
//! `[]` is `[...]`. Extracted values: `$name` for named slots, `$N` (1-based field position)
//! for fields absorbed by `...`.

use super::error::FilterError;
use super::lexer::{parse_number, Cursor};
use super::regex::RegexBudget;
use super::value::{Glob, Op, Rhs};
use super::Extracted;

#[derive(Debug, Clone)]
struct FieldTest {
    op: Op,
    rhs: Rhs,
}

impl FieldTest {
    fn matches(&self, text: &[u8]) -> bool {
        match self.op {
            Op::Eq => self.rhs.eq_text(text),
            Op::Ne => !self.rhs.eq_text(text),
            op => match (&self.rhs, parse_number(text)) {
                (Rhs::Num { value, .. }, Some(x)) => op.compare(x, *value),
                _ => false,
            },
        }
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Ellipsis,
    Field {
        name: String,
        /// Disjunction of conjunctions (`&&` binds tighter than `||`); empty = no condition.
        any_of: Vec<Vec<FieldTest>>,
    },
}

impl Slot {
    fn accepts(&self, text: &[u8]) -> bool {
        match self {
            Slot::Ellipsis => true,
            Slot::Field { any_of, .. } => {
                any_of.is_empty() || any_of.iter().any(|all| all.iter().all(|t| t.matches(text)))
            }
        }
    }
}

/// A compiled space-delimited pattern.
#[derive(Debug, Clone)]
pub(crate) struct SpacePattern {
    slots: Vec<Slot>,
}

/// One field of a message: the span reported as its value and the raw span (with delimiters).
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    raw_start: usize,
    raw_end: usize,
}

fn split_fields(msg: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = msg.len();
    while i < n {
        while i < n && msg[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            break;
        }
        let close = match msg[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close {
            if let Some(k) = memchr::memchr(close, &msg[i + 1..]) {
                let end = i + 1 + k;
                out.push(Field {
                    start: i + 1,
                    end,
                    raw_start: i,
                    raw_end: end + 1,
                });
                i = end + 1;
                continue;
            }
        }
        let s = i;
        while i < n && !msg[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push(Field {
            start: s,
            end: i,
            raw_start: s,
            raw_end: i,
        });
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl SpacePattern {
    /// Parses `[ ... ]`; the cursor is on the `[`.
    pub(crate) fn parse(
        cur: &mut Cursor,
        regexes: &mut RegexBudget,
    ) -> Result<SpacePattern, FilterError> {
        let open = cur.pos();
        cur.bump();
        let mut slots = Vec::new();
        cur.skip_ws();
        if cur.eat(']') {
            slots.push(Slot::Ellipsis);
        } else {
            loop {
                cur.skip_ws();
                slots.push(parse_slot(cur, regexes, open)?);
                cur.skip_ws();
                match cur.peek() {
                    Some(',') => {
                        cur.bump();
                    }
                    Some(']') => {
                        cur.bump();
                        break;
                    }
                    None => {
                        return Err(FilterError::Unbalanced {
                            open: '[',
                            close: ']',
                            pos: open,
                        })
                    }
                    Some(_) => {
                        return Err(FilterError::syntax(
                            "expected ',' or ']' after a field",
                            cur.rest_word(),
                            cur.pos(),
                        ))
                    }
                }
            }
        }
        cur.skip_ws();
        if !cur.at_end() {
            return Err(FilterError::syntax(
                "unexpected text after the closing ']'",
                cur.rest_word(),
                cur.pos(),
            ));
        }
        Ok(SpacePattern { slots })
    }

    pub(crate) fn matches(&self, msg: &[u8]) -> bool {
        self.run(msg, false).is_some()
    }

    pub(crate) fn evaluate(&self, msg: &[u8]) -> Option<Extracted> {
        self.run(msg, true)
    }

    /// Field names (`$name`) and whether positional `$N` values can be extracted.
    pub(crate) fn names(&self) -> (Vec<&str>, bool) {
        let mut names = Vec::new();
        let mut positional = false;
        for s in &self.slots {
            match s {
                Slot::Ellipsis => positional = true,
                Slot::Field { name, .. } => names.push(name.as_str()),
            }
        }
        (names, positional)
    }

    fn run(&self, msg: &[u8], extract: bool) -> Option<Extracted> {
        let fields = split_fields(msg);
        let text = |f: &Field| &msg[f.start..f.end];
        let has_ellipsis = self.slots.iter().any(|s| matches!(s, Slot::Ellipsis));
        // assignment[i] = (slot index, value span) for reported fields.
        let mut out = Extracted::default();
        if !has_ellipsis {
            let k = self.slots.len();
            if fields.len() < k || k == 0 {
                return None;
            }
            for (i, slot) in self.slots.iter().enumerate() {
                let (s, e) = if i + 1 == k && fields.len() > k {
                    let last = fields.last()?;
                    (fields[i].raw_start, last.raw_end)
                } else {
                    (fields[i].start, fields[i].end)
                };
                let t = &msg[s..e];
                if !slot.accepts(t) {
                    return None;
                }
                if extract {
                    if let Slot::Field { name, .. } = slot {
                        out.push(format!("${name}"), String::from_utf8_lossy(t).into_owned());
                    }
                }
            }
            return Some(out);
        }
        // Groups of fixed slots separated by ellipses.
        let mut groups: Vec<&[Slot]> = Vec::new();
        let mut cur_start = 0;
        for (i, s) in self.slots.iter().enumerate() {
            if matches!(s, Slot::Ellipsis) {
                groups.push(&self.slots[cur_start..i]);
                cur_start = i + 1;
            }
        }
        groups.push(&self.slots[cur_start..]);
        // groups.len() >= 2; first is anchored at the start, last at the end.
        let first = groups[0];
        let last = groups[groups.len() - 1];
        let needed: usize = groups.iter().map(|g| g.len()).sum();
        if fields.len() < needed {
            return None;
        }
        let group_at = |g: &[Slot], at: usize| -> bool {
            g.iter()
                .enumerate()
                .all(|(j, slot)| fields.get(at + j).is_some_and(|f| slot.accepts(text(f))))
        };
        if !group_at(first, 0) {
            return None;
        }
        let last_at = fields.len() - last.len();
        if !group_at(last, last_at) {
            return None;
        }
        // Middle groups: leftmost placement between the first and the last group.
        let mut placed = vec![0usize; groups.len()];
        placed[groups.len() - 1] = last_at;
        let mut next = first.len();
        for gi in 1..groups.len() - 1 {
            let g = groups[gi];
            let mut at = next;
            loop {
                if at + g.len() > last_at {
                    return None;
                }
                if group_at(g, at) {
                    break;
                }
                at += 1;
            }
            placed[gi] = at;
            next = at + g.len();
        }
        if !extract {
            return Some(out);
        }
        // Report in field order: named slots by name, absorbed fields by position.
        let mut owner: Vec<Option<&str>> = vec![None; fields.len()];
        for (gi, g) in groups.iter().enumerate() {
            for (j, slot) in g.iter().enumerate() {
                if let (Slot::Field { name, .. }, Some(o)) = (slot, owner.get_mut(placed[gi] + j)) {
                    *o = Some(name.as_str());
                }
            }
        }
        for (i, f) in fields.iter().enumerate() {
            let value = String::from_utf8_lossy(text(f)).into_owned();
            match owner[i] {
                Some(name) => out.push(format!("${name}"), value),
                None => out.push(format!("${}", i + 1), value),
            }
        }
        Some(out)
    }
}

fn parse_slot(
    cur: &mut Cursor,
    regexes: &mut RegexBudget,
    open: usize,
) -> Result<Slot, FilterError> {
    let pos = cur.pos();
    if cur.eat_str("...") {
        return Ok(Slot::Ellipsis);
    }
    let name = read_name(cur);
    if name.is_empty() {
        return Err(match cur.peek() {
            None => FilterError::Unbalanced {
                open: '[',
                close: ']',
                pos: open,
            },
            Some(_) => FilterError::syntax("expected a field name or '...'", cur.rest_word(), pos),
        });
    }
    cur.skip_ws();
    if matches!(cur.peek(), Some(',') | Some(']') | None) {
        return Ok(Slot::Field {
            name,
            any_of: Vec::new(),
        });
    }
    let mut any_of: Vec<Vec<FieldTest>> = vec![vec![read_test(cur, regexes)?]];
    loop {
        cur.skip_ws();
        let joiner = if cur.eat_str("&&") {
            true
        } else if cur.eat_str("||") {
            false
        } else {
            break;
        };
        cur.skip_ws();
        let npos = cur.pos();
        let n2 = read_name(cur);
        if n2 != name {
            return Err(FilterError::syntax(
                format!("a condition in the slot of field '{name}' must test '{name}'"),
                if n2.is_empty() { cur.rest_word() } else { n2 },
                npos,
            ));
        }
        cur.skip_ws();
        let t = read_test(cur, regexes)?;
        if joiner {
            if let Some(last) = any_of.last_mut() {
                last.push(t);
            }
        } else {
            any_of.push(vec![t]);
        }
    }
    Ok(Slot::Field { name, any_of })
}

fn read_name(cur: &mut Cursor) -> String {
    let mut name = String::new();
    while let Some(c) = cur.peek() {
        if is_name_char(c) {
            name.push(c);
            cur.bump();
        } else {
            break;
        }
    }
    name
}

fn read_test(cur: &mut Cursor, regexes: &mut RegexBudget) -> Result<FieldTest, FilterError> {
    let op_pos = cur.pos();
    let op = if cur.eat_str("==") {
        return Err(FilterError::syntax(
            "'==' is not an operator (use '=')",
            "==",
            op_pos,
        ));
    } else if cur.eat_str("!=") {
        Op::Ne
    } else if cur.eat_str("<=") {
        Op::Le
    } else if cur.eat_str(">=") {
        Op::Ge
    } else if cur.eat('=') {
        Op::Eq
    } else if cur.eat('<') {
        Op::Lt
    } else if cur.eat('>') {
        Op::Gt
    } else {
        return Err(FilterError::syntax(
            "expected an operator (=, !=, <, <=, >, >=), ',' or ']'",
            cur.rest_word(),
            op_pos,
        ));
    };
    cur.skip_ws();
    let vpos = cur.pos();
    let rhs = match cur.peek() {
        None | Some(',') | Some(']') | Some('&') | Some('|') => {
            return Err(FilterError::syntax(
                "expected a value after the operator",
                cur.rest_word(),
                vpos,
            ))
        }
        Some('"') => Rhs::Str(Glob::new(cur.quoted()?.pieces)),
        Some('%') => {
            let (body, start) = cur.regex_body()?;
            Rhs::Regex(regexes.compile(&body, start)?)
        }
        Some(_) => {
            let mut word = String::new();
            while let Some(c) = cur.peek() {
                if c.is_whitespace() || matches!(c, ',' | ']' | '&' | '|' | '"' | '[') {
                    break;
                }
                word.push(c);
                cur.bump();
            }
            if word.is_empty() {
                return Err(FilterError::syntax(
                    "expected a value",
                    cur.rest_word(),
                    vpos,
                ));
            }
            if word == "*" {
                Rhs::Any
            } else if let Some(value) = parse_number(word.as_bytes()) {
                Rhs::Num { value }
            } else if word.contains('%')
                || word.starts_with('=')
                || word.starts_with('<')
                || word.starts_with('>')
            {
                return Err(FilterError::syntax("invalid value", word, vpos));
            } else {
                Rhs::Str(Glob::new(word.split('*').map(str::to_string).collect()))
            }
        }
    };
    if op.is_ordering() && !matches!(rhs, Rhs::Num { .. }) {
        return Err(FilterError::syntax(
            "a numeric comparison (<, <=, >, >=) needs a number",
            cur.slice(vpos, cur.pos()),
            vpos,
        ));
    }
    Ok(FieldTest { op, rhs })
}
