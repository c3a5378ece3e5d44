//! Comparison values shared by JSON and space-delimited conditions.

use super::lexer::parse_number;
use super::regex::CompiledRegex;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(crate) fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    pub(crate) fn compare(self, field: f64, literal: f64) -> bool {
        match self {
            Op::Eq => field == literal,
            Op::Ne => field != literal,
            Op::Lt => field < literal,
            Op::Le => field <= literal,
            Op::Gt => field > literal,
            Op::Ge => field >= literal,
        }
    }
}

/// A string with `*` wildcards, split into its literal pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Glob {
    /// No wildcard: exact equality.
    Exact(Vec<u8>),
    /// `prefix*`
    Prefix(Vec<u8>),
    /// `*suffix`
    Suffix(Vec<u8>),
    /// `*infix*`
    Contains(Vec<u8>),
    /// General case: first piece anchored at the start, last at the end, the rest in order.
    Pieces(Vec<Vec<u8>>),
}

impl Glob {
    /// From the pieces between the wildcards (`a*b` -> `["a", "b"]`; no wildcard -> one piece).
    pub(crate) fn new(pieces: Vec<String>) -> Glob {
        let mut pieces: Vec<Vec<u8>> = pieces.into_iter().map(String::into_bytes).collect();
        match pieces.len() {
            0 => Glob::Contains(Vec::new()),
            1 => Glob::Exact(pieces.pop().unwrap_or_default()),
            2 if pieces[1].is_empty() => Glob::Prefix(pieces.swap_remove(0)),
            2 if pieces[0].is_empty() => Glob::Suffix(pieces.pop().unwrap_or_default()),
            3 if pieces[0].is_empty() && pieces[2].is_empty() => {
                Glob::Contains(pieces.swap_remove(1))
            }
            _ => {
                if pieces.iter().all(|p| p.is_empty()) {
                    Glob::Contains(Vec::new())
                } else {
                    Glob::Pieces(pieces)
                }
            }
        }
    }

    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Glob::Exact(s) => text == s.as_slice(),
            Glob::Prefix(p) => text.starts_with(p),
            Glob::Suffix(s) => text.ends_with(s),
            Glob::Contains(s) => s.is_empty() || memchr::memmem::find(text, s).is_some(),
            Glob::Pieces(pieces) => {
                let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
                    return true;
                };
                if text.len() < first.len() + last.len()
                    || !text.starts_with(first)
                    || !text.ends_with(last)
                {
                    return false;
                }
                let mut rest = &text[first.len()..text.len() - last.len()];
                for p in &pieces[1..pieces.len() - 1] {
                    if p.is_empty() {
                        continue;
                    }
                    match memchr::memmem::find(rest, p) {
                        Some(i) => rest = &rest[i + p.len()..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

/// The right-hand side of `=`/`!=`/`<`... in a JSON or space-delimited condition.
#[derive(Debug, Clone)]
pub(crate) enum Rhs {
    /// `*`: any string or number.
    Any,
    /// A string, possibly with `*` wildcards (bare words that are not numbers, and quoted text).
    Str(Glob),
    /// A number (bare numeric literal).
    Num { value: f64 },
    /// `%regex%`.
    Regex(CompiledRegex),
}

impl Rhs {
    /// Equality on text: a JSON string after unescaping, a JSON number's lexeme (numbers
    /// compare numerically, so `1`, `1.0` and `1e0` are equal; strings, globs and regexes see
    /// the lexeme), or a space-delimited field.
    pub(crate) fn eq_text(&self, text: &[u8]) -> bool {
        match self {
            Rhs::Any => true,
            Rhs::Str(g) => g.is_match(text),
            Rhs::Num { value, .. } => parse_number(text) == Some(*value),
            Rhs::Regex(r) => r.is_match(text),
        }
    }
}
