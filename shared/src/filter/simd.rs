//! Fast byte scanning for the JSON scanner: the next `"`/`\` in a string, and the end of a
//! container (bracket matching outside strings, 64 bytes at a time, simdjson-style escape and
//! in-string masks). SSE2 on x86_64 (always available there); a portable version elsewhere,
//! tested against the SSE2 one.

const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// Bit masks of one 64-byte block: `"`, `\`, the opening and the closing bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

#[inline]
#[allow(dead_code)]
fn masks_portable(block: &[u8; 64], open: u8, close: u8) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
    };
    for (j, &c) in block.iter().enumerate() {
        m.quote |= ((c == b'"') as u64) << j;
        m.backslash |= ((c == b'\\') as u64) << j;
        m.open |= ((c == open) as u64) << j;
        m.close |= ((c == close) as u64) << j;
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(block: &[u8; 64], open: u8, close: u8) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; every load reads 16 bytes inside `block`
    // (offsets 0, 16, 32, 48 of a 64-byte array).
    unsafe {
        let q = _mm_set1_epi8(b'"' as i8);
        let bs = _mm_set1_epi8(b'\\' as i8);
        let op = _mm_set1_epi8(open as i8);
        let cl = _mm_set1_epi8(close as i8);
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
        };
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let sh = 16 * k as u32;
            m.quote |= ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u32 as u64) & 0xFFFF) << sh;
            m.backslash |=
                ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) as u32 as u64) & 0xFFFF) << sh;
            m.open |= ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, op)) as u32 as u64) & 0xFFFF) << sh;
            m.close |= ((_mm_movemask_epi8(_mm_cmpeq_epi8(v, cl)) as u32 as u64) & 0xFFFF) << sh;
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks(block: &[u8; 64], open: u8, close: u8) -> Masks {
    masks_portable(block, open, close)
}

/// simdjson's escape scanner: given the backslash mask of a block and the carry
/// (`next_is_escaped`: the first byte of this block is escaped), returns the mask of escaped
/// characters and updates the carry.
#[inline(always)]
fn escaped(backslash: u64, next_is_escaped: &mut u64) -> u64 {
    if backslash == 0 {
        let e = *next_is_escaped;
        *next_is_escaped = 0;
        return e;
    }
    let potential_escape = backslash & !*next_is_escaped;
    let maybe_escaped = potential_escape << 1;
    let maybe_escaped_and_odd_bits = maybe_escaped | ODD_BITS;
    let even_series_codes_and_odd_bits = maybe_escaped_and_odd_bits.wrapping_sub(potential_escape);
    let escape_and_terminal_code = even_series_codes_and_odd_bits ^ ODD_BITS;
    let escaped = escape_and_terminal_code ^ (backslash | *next_is_escaped);
    let escape = escape_and_terminal_code & backslash;
    *next_is_escaped = escape >> 63;
    escaped
}

/// Bit i set iff an odd number of bits at positions <= i are set in `x`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// `b[start]` is `{` or `[`: returns the position just after its matching close bracket, or
/// `None` if the input ends first. Only the opener's own bracket kind is counted (the other
/// kind is balanced inside it in valid JSON); brackets inside strings are ignored.
#[inline]
pub(crate) fn skip_container(b: &[u8], start: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU supports AVX2, POPCNT and BMI1 (checked at run time).
            return unsafe { skip_container_avx2(b, start) };
        }
    }
    skip_container_with(b, start, masks)
}

/// AVX2 + POPCNT + BMI1 available? (cached)
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0);
    match STATE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
                && std::arch::is_x86_feature_detected!("bmi1");
            STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,bmi1")]
fn skip_container_avx2(b: &[u8], start: usize) -> Option<usize> {
    skip_container_with(b, start, |block: &[u8; 64], open, close| {
        // SAFETY: only reached from skip_container after the AVX2 check.
        #[allow(unused_unsafe)]
        unsafe {
            masks_avx2(block, open, close)
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn masks_avx2(block: &[u8; 64], open: u8, close: u8) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: the loads read bytes 0..32 and 32..64 of a 64-byte array.
    unsafe {
        let lo = _mm256_loadu_si256(block.as_ptr() as *const __m256i);
        let hi = _mm256_loadu_si256(block.as_ptr().add(32) as *const __m256i);
        let m = |c: u8| -> u64 {
            let v = _mm256_set1_epi8(c as i8);
            let a = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, v)) as u32 as u64;
            let b = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, v)) as u32 as u64;
            a | (b << 32)
        };
        Masks {
            quote: m(b'"'),
            backslash: m(b'\\'),
            open: m(open),
            close: m(close),
        }
    }
}

