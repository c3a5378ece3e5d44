//! Term patterns: `ERROR`, `"INTERNAL SERVER ERROR"`, `-DEBUG`, `?ERROR ?WARN`.

use super::error::FilterError;
use super::lexer::Cursor;
use memchr::memmem::Finder;

/// A compiled term pattern.
#[derive(Clone)]
pub(crate) struct Terms {
    /// All must be present.
    include: Vec<Finder<'static>>,
    /// None may be present.
    exclude: Vec<Finder<'static>>,
    /// Any one must be present (only when there are no include/exclude terms).
    any: Vec<Finder<'static>>,
}

impl std::fmt::Debug for Terms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &[Finder<'static>]| -> Vec<String> {
            v.iter()
                .map(|x| String::from_utf8_lossy(x.needle()).into_owned())
                .collect()
        };
        f.debug_struct("Terms")
            .field("include", &show(&self.include))
            .field("exclude", &show(&self.exclude))
            .field("any", &show(&self.any))
            .finish()
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Terms {
    pub(crate) fn parse(cur: &mut Cursor) -> Result<Terms, FilterError> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut any = Vec::new();
        loop {
            cur.skip_ws();
            if cur.at_end() {
                break;
            }
            let start = cur.pos();
            let prefix = match cur.peek() {
                Some('-') => {
                    cur.bump();
                    Some('-')
                }
                Some('?') => {
                    cur.bump();
                    Some('?')
                }
                _ => None,
            };
            let term: String = match cur.peek() {
                Some('"') => {
                    let q = cur.quoted()?;
                    // Inside quotes a '*' is an ordinary character.
                    let text = q.pieces.join("*");
                    if let Some(c) = cur.peek() {
                        if !c.is_whitespace() {
                            return Err(FilterError::syntax(
                                "expected whitespace after a quoted term",
                                cur.rest_word(),
                                cur.pos(),
                            ));
                        }
                    }
                    text
                }
                None => {
                    return Err(FilterError::syntax(
                        "a term prefix must be followed by a term",
                        cur.slice(start, cur.pos()),
                        start,
                    ))
                }
                Some(c) if c.is_whitespace() => {
                    return Err(FilterError::syntax(
                        "a term prefix must be followed by a term",
                        cur.slice(start, cur.pos()),
                        start,
                    ))
                }
                Some(_) => {
                    let word_start = cur.pos();
                    let mut bad = String::new();
                    let mut bad_pos = None;
                    while let Some(c) = cur.peek() {
                        if c.is_whitespace() {
                            break;
                        }
                        if !is_term_char(c) {
                            bad.push(c);
                            bad_pos.get_or_insert(cur.pos());
                        }
                        cur.bump();
                    }
                    if let Some(pos) = bad_pos {
                        return Err(FilterError::InvalidTerm { chars: bad, pos });
                    }
                    cur.slice(word_start, cur.pos())
                }
            };
            let finder = Finder::new(term.as_bytes()).into_owned();
            match prefix {
                Some('-') => exclude.push(finder),
                Some(_) => any.push(finder),
                None => include.push(finder),
            }
        }
        if !include.is_empty() || !exclude.is_empty() {
            any.clear();
        }
        Ok(Terms {
            include,
            exclude,
            any,
        })
    }

    pub(crate) fn matches(&self, msg: &[u8]) -> bool {
        if !self.any.is_empty() {
            return self.any.iter().any(|f| f.find(msg).is_some());
        }
        self.include.iter().all(|f| f.find(msg).is_some())
            && !self.exclude.iter().any(|f| f.find(msg).is_some())
    }
}
