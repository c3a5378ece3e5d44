//! Evaluates many JSON patterns at once from the values of one scan.
//!
//! Conditions of all patterns go in one table. Exact string equalities on single-valued
//! selectors (`$.eventName = CreateTrail`, the bulk of the CIS filters) are answered together
//! by one hash lookup of the selector's value per record; the other conditions are evaluated one
//! by one. Pattern expressions then read condition truth from a bit set.

use super::json::{cmp_value, Cond, Expr, JsonPattern, Test};
use super::scan::{Value, Values};
use super::value::{Glob, Op, Rhs};

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

#[inline]
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^ (h >> 29)
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

/// A compiled evaluator for a list of JSON patterns sharing one scan plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evaluator {
    /// Every condition: (slot, test).
    conds: Vec<(u32, Test)>,
    tables: Vec<ExactTable>,
    /// Conditions not covered by `tables`.
    generic: Vec<u32>,
    nodes: Vec<Node>,
    kids: Vec<u32>,
    /// Root node of each added pattern and the range of its condition ids.
    roots: Vec<(u32, u32, u32)>,
}

/// Is any bit in `lo..hi` set?
#[inline]
fn any_in(truth: &[u64], lo: u32, hi: u32) -> bool {
    let (mut w, end) = (lo / 64, hi.div_ceil(64));
    while w < end {
        let mut word = truth[w as usize];
        if w == lo / 64 {
            word &= !0u64 << (lo % 64);
        }
        if w == (hi - 1) / 64 && hi % 64 != 0 {
            word &= (1u64 << (hi % 64)) - 1;
        }
        if word != 0 {
            return true;
        }
        w += 1;
    }
    false
}

impl Evaluator {
    /// Adds a pattern whose `paths[i]` has slot `slots[i]`; `multi[s]` tells whether slot `s`
    /// can hold several values (wildcard paths). Returns the pattern's index in the evaluator.
    pub(crate) fn add(&mut self, pat: &JsonPattern, slots: &[u32], multi: &dyn Fn(u32) -> bool) -> usize {
        let first = self.conds.len() as u32;
        let root = self.add_expr(&pat.expr, slots, multi);
        self.roots.push((root, first, self.conds.len() as u32));
        self.roots.len() - 1
    }

    fn add_expr(&mut self, e: &Expr, slots: &[u32], multi: &dyn Fn(u32) -> bool) -> u32 {
        let node = match e {
            Expr::Cond(c) => Node::Leaf(self.add_cond(c, slots, multi)),
            Expr::And(v) | Expr::Or(v) => {
                let ids: Vec<u32> = v.iter().map(|x| self.add_expr(x, slots, multi)).collect();
                let start = self.kids.len() as u32;
                self.kids.extend_from_slice(&ids);
                let len = ids.len() as u32;
                if matches!(e, Expr::And(_)) {
                    Node::And(start, len)
                } else {
                    Node::Or(start, len)
                }
            }
        };
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn add_cond(&mut self, c: &Cond, slots: &[u32], multi: &dyn Fn(u32) -> bool) -> u32 {
        let slot = slots.get(c.path as usize).copied().unwrap_or(u32::MAX);
        let id = self.conds.len() as u32;
        self.conds.push((slot, c.test.clone()));
        match &c.test {
            Test::Cmp(Op::Eq, Rhs::Str(Glob::Exact(lit))) if slot != u32::MAX && !multi(slot) => {
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
    }

    /// Evaluates every pattern; `hit(i)` is called for each pattern index that matches.
    pub(crate) fn run(&self, vals: &Values<'_>, truth: &mut Vec<u64>, mut hit: impl FnMut(usize)) {
        truth.clear();
        truth.resize(self.conds.len().div_ceil(64), 0);
        for t in &self.tables {
            if let Some(Value::Str(s) | Value::Num(s)) = vals.slot(t.slot).next() {
                if let Some(ids) = t.lookup(s) {
                    for &id in ids {
                        truth[(id / 64) as usize] |= 1 << (id % 64);
                    }
                }
            }
        }
        for &id in &self.generic {
            let (slot, test) = &self.conds[id as usize];
            if eval_test(test, vals, *slot) {
                truth[(id / 64) as usize] |= 1 << (id % 64);
            }
        }
        // Expressions have no negation (NOT EXISTS and != are conditions), so a pattern none
        // of whose conditions holds cannot match: only evaluate the others.
        for (i, &(root, lo, hi)) in self.roots.iter().enumerate() {
            if lo < hi && any_in(truth, lo, hi) && self.eval_node(root, truth) {
                hit(i);
            }
        }
    }

    fn eval_node(&self, n: u32, truth: &[u64]) -> bool {
        match self.nodes[n as usize] {
            Node::Leaf(id) => truth[(id / 64) as usize] & (1 << (id % 64)) != 0,
            Node::And(s, l) => self.kids[s as usize..(s + l) as usize]
                .iter()
                .all(|&k| self.eval_node(k, truth)),
            Node::Or(s, l) => self.kids[s as usize..(s + l) as usize]
                .iter()
                .any(|&k| self.eval_node(k, truth)),
        }
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
