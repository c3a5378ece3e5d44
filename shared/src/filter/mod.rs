//! CloudWatch Logs filter patterns (see filter-patterns.md).
//!
//! Four forms, chosen by the first non-blank character of the pattern:
//! terms (`ERROR -DEBUG`, `?a ?b`, `"quoted text"`), a standalone regex (`%...%`), JSON
//! (`{ $.eventName = "StopLogging" }`) and space-delimited (`[ip, user, ..., status=5*]`).
//!
//! Parse once with [`FilterPattern::parse`], then evaluate many messages with
//! [`FilterPattern::matches`] / [`FilterPattern::evaluate`]. To run many patterns over the same
//! records (the 15 CIS filters plus user filters), put them in a [`FilterSet`]: JSON patterns are
//! evaluated from a single zero-copy scan of each record that extracts only the union of the
//! selector paths they need. [`FilterSet::for_each_record`] walks a whole CloudTrail log file
//! (`{"Records":[...]}`) in one pass.
//!
//! Metric filters ([`metric`]) turn matches into datapoints; [`cis`] has the CIS AWS Foundations
//! monitoring filters; [`test_metric_filter`] answers like `aws logs test-metric-filter`.
//!
//! ```
//! use trailwarden::filter::{cis, FilterPattern, FilterSet, Scratch};
//!
//! let p = FilterPattern::parse(r#"{ $.errorCode = "AccessDenied*" }"#).unwrap();
//! assert!(p.matches(r#"{"errorCode":"AccessDeniedException"}"#));
//!
//! // The hot path: the 15 CIS filters over a CloudTrail log file, one pass, reusable buffers.
//! let set = cis::filter_set();
//! let mut scratch = Scratch::default();
//! let file = br#"{"Records":[{"eventName":"StopLogging"},{"eventName":"GetObject"}]}"#;
//! let mut fired = Vec::new();
//! set.for_each_record(file, &mut scratch, |i, _record, m| {
//!     fired.extend(m.iter().map(|k| (i, cis::CIS_FILTERS[k].name)))
//! })
//! .unwrap();
//! assert_eq!(fired, vec![(0, "CloudTrailChanges")]);
//! ```
//!
//! Notes on fidelity: JSON values a pattern does not need are skipped structurally (balanced
//! brackets and strings, first byte checked) rather than fully validated, so some malformed
//! messages are treated as JSON objects; everything a pattern reads is validated. Regex classes
//! `\d \w \s` are ASCII (Java's defaults). Positions in errors are 0-based characters.

pub mod cis;
mod error;
mod eval;
mod json;
mod lexer;
pub mod metric;
mod regex;
mod scan;
mod set;
mod simd;
mod space;
mod terms;
mod value;

pub use error::FilterError;
pub use scan::Scratch;
pub use set::{FilterSet, LogFileError, MatchSet};

use lexer::Cursor;
use std::cell::RefCell;

/// Maximum pattern length, in characters.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Which of the four syntaxes a pattern uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// Terms (including the empty pattern, which matches everything).
    Terms,
    /// A standalone `%regex%`.
    Regex,
    /// `{ ... }`
    Json,
    /// `[ ... ]`
    SpaceDelimited,
}

/// Values extracted by a space-delimited pattern, in field order, keyed `$name` or `$N`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    values: Vec<(String, String)>,
}

impl Extracted {
    /// The value of `$name` / `$N` (the leading `$` is optional).
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = key.strip_prefix('$').unwrap_or(key);
        self.values
            .iter()
            .find(|(k, _)| &k[1..] == key)
            .map(|(_, v)| v.as_str())
    }

    /// `($key, value)` pairs in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of extracted values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for term, regex and JSON patterns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// As the `extractedValues` object of `TestMetricFilter`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.values {
            m.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        serde_json::Value::Object(m)
    }

    pub(crate) fn push(&mut self, key: String, value: String) {
        if let Some(slot) = self.values.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.values.push((key, value));
        }
    }
}

#[derive(Debug, Clone)]
enum Inner {
    Terms(terms::Terms),
    Regex(regex::CompiledRegex),
    Json(json::JsonPattern),
    Space(space::SpacePattern),
}

