//! Errors for filter patterns and metric filters.
//!
//! Positions are 0-based character offsets into the pattern text.

/// Why a filter pattern (or a metric filter definition) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The pattern is longer than CloudWatch's 1024-character limit.
    #[error("filter pattern is too long: {len} characters (the maximum is 1024)")]
    TooLong {
        /// Length of the pattern, in characters.
        len: usize,
    },

    /// An unquoted term contains characters other than letters, digits and `_`.
    #[error("Invalid character(s) in term '{chars}' at position {pos} (quote terms that contain symbols)")]
    InvalidTerm {
        /// The offending characters.
        chars: String,
        /// Position of the first offending character.
        pos: usize,
    },

    /// Generic syntax error: `message` describes what was expected, `found` is the offending text.
    #[error("{message}: '{found}' at position {pos}")]
    Syntax {
        /// What went wrong.
        message: String,
        /// The offending part of the pattern (may be empty at the end of the pattern).
        found: String,
        /// Where.
        pos: usize,
    },

    /// An opening bracket/quote/delimiter without its closing counterpart (or the reverse).
    #[error("unbalanced '{open}' at position {pos}: missing '{close}'")]
    Unbalanced {
        /// The bracket that is not closed (or the stray closing one).
        open: char,
        /// What was expected.
        close: char,
        /// Where the opening bracket is.
        pos: usize,
    },

    /// A character the CloudWatch regex subset does not accept.
    #[error("invalid character '{ch}' in regex '%{regex}%' at position {pos}{hint}")]
    RegexChar {
        /// The offending character.
        ch: char,
        /// The regex body (between the `%`).
        regex: String,
        /// Where.
        pos: usize,
        /// Extra explanation (e.g. parentheses are not supported).
        hint: &'static str,
    },

    /// The regex is made of allowed characters but does not compile.
    #[error("invalid regex '%{regex}%' at position {pos}: {reason}")]
    Regex {
        /// The regex body.
        regex: String,
        /// Where the regex starts (its opening `%`).
        pos: usize,
        /// The compiler's explanation.
        reason: String,
    },

    /// More than two regular expressions in one pattern.
    #[error("too many regular expressions in the pattern: '%{regex}%' at position {pos} is number {count} (the maximum is 2)")]
    TooManyRegexes {
        /// The regex that exceeded the quota.
        regex: String,
        /// Where it starts.
        pos: usize,
        /// How many regexes the pattern has up to and including this one.
        count: usize,
    },

    /// More than one wildcard in a selector.
    #[error("too many wildcards in selector '{selector}' at position {pos} (the maximum is 1 per selector)")]
    SelectorWildcards {
        /// The selector text.
        selector: String,
        /// Where the selector starts.
        pos: usize,
    },

    /// More than three wildcards in one pattern.
    #[error("too many wildcards in the pattern: selector '{selector}' at position {pos} brings the count to {count} (the maximum is 3)")]
    TooManyWildcards {
        /// The selector that exceeded the quota.
        selector: String,
        /// Where it starts.
        pos: usize,
        /// The count including this selector.
        count: usize,
    },

    /// Parentheses (or `[]` slots) nested deeper than the parser accepts.
    #[error("pattern nested too deeply at position {pos} (the maximum depth is {max})")]
    TooDeep {
        /// Where the limit was exceeded.
        pos: usize,
        /// The limit.
        max: usize,
    },

    /// A metric filter / transformation definition is invalid.
    #[error("invalid metric filter {field}: {reason}")]
    Metric {
        /// The offending field (e.g. `metricTransformations[0].metricValue`).
        field: String,
        /// Why.
        reason: String,
    },
}

impl FilterError {
    pub(crate) fn syntax(message: impl Into<String>, found: impl Into<String>, pos: usize) -> Self {
        FilterError::Syntax {
            message: message.into(),
            found: found.into(),
            pos,
        }
    }

    pub(crate) fn metric(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FilterError::Metric {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The character position the error refers to, when it has one.
    pub fn position(&self) -> Option<usize> {
        match self {
            FilterError::TooLong { .. } | FilterError::Metric { .. } => None,
            FilterError::InvalidTerm { pos, .. }
            | FilterError::Syntax { pos, .. }
            | FilterError::Unbalanced { pos, .. }
            | FilterError::RegexChar { pos, .. }
            | FilterError::Regex { pos, .. }
            | FilterError::TooManyRegexes { pos, .. }
            | FilterError::SelectorWildcards { pos, .. }
            | FilterError::TooManyWildcards { pos, .. }
            | FilterError::TooDeep { pos, .. } => Some(*pos),
        }
    }
}
