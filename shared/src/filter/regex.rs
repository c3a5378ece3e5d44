//! The CloudWatch regex subset: validation, translation to the `regex` crate, compilation.
//!
//! Allowed: ASCII alphanumerics, the symbols `: _ # = @ / ; , -`, the operators
//! `^ $ ? [ ] { } | \ * + .`, the escapes `\d \D \s \S \w \W \xhh` and a backslash before one
//! of the allowed symbols/operators (or `%`) to make it literal. No parentheses, no multi-byte
//! characters, nothing else (not even a space: use `\s`). Character classes are ASCII like
//! Java's defaults; `^`/`$` anchor to the whole subject (no multi-line mode).

use super::error::FilterError;

/// At most this many regexes in one pattern.
pub(crate) const MAX_REGEXES: usize = 2;

/// A compiled regex plus its source text (for `Debug`/`Display`).
#[derive(Clone)]
pub(crate) struct CompiledRegex {
    pub(crate) source: String,
    pub(crate) re: regex::bytes::Regex,
}

impl std::fmt::Debug for CompiledRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}%", self.source)
    }
}

impl CompiledRegex {
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        self.re.is_match(text)
    }
}

/// Counts regexes while a pattern is parsed.
#[derive(Default)]
pub(crate) struct RegexBudget {
    count: usize,
}

impl RegexBudget {
    /// Validates, translates and compiles `body` (the text between the `%`), whose opening `%`
    /// is at `pos` (the body starts at `pos + 1`).
    pub(crate) fn compile(
        &mut self,
        body: &[char],
        pos: usize,
    ) -> Result<CompiledRegex, FilterError> {
        let source: String = body.iter().collect();
        self.count += 1;
        if self.count > MAX_REGEXES {
            return Err(FilterError::TooManyRegexes {
                regex: source,
                pos,
                count: self.count,
            });
        }
        compile(body, pos)
    }
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0B\\f\\r ";

fn compile(body: &[char], pos: usize) -> Result<CompiledRegex, FilterError> {
    let source: String = body.iter().collect();
    if body.is_empty() {
        return Err(FilterError::Regex {
            regex: source,
            pos,
            reason: "empty regex".into(),
        });
    }
    let bad = |ch: char, i: usize, hint: &'static str| FilterError::RegexChar {
        ch,
        regex: source.clone(),
        pos: pos + 1 + i,
        hint,
    };
    let mut out = String::with_capacity(body.len() * 2);
    let mut in_class = false;
    // Position just after the '[' (or '[^') that opened the current class: a ']' there is literal.
    let mut class_start = usize::MAX;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        match c {
            '(' | ')' => return Err(bad(c, i, " (parentheses are not supported)")),
            c if !c.is_ascii() => {
                return Err(bad(c, i, " (multi-byte characters are not supported)"))
            }
            c if c.is_ascii_alphanumeric() => out.push(c),
            ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' => {
                if in_class || c == '-' {
                    out.push(c);
                } else {
                    // '#' would be special in verbose mode; write all symbols as hex escapes.
                    out.push_str(&format!("\\x{:02X}", c as u32));
                }
            }
            '[' => {
                if in_class {
                    // A literal '[' inside a class (Java would nest; keep it simple and literal).
                    out.push_str("\\[");
                } else {
                    in_class = true;
                    out.push('[');
                    if body.get(i + 1) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                    class_start = i + 1;
                }
            }
            ']' => {
                if in_class && i != class_start {
                    in_class = false;
                    out.push(']');
                } else {
                    // a literal ']' (first in a class, or outside any class)
                    out.push_str("\\]");
                }
            }
            '^' | '$' | '?' | '{' | '}' | '|' | '*' | '+' | '.' => {
                if in_class {
                    out.push('\\');
                }
                out.push(c);
            }
            '\\' => {
                let Some(&e) = body.get(i + 1) else {
                    return Err(bad('\\', i, " (dangling escape)"));
                };
                i += 1;
                let (cls, neg) = match e {
                    'd' => (DIGIT, false),
                    'D' => (DIGIT, true),
                    'w' => (WORD, false),
                    'W' => (WORD, true),
                    's' => (SPACE, false),
                    'S' => (SPACE, true),
                    'x' => {
                        let h1 = body.get(i + 1).copied();
                        let h2 = body.get(i + 2).copied();
                        match (h1, h2) {
                            (Some(a), Some(b))
                                if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() =>
                            {
                                out.push_str("\\x");
                                out.push(a);
                                out.push(b);
                                i += 3;
                                continue;
                            }
                            _ => return Err(bad('x', i, " (\\x needs two hex digits)")),
                        }
                    }
                    '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.'
                    | ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' | '%' => {
                        out.push_str(&format!("\\x{:02X}", e as u32));
                        i += 1;
                        continue;
                    }
                    '(' | ')' => return Err(bad(e, i, " (parentheses are not supported)")),
                    other if !other.is_ascii() => {
                        return Err(bad(other, i, " (multi-byte characters are not supported)"))
                    }
                    other => return Err(bad(other, i, " (unsupported escape)")),
                };
                match (in_class, neg) {
                    (false, false) => {
                        out.push('[');
                        out.push_str(cls);
                        out.push(']');
                    }
                    (false, true) | (true, true) => {
                        out.push_str("[^");
                        out.push_str(cls);
                        out.push(']');
                    }
                    (true, false) => out.push_str(cls),
                }
            }
            other => return Err(bad(other, i, "")),
        }
        i += 1;
    }
    if in_class {
        return Err(FilterError::Regex {
            regex: source,
            pos,
            reason: "unbalanced '[': missing ']'".into(),
        });
    }
    let re = regex::bytes::RegexBuilder::new(&out)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .nest_limit(64)
        .build()
        .map_err(|e| FilterError::Regex {
            regex: source.clone(),
            pos,
            reason: first_line(&e.to_string()),
        })?;
    Ok(CompiledRegex { source, re })
}