#[inline(always)]
fn skip_container_with<M: Fn(&[u8; 64], u8, u8) -> Masks>(
    b: &[u8],
    start: usize,
    masks: M,
) -> Option<usize> {
    let open = *b.get(start)?;
    let close = match open {
        b'{' => b'}',
        b'[' => b']',
        _ => return None,
    };
    let mut depth: u64 = 1;
    let mut i = start + 1;
    let mut next_is_escaped: u64 = 0;
    let mut in_string: u64 = 0; // all ones when the previous block ended inside a string
    while let Some(block) = b.get(i..i + 64) {
        let block: &[u8; 64] = block.try_into().ok()?;
        let m = masks(block, open, close);
        let esc = escaped(m.backslash, &mut next_is_escaped);
        let quote = m.quote & !esc;
        let inside = prefix_xor(quote) ^ in_string;
        in_string = ((inside as i64) >> 63) as u64;
        let opens = m.open & !inside & !esc;
        let closes = m.close & !inside & !esc;
        let n_close = closes.count_ones() as u64;
        if n_close >= depth {
            // depth may reach zero in this block: walk the brackets in order
            let mut all = opens | closes;
            while all != 0 {
                let t = all.trailing_zeros();
                let bit = 1u64 << t;
                if opens & bit != 0 {
                    depth += 1;
                } else {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + t as usize + 1);
                    }
                }
                all &= all - 1;
            }
        } else {
            depth = depth + opens.count_ones() as u64 - n_close;
        }
        i += 64;
    }
    // Tail (< 64 bytes): scalar, continuing the block state.
    let mut in_str = in_string != 0;
    let mut escaped_next = next_is_escaped != 0;
    while i < b.len() {
        let c = b[i];
        // Like the block phase, a backslash escapes the next byte wherever it is (in valid JSON
        // backslashes only occur inside strings).
        if escaped_next {
            escaped_next = false;
        } else if c == b'\\' {
            escaped_next = true;
        } else if in_str {
            if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// Position of the first `"` or `\\` at or after `i`, and whether it is a `"`.
#[inline(always)]
pub(crate) fn find_quote_or_backslash(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is baseline on x86_64; each load reads 16 bytes inside `b`, in bounds by
        // the loop conditions.
        unsafe {
            let q = _mm_set1_epi8(b'"' as i8);
            let bs = _mm_set1_epi8(b'\\' as i8);
            // 32 bytes per step: most keys and values end within the first step.
            while i + 32 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
                let w = _mm_loadu_si128(b.as_ptr().add(i + 16) as *const __m128i);
                let qm = (_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u32)
                    | ((_mm_movemask_epi8(_mm_cmpeq_epi8(w, q)) as u32) << 16);
                let bm = (_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) as u32)
                    | ((_mm_movemask_epi8(_mm_cmpeq_epi8(w, bs)) as u32) << 16);
                let m = qm | bm;
                if m != 0 {
                    let t = m.trailing_zeros();
                    return Some((i + t as usize, qm & (1 << t) != 0));
                }
                i += 32;
            }
        }
    }
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\\' {
            return Some((i, c == b'"'));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: a plain byte-at-a-time bracket matcher.
    fn reference(b: &[u8], start: usize) -> Option<usize> {
        let open = b[start];
        let close = if open == b'{' { b'}' } else { b']' };
        let mut depth = 0;
        let mut in_str = false;
        let mut esc = false;
        for (i, &c) in b.iter().enumerate().skip(start) {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if in_str {
                if c == b'"' {
                    in_str = false;
                }
            } else if c == b'"' {
                in_str = true;
            } else if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
        }
        None
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn skip_matches_reference_on_random_inputs() {
        let alphabet = b"{}[]\"\\\\\\a,:{}\"";
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for round in 0..20_000 {
            let len = 1 + (rng.next() % 300) as usize;
            let mut v: Vec<u8> = (0..len)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            v[0] = if round % 2 == 0 { b'{' } else { b'[' };
            let want = reference(&v, 0);
            assert_eq!(
                skip_container(&v, 0),
                want,
                "{}",
                String::from_utf8_lossy(&v)
            );
            assert_eq!(skip_container_with(&v, 0, masks_portable), want);
            assert_eq!(skip_container_with(&v, 0, masks), want);
        }
    }

    #[test]
    fn masks_agree() {
        let mut rng = Rng(42);
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for x in block.iter_mut() {
                *x = b"\"\\{}[]ab"[(rng.next() % 8) as usize];
            }
            assert_eq!(
                masks(&block, b'{', b'}'),
                masks_portable(&block, b'{', b'}')
            );
            assert_eq!(
                masks(&block, b'[', b']'),
                masks_portable(&block, b'[', b']')
            );
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: AVX2 checked just above.
                let m = unsafe { masks_avx2(&block, b'{', b'}') };
                assert_eq!(m, masks_portable(&block, b'{', b'}'));
            }
        }
    }

    #[test]
    fn skip_on_json() {
        let j = br#"{"a":"x\"}\\","b":[{"c":"}}}"},"\\\\\"{"],"d":{}} tail"#;
        assert_eq!(skip_container(j, 0), Some(j.len() - 5));
        let long = format!(
            "[{}\"]\\\"]\",[{}]]x",
            "1,".repeat(100),
            "[],".repeat(50) + "0"
        );
        assert_eq!(skip_container(long.as_bytes(), 0), Some(long.len() - 1));
        assert_eq!(skip_container(b"[1,2", 0), None);
        assert_eq!(skip_container(b"x", 0), None);
    }

    #[test]
    fn find_quote() {
        let s = b"0123456789abcdefghij\\k\"";
        assert_eq!(find_quote_or_backslash(s, 0), Some((20, false)));
        assert_eq!(find_quote_or_backslash(s, 21), Some((22, true)));
        assert_eq!(find_quote_or_backslash(b"abc", 0), None);
        for n in 0..80 {
            let mut v = vec![b'x'; n];
            v.push(b'"');
            v.extend_from_slice(&[b'y'; 40]);
            assert_eq!(find_quote_or_backslash(&v, 0), Some((n, true)));
            v[n] = b'\\';
            assert_eq!(find_quote_or_backslash(&v, 0), Some((n, false)));
        }
    }
}
