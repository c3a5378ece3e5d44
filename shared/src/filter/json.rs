//! JSON patterns: `{ $.a.b = "x" && ($.c > 1 || $.d NOT EXISTS) }`.

use super::error::FilterError;
use super::lexer::{parse_number, Cursor, MAX_DEPTH};
use super::regex::RegexBudget;
use super::scan::{Plan, Segment, Value, Values};
use super::value::{Glob, Op, Rhs};

/// At most one wildcard per selector and three per pattern.
pub(crate) const MAX_SELECTOR_WILDCARDS: usize = 1;
pub(crate) const MAX_PATTERN_WILDCARDS: usize = 3;
/// At most this many steps in a selector: the scanner recurses once per step, so this bounds
/// its stack use whatever the message.
pub(crate) const MAX_SELECTOR_DEPTH: usize = 64;

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Cmp(Op, Rhs),
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
}

#[derive(Debug, Clone)]
pub(crate) struct Cond {
    /// Index into `JsonPattern::paths`.
    pub(crate) path: u32,
    pub(crate) test: Test,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Cond(Cond),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// A compiled JSON pattern: distinct selector paths, the boolean expression over conditions on
/// them, and a scan plan for evaluating it alone.
#[derive(Debug, Clone)]
pub(crate) struct JsonPattern {
    pub(crate) paths: Vec<Vec<Segment>>,
    /// Paths that some `IS NULL` asks about.
    pub(crate) null_paths: Vec<u32>,
    pub(crate) expr: Expr,
    /// Plan for this pattern alone; its slot for `paths[i]` is `slots[i]`.
    pub(crate) plan: Plan,
    pub(crate) slots: Vec<u32>,
}

impl JsonPattern {
    /// Adds this pattern's paths to `plan`, returning the slot of each path.
    pub(crate) fn register(&self, plan: &mut Plan) -> Vec<u32> {
        let slots: Vec<u32> = self.paths.iter().map(|p| plan.add_path(p)).collect();
        for &n in &self.null_paths {
            if let Some(p) = self.paths.get(n as usize) {
                plan.want_nulls(p);
            }
        }
        slots
    }

    /// Evaluates against values extracted with a plan where `paths[i]` has slot `slots[i]`.
    pub(crate) fn eval(&self, slots: &[u32], vals: &Values<'_>) -> bool {
        eval_expr(&self.expr, slots, vals)
    }
}

fn eval_expr(e: &Expr, slots: &[u32], vals: &Values<'_>) -> bool {
    match e {
        Expr::Cond(c) => eval_cond(c, slots, vals),
        Expr::And(v) => v.iter().all(|x| eval_expr(x, slots, vals)),
        Expr::Or(v) => v.iter().any(|x| eval_expr(x, slots, vals)),
    }
}

fn eval_cond(c: &Cond, slots: &[u32], vals: &Values<'_>) -> bool {
    match slots.get(c.path as usize) {
        Some(&slot) => super::eval::eval_test(&c.test, vals, slot),
        None => false,
    }
}

/// One value against `op rhs` with CloudWatch's rules: `=` on strings/numbers only, `!=` is
/// "a string or number that is not `=`", ordering only on numbers.
pub(crate) fn cmp_value(op: Op, rhs: &Rhs, v: Value<'_>) -> bool {
    match op {
        Op::Eq | Op::Ne => {
            let eq = match v {
                Value::Str(s) => rhs.eq_text(s),
                Value::Num(n) => rhs.eq_text(n),
                _ => return false,
            };
            eq == (op == Op::Eq)
        }
        _ => match (v, rhs) {
            (Value::Num(n), Rhs::Num { value, .. }) => match parse_number(n) {
                Some(x) => op.compare(x, *value),
                None => false,
            },
            _ => false,
        },
    }
}

struct Parser<'c> {
    cur: &'c mut Cursor,
    paths: Vec<Vec<Segment>>,
    null_paths: Vec<u32>,
    regexes: &'c mut RegexBudget,
    wildcards: usize,
}