fn first_line(s: &str) -> String {
    // regex errors are multi-line with a caret diagram; keep the explanation line.
    s.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| s.lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Result<CompiledRegex, FilterError> {
        RegexBudget::default().compile(&s.chars().collect::<Vec<_>>(), 0)
    }

    #[test]
    fn subset() {
        let r = re(r"/service/resource/[0-9]+$").unwrap();
        assert!(r.is_match(b"/service/resource/67"));
        assert!(!r.is_match(b"/service/resource/67/part/111"));
        let r = re(r"^\d{3}\s\w+\.x\-y$").unwrap();
        assert!(r.is_match(b"123 abc_9.x-y"));
        assert!(!r.is_match("\u{0663}23 abc.x-y".as_bytes()));
        let r = re(r"[\d\s]+[^\W]").unwrap();
        assert!(r.is_match(b"1 2a"));
        let r = re(r"a#b=c@d/e;f,g:h").unwrap();
        assert!(r.is_match(b"a#b=c@d/e;f,g:h"));
        let r = re(r"\x41\%").unwrap();
        assert!(r.is_match(b"A%"));
        let r = re(r"[]a]").unwrap();
        assert!(r.is_match(b"]"));
    }

    #[test]
    fn rejected() {
        let e = re("a(b)").unwrap_err();
        assert!(e.to_string().contains("'('"), "{e}");
        assert!(e.to_string().contains("parentheses"), "{e}");
        assert_eq!(e.position(), Some(2));
        assert!(re("é").unwrap_err().to_string().contains("multi-byte"));
        assert!(re("a b").unwrap_err().to_string().contains("' '"));
        assert!(re(r"\b")
            .unwrap_err()
            .to_string()
            .contains("unsupported escape"));
        assert!(re(r"\x4").is_err());
        assert!(re("").is_err());
        assert!(re("[a").unwrap_err().to_string().contains("unbalanced"));
        assert!(re("a{2").is_err());
        assert!(re("*a").is_err());
    }
}
