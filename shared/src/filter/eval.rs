//! Evaluates many JSON patterns at once from one scan of a record.
//!
//! Conditions of all patterns go in one table. Exact string equalities on single-valued
//! selectors read during the scan (`$.eventName = CreateTrail`, the bulk of the CIS filters)
//! are answered together by one hash lookup of the selector's value per record; the other such
//! conditions are evaluated one by one. Pattern expressions then read condition truth from a
//! bit set.
//!
//! Conditions on selectors inside a root member's object (`$.userIdentity.type`) are *lazy*
//! when the plan defers those objects: they are evaluated only when an expression reaches
//! them (cheap conditions first), and an equality whose literal does not even occur in the
//! object's bytes is false without walking the object.

use super::json::{cmp_value, Cond, Expr, JsonPattern, Test};
use super::scan::{self, Plan, Scratch, Value, Values};
use super::value::{Glob, Op, Rhs};
use memchr::memmem::Finder;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
enum Node {
    Leaf(u32),
    And(u32, u32),
    Or(u32, u32),
}

/// Exact-equality conditions on one single-valued slot, keyed by the literal.
#[derive(Debug, Clone, Default)]
struct ExactTable {
    slot: u32,
    entries: Vec<(Box<[u8]>, Vec<u32>)>,
    /// Open addressing: index into `entries` + 1 (0 = empty).
    index: Vec<u32>,
}

/// Constant-time hash of a short byte string: length, first and last 8 bytes.
#[inline]
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        let n = s.len().min(8);
        w[..n].copy_from_slice(&s[..n]);
        u64::from_le_bytes(w)
    };
    let first = word(b);
    let last = if b.len() > 8 {
        word(&b[b.len() - 8..])
    } else {
        0
    };
    let h = (first ^ (b.len() as u64).wrapping_mul(K)).wrapping_mul(K) ^ last;
    h.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 7
}

impl ExactTable {
    fn add(&mut self, lit: &[u8], cond: u32) {
        match self.entries.iter_mut().find(|(k, _)| **k == *lit) {
            Some((_, v)) => v.push(cond),
            None => self.entries.push((lit.into(), vec![cond])),
        }
    }

    fn build(&mut self) {
        let cap = (self.entries.len() * 2).next_power_of_two().max(8);
        self.index = vec![0; cap];
        for (i, (k, _)) in self.entries.iter().enumerate() {
            let mut h = hash(k) as usize & (cap - 1);
            while self.index[h] != 0 {
                h = (h + 1) & (cap - 1);
            }
            self.index[h] = i as u32 + 1;
        }
    }

    #[inline]
    fn lookup(&self, s: &[u8]) -> Option<&[u32]> {
        let cap = self.index.len();
        if cap == 0 {
            return None;
        }
        let mut h = hash(s) as usize & (cap - 1);
        loop {
            let e = self.index[h];
            if e == 0 {
                return None;
            }
            let (k, ids) = &self.entries[(e - 1) as usize];
            if **k == *s {
                return Some(ids);
            }
            h = (h + 1) & (cap - 1);
        }
    }
}

/// A condition of some pattern.
#[derive(Debug, Clone)]
struct CondInfo {
    slot: u32,
    test: Test,
    /// Root member whose deferred object holds the slot's values (NONE: read during the scan).
    owner: u32,
    /// For lazy equalities: a literal that must occur in the object's bytes.
    guard: Option<Finder<'static>>,
}

/// A compiled evaluator for a list of JSON patterns sharing one scan plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evaluator {
    conds: Vec<CondInfo>,
    tables: Vec<ExactTable>,
    /// Eager conditions not covered by `tables`.
    generic: Vec<u32>,
    nodes: Vec<Node>,
    kids: Vec<u32>,
    /// Per pattern: root node and the range of `need` holding its prefilter.
    roots: Vec<(u32, u32, u32)>,
    /// Prefilters: (word, mask) pairs of eager conditions one of which must hold for the
    /// pattern to match (expressions have no negation). An empty range: no prefilter.
    need: Vec<(u32, u64)>,
    /// Some condition is lazy (set by `build`).
    any_lazy: bool,
}

/// A set of eager conditions at least one of which must be true for the expression to be true,
/// or `None` when no such set exists (lazy conditions only).
fn necessary(
    e: &Expr,
    ids: &mut std::slice::Iter<'_, u32>,
    lazy: &dyn Fn(u32) -> bool,
) -> Option<Vec<u32>> {
    match e {
        Expr::Cond(_) => {
            let id = *ids.next()?;
            if lazy(id) {
                None
            } else {
                Some(vec![id])
            }
        }
        Expr::And(v) => {
            // any child's set will do: take the smallest
            let mut best: Option<Vec<u32>> = None;
            for x in v {
                if let Some(s) = necessary(x, ids, lazy) {
                    if best.as_ref().is_none_or(|b| s.len() < b.len()) {
                        best = Some(s);
                    }
                }
            }
            best
        }
        Expr::Or(v) => {
            let mut all = Some(Vec::new());
            for x in v {
                match (necessary(x, ids, lazy), all.as_mut()) {
                    (Some(s), Some(a)) => a.extend(s),
                    _ => all = None,
                }
            }
            all
        }
    }
}