/// Parses a JSON pattern; the cursor is on the opening `{`.
pub(crate) fn parse(
    cur: &mut Cursor,
    regexes: &mut RegexBudget,
) -> Result<JsonPattern, FilterError> {
    let open = cur.pos();
    cur.bump();
    let mut p = Parser {
        cur,
        paths: Vec::new(),
        null_paths: Vec::new(),
        regexes,
        wildcards: 0,
    };
    p.cur.skip_ws();
    if p.cur.peek() == Some('}') {
        return Err(FilterError::syntax("empty JSON pattern", "{}", open));
    }
    if p.cur.at_end() {
        return Err(FilterError::Unbalanced {
            open: '{',
            close: '}',
            pos: open,
        });
    }
    let expr = p.or_expr(0)?;
    p.cur.skip_ws();
    match p.cur.peek() {
        Some('}') => {
            p.cur.bump();
        }
        None => {
            return Err(FilterError::Unbalanced {
                open: '{',
                close: '}',
                pos: open,
            })
        }
        Some(')') => {
            return Err(FilterError::syntax(
                "unbalanced ')': no matching '('",
                ")",
                p.cur.pos(),
            ));
        }
        Some(_) => return Err(p.unexpected("expected '&&', '||' or '}'")),
    }
    p.cur.skip_ws();
    if !p.cur.at_end() {
        return Err(FilterError::syntax(
            "unexpected text after the closing '}'",
            p.cur.rest_word(),
            p.cur.pos(),
        ));
    }
    let mut plan = Plan::default();
    let mut pat = JsonPattern {
        paths: p.paths,
        null_paths: p.null_paths,
        expr,
        plan: Plan::default(),
        slots: Vec::new(),
    };
    pat.slots = pat.register(&mut plan);
    pat.plan = plan;
    Ok(pat)
}

