//! Character cursor shared by the pattern parsers (positions are character offsets).

use super::error::FilterError;

/// Maximum nesting of parentheses in JSON patterns (bounded recursion in the parser).
pub(crate) const MAX_DEPTH: usize = 64;

pub(crate) struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    pub(crate) fn new(text: &str) -> Self {
        Cursor {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.chars.len());
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.starts_with(s) {
            self.pos += n;
            true
        } else {
            false
        }
    }

    pub(crate) fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| self.chars.get(self.pos + k) == Some(&c))
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    pub(crate) fn slice(&self, start: usize, end: usize) -> String {
        let end = end.min(self.chars.len());
        let start = start.min(end);
        self.chars[start..end].iter().collect()
    }

    /// The text from the cursor up to the next whitespace (for error messages).
    pub(crate) fn rest_word(&self) -> String {
        let mut end = self.pos;
        while end < self.chars.len() && !self.chars[end].is_whitespace() && end - self.pos < 40 {
            end += 1;
        }
        self.slice(self.pos, end)
    }

    /// Reads a double-quoted string starting at the cursor (which must be on the `"`).
    /// Escapes: `\"` and `\\`; `\*` stays a literal star (reported in `literal_star`); any other
    /// backslash is kept as is. Returns the pieces split on unescaped `*` (a wildcard) so that
    /// callers can build a glob; a string without wildcard yields one piece.
    pub(crate) fn quoted(&mut self) -> Result<Quoted, FilterError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut pieces = vec![String::new()];
        loop {
            let Some(c) = self.bump() else {
                return Err(FilterError::Unbalanced {
                    open: '"',
                    close: '"',
                    pos: start,
                });
            };
            match c {
                '"' => break,
                '\\' => match self.peek() {
                    Some(e @ ('"' | '\\' | '*')) => {
                        self.pos += 1;
                        if let Some(last) = pieces.last_mut() {
                            last.push(e);
                        }
                    }
                    _ => {
                        if let Some(last) = pieces.last_mut() {
                            last.push('\\');
                        }
                    }
                },
                '*' => pieces.push(String::new()),
                c => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(c);
                    }
                }
            }
        }
        Ok(Quoted { pieces })
    }

    /// Reads a `%regex%` starting at the cursor (on the opening `%`). Returns the body and the
    /// position of the opening `%`. `\%` inside the body does not end it.
    pub(crate) fn regex_body(&mut self) -> Result<(Vec<char>, usize), FilterError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some('%'));
        self.pos += 1;
        let mut body = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(FilterError::Unbalanced {
                    open: '%',
                    close: '%',
                    pos: start,
                });
            };
            match c {
                '%' => break,
                '\\' => {
                    body.push('\\');
                    if let Some(n) = self.bump() {
                        body.push(n);
                    }
                }
                c => body.push(c),
            }
        }
        Ok((body, start))
    }
}

/// A quoted string split on its unescaped `*` wildcards.
pub(crate) struct Quoted {
    pub(crate) pieces: Vec<String>,
}

/// Strict number grammar for pattern literals and for field text compared numerically:
/// `-?digits(.digits?)?([eE][+-]?digits)?`, also `.5` style fractions. No `inf`/`NaN`, no blanks.
pub(crate) fn parse_number(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    if s.first() == Some(&b'-') || s.first() == Some(&b'+') {
        i += 1;
    }
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let f = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - f;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return None;
        }
    }
    if i != s.len() {
        return None;
    }
    // The grammar above is a subset of what f64::from_str accepts (it rejects a leading '+'
    // only on very old toolchains; strip it to be safe).
    let t = std::str::from_utf8(s).ok()?;
    let t = t.strip_prefix('+').unwrap_or(t);
    t.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"1"), Some(1.0));
        assert_eq!(parse_number(b"1.0"), Some(1.0));
        assert_eq!(parse_number(b"1e0"), Some(1.0));
        assert_eq!(parse_number(b"10e3"), Some(10000.0));
        assert_eq!(parse_number(b"-55.5"), Some(-55.5));
        assert_eq!(parse_number(b".5"), Some(0.5));
        assert_eq!(parse_number(b"5."), Some(5.0));
        for bad in [
            &b""[..],
            b"-",
            b".",
            b"1e",
            b"inf",
            b"NaN",
            b"1 ",
            b" 1",
            b"0x10",
            b"1e+",
        ] {
            assert_eq!(parse_number(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn quoted_pieces() {
        let mut c = Cursor::new(r#""Access*Denied\*\"x" rest"#);
        let q = c.quoted().unwrap();
        assert_eq!(
            q.pieces,
            vec!["Access".to_string(), "Denied*\"x".to_string()]
        );
        assert_eq!(c.peek(), Some(' '));
        let mut c = Cursor::new("\"open");
        assert!(matches!(
            c.quoted(),
            Err(FilterError::Unbalanced { open: '"', .. })
        ));
    }
}