#[inline]
fn bit(v: &[u64], id: u32) -> bool {
    v.get((id / 64) as usize)
        .is_some_and(|w| w & (1 << (id % 64)) != 0)
}

#[inline]
fn set_bit(v: &mut [u64], id: u32) {
    if let Some(w) = v.get_mut((id / 64) as usize) {
        *w |= 1 << (id % 64);
    }
}

/// A literal that must occur verbatim in the JSON text of any string equal to the glob: its
/// longest piece, if that piece has no character JSON could write as an escape other than
/// `\u` (which the caller rules out by checking for backslashes).
fn guard_literal(test: &Test) -> Option<Finder<'static>> {
    let Test::Cmp(Op::Eq, Rhs::Str(glob)) = test else {
        return None;
    };
    let piece: &[u8] = match glob {
        Glob::Exact(s) | Glob::Prefix(s) | Glob::Suffix(s) | Glob::Contains(s) => s,
        Glob::Pieces(p) => p
            .iter()
            .max_by_key(|x| x.len())
            .map(|x| x.as_slice())
            .unwrap_or(&[]),
    };
    if piece.is_empty()
        || piece
            .iter()
            .any(|&c| c < 0x20 || c == b'"' || c == b'\\' || c == b'/')
    {
        return None;
    }
    Some(Finder::new(piece).into_owned())
}

/// Per-record evaluation context.
struct Ctx<'a> {
    plan: &'a Plan,
    buf: &'a [u8],
    scratch: &'a mut Scratch,
    truth: &'a [u64],
}

impl Evaluator {
    /// Adds a pattern whose `paths[i]` has slot `slots[i]` in `plan`. Returns its index.
    pub(crate) fn add(&mut self, pat: &JsonPattern, slots: &[u32], plan: &Plan) -> usize {
        let first = self.conds.len() as u32;
        let root = self.add_expr(&pat.expr, slots, plan).0;
        let end = self.conds.len() as u32;
        // Condition ids were assigned in expression order: walk the expression again.
        let ids: Vec<u32> = (first..end).collect();
        let conds = &self.conds;
        let need = necessary(&pat.expr, &mut ids.iter(), &|id| {
            conds[id as usize].owner != NONE
        });
        let lo = self.need.len() as u32;
        if let Some(mut set) = need {
            set.sort_unstable();
            for id in set {
                let (w, m) = (id / 64, 1u64 << (id % 64));
                match self.need[lo as usize..].iter_mut().find(|(x, _)| *x == w) {
                    Some((_, mask)) => *mask |= m,
                    None => self.need.push((w, m)),
                }
            }
        }
        self.roots.push((root, lo, self.need.len() as u32));
        self.roots.len() - 1
    }

    /// Returns (node, cost): 0 = all eager, 1 = lazy with literal guards, 2 = lazy.
    fn add_expr(&mut self, e: &Expr, slots: &[u32], plan: &Plan) -> (u32, u8) {
        let (node, cost) = match e {
            Expr::Cond(c) => {
                let id = self.add_cond(c, slots, plan);
                let info = &self.conds[id as usize];
                let cost = match (info.owner, &info.guard) {
                    (NONE, _) => 0,
                    (_, Some(_)) => 1,
                    _ => 2,
                };
                (Node::Leaf(id), cost)
            }
            Expr::And(v) | Expr::Or(v) => {
                let mut kids: Vec<(u32, u8)> =
                    v.iter().map(|x| self.add_expr(x, slots, plan)).collect();
                // Pure boolean functions: evaluate cheap children first.
                kids.sort_by_key(|k| k.1);
                let cost = kids.iter().map(|k| k.1).max().unwrap_or(0);
                let start = self.kids.len() as u32;
                self.kids.extend(kids.iter().map(|k| k.0));
                let len = kids.len() as u32;
                let node = if matches!(e, Expr::And(_)) {
                    Node::And(start, len)
                } else {
                    Node::Or(start, len)
                };
                (node, cost)
            }
        };
        self.nodes.push(node);
        ((self.nodes.len() - 1) as u32, cost)
    }