/// A parsed (compiled) filter pattern. Cheap to evaluate, immutable, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    text: String,
    inner: Inner,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl FilterPattern {
    /// Parses a pattern with CloudWatch Logs' syntax and limits.
    pub fn parse(text: &str) -> Result<FilterPattern, FilterError> {
        let len = text.chars().count();
        if len > MAX_PATTERN_LEN {
            return Err(FilterError::TooLong { len });
        }
        let mut cur = Cursor::new(text);
        cur.skip_ws();
        let mut regexes = regex::RegexBudget::default();
        let inner = match cur.peek() {
            Some('{') => Inner::Json(json::parse(&mut cur, &mut regexes)?),
            Some('[') => Inner::Space(space::SpacePattern::parse(&mut cur, &mut regexes)?),
            Some('%') => {
                let (body, start) = cur.regex_body()?;
                let re = regexes.compile(&body, start)?;
                cur.skip_ws();
                if !cur.at_end() {
                    return Err(FilterError::syntax(
                        "a regex pattern must stand alone (nothing after the closing '%')",
                        cur.rest_word(),
                        cur.pos(),
                    ));
                }
                Inner::Regex(re)
            }
            Some('}') => {
                return Err(FilterError::syntax(
                    "unbalanced '}': no matching '{'",
                    "}",
                    cur.pos(),
                ))
            }
            Some(']') => {
                return Err(FilterError::syntax(
                    "unbalanced ']': no matching '['",
                    "]",
                    cur.pos(),
                ))
            }
            _ => Inner::Terms(terms::Terms::parse(&mut cur)?),
        };
        Ok(FilterPattern {
            text: text.to_string(),
            inner,
        })
    }

    /// The pattern text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Which syntax the pattern uses.
    pub fn kind(&self) -> PatternKind {
        match self.inner {
            Inner::Terms(_) => PatternKind::Terms,
            Inner::Regex(_) => PatternKind::Regex,
            Inner::Json(_) => PatternKind::Json,
            Inner::Space(_) => PatternKind::SpaceDelimited,
        }
    }

    /// Does the message match?
    pub fn matches(&self, message: &str) -> bool {
        self.matches_bytes(message.as_bytes())
    }

    /// Same as [`FilterPattern::matches`] on raw bytes (invalid UTF-8 is tolerated).
    pub fn matches_bytes(&self, message: &[u8]) -> bool {
        match &self.inner {
            Inner::Json(_) => SCRATCH.with(|s| match s.try_borrow_mut() {
                Ok(mut s) => self.matches_with(message, &mut s),
                Err(_) => self.matches_with(message, &mut Scratch::default()),
            }),
            _ => self.matches_with(message, &mut Scratch::default()),
        }
    }

    /// Same as [`FilterPattern::matches_bytes`] with caller-provided scan buffers.
    pub fn matches_with(&self, message: &[u8], scratch: &mut Scratch) -> bool {
        match &self.inner {
            Inner::Terms(t) => t.matches(message),
            Inner::Regex(r) => r.is_match(message),
            Inner::Space(s) => s.matches(message),
            Inner::Json(j) => match scan::scan_message(&j.plan, message, scratch) {
                Some(vals) => j.eval(&j.slots, &vals),
                None => false,
            },
        }
    }

    /// `Some(extracted values)` when the message matches (empty for term, regex and JSON
    /// patterns), `None` otherwise.
    pub fn evaluate(&self, message: &str) -> Option<Extracted> {
        self.evaluate_bytes(message.as_bytes())
    }

    /// Same as [`FilterPattern::evaluate`] on raw bytes.
    pub fn evaluate_bytes(&self, message: &[u8]) -> Option<Extracted> {
        match &self.inner {
            Inner::Space(s) => s.evaluate(message),
            _ => self.matches_bytes(message).then(Extracted::default),
        }
    }

    /// For space-delimited patterns: is `$name` (or positional `$N`) an extractable field?
    pub(crate) fn has_field(&self, name: &str) -> bool {
        match &self.inner {
            Inner::Space(s) => {
                let (names, positional) = s.names();
                names.contains(&name)
                    || (positional && name.chars().all(|c| c.is_ascii_digit()) && name != "0")
            }
            _ => false,
        }
    }

    pub(crate) fn json(&self) -> Option<&json::JsonPattern> {
        match &self.inner {
            Inner::Json(j) => Some(j),
            _ => None,
        }
    }
}

impl std::fmt::Display for FilterPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FilterPattern {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilterPattern::parse(s)
    }
}

impl PartialEq for FilterPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// What `aws logs test-metric-filter --filter-pattern P --log-event-messages m1 m2 ...` answers:
/// `{"matches":[{"eventNumber":1,"eventMessage":"...","extractedValues":{...}}]}`.
pub fn test_metric_filter(
    pattern: &str,
    messages: &[&str],
) -> Result<serde_json::Value, FilterError> {
    let p = FilterPattern::parse(pattern)?;
    let matches: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            p.evaluate(m).map(|ex| {
                serde_json::json!({
                    "eventNumber": i + 1,
                    "eventMessage": m,
                    "extractedValues": ex.to_json(),
                })
            })
        })
        .collect();
    Ok(serde_json::json!({ "matches": matches }))
}