impl Parser<'_> {
    fn unexpected(&self, what: &str) -> FilterError {
        let found = if self.cur.at_end() {
            String::from("end of pattern")
        } else {
            self.cur.rest_word()
        };
        FilterError::syntax(what, found, self.cur.pos())
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.and_expr(depth)?];
        loop {
            self.cur.skip_ws();
            if self.cur.eat_str("||") {
                items.push(self.and_expr(depth)?);
            } else {
                self.check_word_operator()?;
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        loop {
            self.cur.skip_ws();
            if self.cur.eat_str("&&") {
                items.push(self.unary(depth)?);
            } else {
                self.check_word_operator()?;
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(items)
        })
    }

    /// After a condition: `AND`/`OR` words, single `&`/`|` are errors.
    fn check_word_operator(&mut self) -> Result<(), FilterError> {
        let pos = self.cur.pos();
        let word = self.peek_word();
        let upper = word.to_ascii_uppercase();
        if upper == "AND" || upper == "OR" {
            let op = if upper == "AND" { "&&" } else { "||" };
            return Err(FilterError::syntax(
                format!("'{word}' is not an operator (use '{op}')"),
                word,
                pos,
            ));
        }
        let single = match self.cur.peek() {
            Some('&') => self.cur.peek_at(1) != Some('&'),
            Some('|') => self.cur.peek_at(1) != Some('|'),
            _ => false,
        };
        match single {
            true => Err(FilterError::syntax(
                "expected '&&' or '||'",
                self.cur.rest_word(),
                pos,
            )),
            false => Ok(()),
        }
    }

    fn peek_word(&self) -> String {
        let mut n = 0;
        let mut s = String::new();
        while let Some(c) = self.cur.peek_at(n) {
            if c.is_alphanumeric() || c == '_' {
                s.push(c);
                n += 1;
            } else {
                break;
            }
        }
        s
    }

    fn take_word(&mut self) -> String {
        let w = self.peek_word();
        self.cur.set_pos(self.cur.pos() + w.chars().count());
        w
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        self.cur.skip_ws();
        let pos = self.cur.pos();
        match self.cur.peek() {
            Some('(') => {
                if depth >= MAX_DEPTH {
                    return Err(FilterError::TooDeep {
                        pos,
                        max: MAX_DEPTH,
                    });
                }
                self.cur.bump();
                let e = self.or_expr(depth + 1)?;
                self.cur.skip_ws();
                match self.cur.peek() {
                    Some(')') => {
                        self.cur.bump();
                        Ok(e)
                    }
                    None | Some('}') => Err(FilterError::Unbalanced {
                        open: '(',
                        close: ')',
                        pos,
                    }),
                    Some(_) => Err(self.unexpected("expected '&&', '||' or ')'")),
                }
            }
            Some('!') => Err(FilterError::syntax(
                "negation '!' is not supported (use '!=' or NOT EXISTS)",
                self.cur.rest_word(),
                pos,
            )),
            Some('$') => self.condition(),
            Some(')') => Err(FilterError::syntax(
                "unbalanced ')': expected a condition",
                ")",
                pos,
            )),
            None => Err(FilterError::Unbalanced {
                open: '{',
                close: '}',
                pos: 0,
            }),
            Some(_) => Err(self.unexpected("expected a selector starting with '$' or '('")),
        }
    }

    fn condition(&mut self) -> Result<Expr, FilterError> {
        let sel_pos = self.cur.pos();
        let path = self.selector()?;
        let sel_text = self.cur.slice(sel_pos, self.cur.pos());
        let n_wild = path.iter().filter(|s| **s == Segment::Wildcard).count();
        if n_wild > MAX_SELECTOR_WILDCARDS {
            return Err(FilterError::SelectorWildcards {
                selector: sel_text,
                pos: sel_pos,
            });
        }
        self.wildcards += n_wild;
        if self.wildcards > MAX_PATTERN_WILDCARDS {
            return Err(FilterError::TooManyWildcards {
                selector: sel_text,
                pos: sel_pos,
                count: self.wildcards,
            });
        }
        let path_idx = match self.paths.iter().position(|p| *p == path) {
            Some(i) => i as u32,
            None => {
                self.paths.push(path);
                (self.paths.len() - 1) as u32
            }
        };
        self.cur.skip_ws();
        let op_pos = self.cur.pos();
        let test = match self.cur.peek() {
            Some('=') => {
                if self.cur.peek_at(1) == Some('=') {
                    return Err(FilterError::syntax(
                        "'==' is not an operator (use '=')",
                        "==",
                        op_pos,
                    ));
                }
                self.cur.bump();
                Test::Cmp(Op::Eq, self.rhs(Op::Eq)?)
            }
            Some('!') => {
                if self.cur.peek_at(1) != Some('=') {
                    return Err(FilterError::syntax(
                        "expected '!='",
                        self.cur.rest_word(),
                        op_pos,
                    ));
                }
                if self.cur.peek_at(2) == Some('=') {
                    return Err(FilterError::syntax(
                        "'!==' is not an operator (use '!=')",
                        "!==",
                        op_pos,
                    ));
                }
                self.cur.set_pos(op_pos + 2);
                Test::Cmp(Op::Ne, self.rhs(Op::Ne)?)
            }
            Some('<') | Some('>') => {
                let lt = self.cur.peek() == Some('<');
                self.cur.bump();
                let op = match (lt, self.cur.eat('=')) {
                    (true, true) => Op::Le,
                    (true, false) => Op::Lt,
                    (false, true) => Op::Ge,
                    (false, false) => Op::Gt,
                };
                if matches!(self.cur.peek(), Some('<') | Some('>') | Some('=')) {
                    return Err(FilterError::syntax(
                        "invalid operator",
                        self.cur.slice(op_pos, op_pos + 3),
                        op_pos,
                    ));
                }
                Test::Cmp(op, self.rhs(op)?)
            }
            _ => {
                let word = self.take_word();
                match word.to_ascii_uppercase().as_str() {
                    "IS" => {
                        self.cur.skip_ws();
                        let vpos = self.cur.pos();
                        let what = self.take_word();
                        match what.to_ascii_uppercase().as_str() {
                            "TRUE" => Test::IsTrue,
                            "FALSE" => Test::IsFalse,
                            "NULL" => {
                                self.null_paths.push(path_idx);
                                Test::IsNull
                            }
                            "NOT" => {
                                return Err(FilterError::syntax(
                                    "'IS NOT' is not supported (use '!=' or NOT EXISTS)",
                                    "IS NOT",
                                    op_pos,
                                ))
                            }
                            _ => {
                                self.cur.set_pos(vpos);
                                return Err(
                                    self.unexpected("expected TRUE, FALSE or NULL after IS")
                                );
                            }
                        }
                    }
                    "NOT" => {
                        self.cur.skip_ws();
                        let vpos = self.cur.pos();
                        let what = self.take_word();
                        if what.eq_ignore_ascii_case("EXISTS") {
                            Test::NotExists
                        } else {
                            self.cur.set_pos(vpos);
                            return Err(self.unexpected("expected EXISTS after NOT"));
                        }
                    }
                    "EXISTS" => return Err(FilterError::syntax(
                        "'EXISTS' is not supported (only NOT EXISTS; use '= *' to test presence)",
                        word,
                        op_pos,
                    )),
                    _ => {
                        self.cur.set_pos(op_pos);
                        return Err(self.unexpected(&format!(
                            "expected an operator (=, !=, <, <=, >, >=, IS, NOT EXISTS) after selector '{sel_text}'"
                        )));
                    }
                }
            }
        };
        Ok(Expr::Cond(Cond {
            path: path_idx,
            test,
        }))
    }

    /// `$` followed by `.name`, `.*`, `[N]`, `[*]`, `['key']`, `["key"]`, `.['key']`.
    fn selector(&mut self) -> Result<Vec<Segment>, FilterError> {
        let start = self.cur.pos();
        self.cur.bump(); // '$'
        let mut path = Vec::new();
        loop {
            match self.cur.peek() {
                Some('.') => {
                    self.cur.bump();
                    match self.cur.peek() {
                        Some('*') => {
                            self.cur.bump();
                            path.push(Segment::Wildcard);
                        }
                        Some('[') => path.push(self.bracket()?),
                        _ => {
                            let npos = self.cur.pos();
                            let mut name = String::new();
                            while let Some(c) = self.cur.peek() {
                                if is_name_char(c) {
                                    name.push(c);
                                    self.cur.bump();
                                } else {
                                    break;
                                }
                            }
                            if name.is_empty() {
                                return Err(FilterError::syntax(
                                    "expected a member name after '.' in selector",
                                    self.cur.slice(start, self.cur.pos() + 1),
                                    npos,
                                ));
                            }
                            path.push(Segment::Key(name.into_bytes()));
                        }
                    }
                }
                Some('[') => path.push(self.bracket()?),
                _ => break,
            }
        }
        if path.len() > MAX_SELECTOR_DEPTH {
            return Err(FilterError::TooDeep {
                pos: start,
                max: MAX_SELECTOR_DEPTH,
            });
        }
        if path.is_empty() {
            return Err(FilterError::syntax(
                "a selector needs at least one member ('$.name')",
                self.cur.slice(start, self.cur.pos() + 1),
                start,
            ));
        }
        match self.cur.peek() {
            Some(c) if c == '*' || c == '"' || c == '\'' || c == '%' || c == ']' => {
                Err(FilterError::syntax(
                    "invalid character in selector",
                    self.cur.slice(start, self.cur.pos() + 1),
                    self.cur.pos(),
                ))
            }
            _ => Ok(path),
        }
    }

    fn bracket(&mut self) -> Result<Segment, FilterError> {
        let open = self.cur.pos();
        self.cur.bump(); // '['
        let seg = match self.cur.peek() {
            Some('*') => {
                self.cur.bump();
                Segment::Wildcard
            }
            Some(q @ ('\'' | '"')) => {
                self.cur.bump();
                let mut key = String::new();
                loop {
                    match self.cur.bump() {
                        None => {
                            return Err(FilterError::Unbalanced {
                                open: q,
                                close: q,
                                pos: open + 1,
                            })
                        }
                        Some('\\')
                            if matches!(self.cur.peek(), Some('\\') | Some('\'') | Some('"')) =>
                        {
                            if let Some(c) = self.cur.bump() {
                                key.push(c);
                            }
                        }
                        Some(c) if c == q => break,
                        Some(c) => key.push(c),
                    }
                }
                Segment::Key(key.into_bytes())
            }
            Some(c) if c.is_ascii_digit() => {
                let s = self.cur.pos();
                while matches!(self.cur.peek(), Some(c) if c.is_ascii_digit()) {
                    self.cur.bump();
                }
                let digits = self.cur.slice(s, self.cur.pos());
                let n: u32 = digits.parse().map_err(|_| {
                    FilterError::syntax("array index out of range", digits.clone(), s)
                })?;
                Segment::Index(n)
            }
            _ => {
                return Err(FilterError::syntax(
                    "expected an index, '*' or a quoted key after '['",
                    self.cur.rest_word(),
                    self.cur.pos(),
                ))
            }
        };
        if !self.cur.eat(']') {
            return Err(FilterError::Unbalanced {
                open: '[',
                close: ']',
                pos: open,
            });
        }
        Ok(seg)
    }

    /// The value after an operator.
    fn rhs(&mut self, op: Op) -> Result<Rhs, FilterError> {
        self.cur.skip_ws();
        let pos = self.cur.pos();
        let rhs = match self.cur.peek() {
            None | Some('}') | Some(')') | Some('&') | Some('|') => {
                return Err(self.unexpected("expected a value after the operator"))
            }
            Some('"') => {
                let q = self.cur.quoted()?;
                Rhs::Str(Glob::new(q.pieces))
            }
            Some('%') => {
                let (body, start) = self.cur.regex_body()?;
                Rhs::Regex(self.regexes.compile(&body, start)?)
            }
            Some(_) => {
                let mut word = String::new();
                while let Some(c) = self.cur.peek() {
                    if c.is_whitespace()
                        || matches!(c, '(' | ')' | '{' | '}' | '&' | '|' | '"' | '\'')
                    {
                        break;
                    }
                    word.push(c);
                    self.cur.bump();
                }
                if word == "*" {
                    Rhs::Any
                } else if let Some(value) = parse_number(word.as_bytes()) {
                    Rhs::Num { value }
                } else if word.contains('%') || word.starts_with(['=', '<', '>', '!']) {
                    return Err(FilterError::syntax("invalid value", word, pos));
                } else {
                    Rhs::Str(Glob::new(word.split('*').map(str::to_string).collect()))
                }
            }
        };
        if op.is_ordering() && !matches!(rhs, Rhs::Num { .. }) {
            let found = self.cur.slice(pos, self.cur.pos());
            return Err(FilterError::syntax(
                "a numeric comparison (<, <=, >, >=) needs a number",
                found,
                pos,
            ));
        }
        Ok(rhs)
    }
}

fn is_name_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '.' | '['
                | ']'
                | '='
                | '!'
                | '<'
                | '>'
                | '('
                | ')'
                | '{'
                | '}'
                | '&'
                | '|'
                | '"'
                | '\''
                | '*'
                | '%'
                | ','
        ))
}

/// Parses a standalone selector (`$.a.b[0]`), as used by metric values and dimensions.
pub(crate) fn parse_selector(text: &str) -> Result<Vec<Segment>, FilterError> {
    let mut cur = Cursor::new(text);
    let mut budget = RegexBudget::default();
    let mut p = Parser {
        cur: &mut cur,
        paths: Vec::new(),
        null_paths: Vec::new(),
        regexes: &mut budget,
        wildcards: 0,
    };
    if p.cur.peek() != Some('$') {
        return Err(p.unexpected("a selector starts with '$'"));
    }
    let path = p.selector()?;
    if !p.cur.at_end() {
        return Err(p.unexpected("unexpected text after the selector"));
    }
    Ok(path)
}