    fn add_cond(&mut self, c: &Cond, slots: &[u32], plan: &Plan) -> u32 {
        let slot = slots.get(c.path as usize).copied().unwrap_or(NONE);
        let id = self.conds.len() as u32;
        let owner = if slot == NONE { NONE } else { plan.owner(slot) };
        let guard = if owner != NONE {
            guard_literal(&c.test)
        } else {
            None
        };
        self.conds.push(CondInfo {
            slot,
            test: c.test.clone(),
            owner,
            guard,
        });
        if owner != NONE {
            return id;
        }
        match &c.test {
            Test::Cmp(Op::Eq, Rhs::Str(Glob::Exact(lit)))
                if slot != NONE && !plan.is_multi(slot) =>
            {
                let t = match self.tables.iter().position(|t| t.slot == slot) {
                    Some(i) => i,
                    None => {
                        self.tables.push(ExactTable {
                            slot,
                            ..ExactTable::default()
                        });
                        self.tables.len() - 1
                    }
                };
                self.tables[t].add(lit, id);
            }
            _ => self.generic.push(id),
        }
        id
    }

    /// Call once after the last `add`.
    pub(crate) fn build(&mut self) {
        for t in &mut self.tables {
            t.build();
        }
        self.any_lazy = self.conds.iter().any(|c| c.owner != NONE);
    }

    /// Evaluates every pattern on the record just scanned into `scratch` from `buf`; `hit(i)` is
    /// called for each pattern index that matches.
    pub(crate) fn run(
        &self,
        plan: &Plan,
        buf: &[u8],
        scratch: &mut Scratch,
        mut hit: impl FnMut(usize),
    ) {
        let words = self.conds.len().div_ceil(64);
        let mut truth = std::mem::take(&mut scratch.truth);
        truth.clear();
        truth.resize(words, 0);
        {
            let vals = scan::values(buf, scratch);
            for t in &self.tables {
                if let Some(Value::Str(s) | Value::Num(s)) = vals.slot(t.slot).next() {
                    if let Some(ids) = t.lookup(s) {
                        for &id in ids {
                            set_bit(&mut truth, id);
                        }
                    }
                }
            }
            for &id in &self.generic {
                let c = &self.conds[id as usize];
                if eval_test(&c.test, &vals, c.slot) {
                    set_bit(&mut truth, id);
                }
            }
        }
        if self.any_lazy {
            scratch.lazy_known.clear();
            scratch.lazy_known.resize(words, 0);
            scratch.lazy_value.clear();
            scratch.lazy_value.resize(words, 0);
        }
        let mut ctx = Ctx {
            plan,
            buf,
            scratch,
            truth: &truth,
        };
        // Expressions have no negation (NOT EXISTS and != are conditions): a pattern can only
        // match if one of its necessary conditions holds.
        for (i, &(root, lo, hi)) in self.roots.iter().enumerate() {
            let candidate = lo == hi
                || self.need[lo as usize..hi as usize]
                    .iter()
                    .any(|&(w, m)| truth.get(w as usize).is_some_and(|t| t & m != 0));
            if candidate && self.eval_node(root, &mut ctx) {
                hit(i);
            }
        }
        scratch.truth = truth;
    }

    fn eval_node(&self, n: u32, ctx: &mut Ctx<'_>) -> bool {
        match self.nodes[n as usize] {
            Node::Leaf(id) => self.leaf(id, ctx),
            Node::And(s, l) => {
                for k in s..s + l {
                    if !self.eval_node(self.kids[k as usize], ctx) {
                        return false;
                    }
                }
                true
            }
            Node::Or(s, l) => {
                for k in s..s + l {
                    if self.eval_node(self.kids[k as usize], ctx) {
                        return true;
                    }
                }
                false
            }
        }
    }

    fn leaf(&self, id: u32, ctx: &mut Ctx<'_>) -> bool {
        let c = &self.conds[id as usize];
        if c.owner == NONE {
            return bit(ctx.truth, id);
        }
        if bit(&ctx.scratch.lazy_known, id) {
            return bit(&ctx.scratch.lazy_value, id);
        }
        let mut decided = None;
        if let Some(span) = scan::deferred_span(ctx.buf, ctx.scratch, c.owner) {
            if let Some(g) = &c.guard {
                if g.find(span).is_none() && memchr::memchr(b'\\', span).is_none() {
                    decided = Some(false);
                }
            }
            if decided.is_none() {
                scan::materialize(ctx.plan, ctx.buf, ctx.scratch, c.owner);
            }
        }
        let v = match decided {
            Some(v) => v,
            None => eval_test(&c.test, &scan::values(ctx.buf, ctx.scratch), c.slot),
        };
        set_bit(&mut ctx.scratch.lazy_known, id);
        if v {
            set_bit(&mut ctx.scratch.lazy_value, id);
        }
        v
    }
}

/// One condition on the values of `slot`.
pub(crate) fn eval_test(test: &Test, vals: &Values<'_>, slot: u32) -> bool {
    let mut it = vals.slot(slot);
    match test {
        Test::NotExists => it.next().is_none(),
        Test::IsTrue => it.any(|v| v == Value::Bool(true)),
        Test::IsFalse => it.any(|v| v == Value::Bool(false)),
        Test::IsNull => it.any(|v| matches!(v, Value::Null | Value::Array { has_null: true })),
        Test::Cmp(op, rhs) => it.any(|v| cmp_value(*op, rhs, v)),
    }
}
