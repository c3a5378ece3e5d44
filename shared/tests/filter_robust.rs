//! Robustness: no panics on arbitrary patterns and messages, bounded recursion, and the
//! FilterSet (one shared scan, deferred objects, batched evaluation) agreeing with patterns
//! evaluated one by one on random JSON with duplicates, escapes, nesting and odd values.

use trailwarden::filter::{cis, FilterError, FilterPattern, FilterSet, MatchSet, Scratch};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

#[test]
fn send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FilterPattern>();
    check::<FilterSet>();
    check::<FilterError>();
    check::<MatchSet>();
    check::<Scratch>();
}

const PATTERN_ALPHABET: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "$",
    ".",
    "*",
    "=",
    "!",
    "<",
    ">",
    "&&",
    "||",
    "&",
    "|",
    "\"",
    "'",
    "%",
    "\\",
    " ",
    ",",
    "...",
    "a",
    "b",
    "1",
    "-",
    "?",
    "IS",
    "NOT",
    "EXISTS",
    "NULL",
    "TRUE",
    "é",
    "\u{1F600}",
    "\0",
    "\n",
    "[*]",
    "[0]",
    "$.a",
    "$.*",
    "%^x$%",
    "e",
    "9",
];

const MESSAGES: &[&str] = &[
    "",
    "ERROR x",
    "{}",
    r#"{"a":1,"b":[1,2,{"c":"d"}],"e":null,"f":true,"g":"h\"i","a":2}"#,
    "[1,2]",
    "a b \"c d\" [e f] 1.5",
    "{\"a\":",
    "{\"a\":\"\\u00",
    "{\"a\":\"\\ud800\"}",
    "\u{1F600} {\"é\":\"é\"}",
];

#[test]
fn random_patterns_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut parsed = 0;
    for _ in 0..30_000 {
        let n = 1 + rng.below(24);
        let text: String = (0..n).map(|_| rng.pick(PATTERN_ALPHABET)).collect();
        match FilterPattern::parse(&text) {
            Ok(p) => {
                parsed += 1;
                for m in MESSAGES {
                    let hit = p.matches(m);
                    assert_eq!(p.evaluate(m).is_some(), hit, "{text:?} on {m:?}");
                }
            }
            Err(e) => {
                // every error renders, and positions are within the pattern
                let _ = e.to_string();
                if let Some(pos) = e.position() {
                    assert!(pos <= text.chars().count(), "{text:?}: {e}");
                }
            }
        }
    }
    assert!(
        parsed > 100,
        "the generator should produce some valid patterns ({parsed})"
    );
}

#[test]
fn mutated_valid_patterns_never_panic() {
    let seeds: Vec<&str> = cis::CIS_FILTERS
        .iter()
        .map(|f| f.pattern)
        .chain([
            "[ip, user, ..., status=4* || status=%^5\\d\\d$%, size > 10]",
            "?ERROR ?\"WARN x\" -DEBUG",
            "%^[a-z]+\\d{2,3}$%",
            "{ $.a[0][1].['k.e.y'] IS NULL || $.b.* != \"x*y\" && ($.c >= -1.5e3) }",
        ])
        .collect();
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let seed = rng.pick(&seeds);
        let mut chars: Vec<char> = seed.chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => {
                    let s = rng.pick(PATTERN_ALPHABET);
                    for (k, c) in s.chars().enumerate() {
                        chars.insert((at + k).min(chars.len()), c);
                    }
                }
                _ if at < chars.len() => {
                    chars[at] = rng.pick(PATTERN_ALPHABET).chars().next().unwrap_or('x')
                }
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(p) = FilterPattern::parse(&text) {
            for m in MESSAGES {
                let _ = p.evaluate(m);
            }
        }
    }
}

#[test]
fn arbitrary_bytes_as_messages() {
    let pats: Vec<FilterPattern> = [
        "{ $.a.b = 1 }",
        "{ $.a[*] NOT EXISTS }",
        "{ $.* IS NULL }",
        "[a, ..., b=x*]",
        "[]",
        "%a.b%",
        "x",
    ]
    .iter()
    .map(|s| FilterPattern::parse(s).unwrap())
    .collect();
    let set: FilterSet = pats.iter().cloned().collect();
    let mut rng = Rng(7);
    let alphabet = b"{}[]\":,\\ abtrue0129.-e\n\x00\xff\xc3";
    let mut scratch = Scratch::default();
    for _ in 0..20_000 {
        let len = rng.below(200);
        let msg: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        for p in &pats {
            let _ = p.matches_bytes(&msg);
            let _ = p.evaluate_bytes(&msg);
        }
        let mut out = MatchSet::default();
        set.matches_into(&msg, &mut scratch, &mut out);
        let _ = set.for_each_record(&msg, &mut scratch, |_, _, _| {});
    }
}

#[test]
fn deep_nesting_is_fine() {
    // messages nested far deeper than any selector: recursion follows the selector only
    let depth = 200_000;
    let msg = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let p = FilterPattern::parse("{ $.a.a.a.b NOT EXISTS }").unwrap();
    assert!(p.matches(&msg));
    let arr = format!("{{\"x\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
    assert!(FilterPattern::parse("{ $.x[0][0] IS NULL }")
        .map(|p| !p.matches(&arr))
        .unwrap());
    assert!(FilterPattern::parse("{ $.x[*][*] = 1 }").is_err()); // 2 wildcards in one selector
                                                                 // the deepest selector accepted (64 steps), on a message that deep and deeper
    let pat = format!("{{ $.{} = 1 }}", vec!["a"; 64].join("."));
    let p = FilterPattern::parse(&pat).unwrap();
    let msg = format!("{}1{}", "{\"a\":".repeat(64), "}".repeat(64));
    assert!(p.matches(&msg));
    let msg = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    assert!(!p.matches(&msg));
    let set: FilterSet = [p].into_iter().collect();
    assert!(!set.matching(&msg).any());
    // deeper selectors are rejected (bounded recursion)
    let pat = format!("{{ $.{} = 1 }}", vec!["a"; 65].join("."));
    let e = FilterPattern::parse(&pat).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    // space-delimited patterns with many ellipses over many fields stay linear-ish
    let pat = format!("[{}z=last]", "..., a=x, ".repeat(40));
    if pat.chars().count() <= 1024 {
        let p = FilterPattern::parse(&pat).unwrap();
        let msg = "x ".repeat(20_000) + "last";
        assert!(p.matches(&msg));
        let msg = "y ".repeat(20_000) + "last";
        assert!(!p.matches(&msg));
    }
}

// ---------------------------------------------------------------- set vs single

const ROOT_KEYS: &[&str] = &[
    "eventName",
    "eventSource",
    "userIdentity",
    "userIdentity",
    "errorCode",
    "additionalEventData",
    "arr",
    "n",
    "x",
    "a.b",
    "a",
];
const NESTED_KEYS: &[&str] = &[
    "type",
    "type",
    "invokedBy",
    "a",
    "b",
    "arr",
    "MFAUsed",
    "t\\u0079pe",
    "x",
];
const STRINGS: &[&str] = &[
    "Root",
    "R\\u006fot",
    "IAMUser",
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "StopLogging",
    "CreateVpc",
    "kms.amazonaws.com",
    "DisableKey",
    "ConsoleLogin",
    "Yes",
    "No",
    "x\\\"y",
    "1",
    "1.0",
    "",
    "Success",
];

/// A value for `key`: objects are likely under userIdentity-like keys, arrays under `arr`.
fn gen_value(rng: &mut Rng, key: &str, depth: usize, out: &mut String) {
    let container_bias = match key {
        "userIdentity" | "additionalEventData" | "a" => 6,
        "arr" => 7,
        _ => 0,
    };
    let choice = if depth >= 4 {
        rng.below(5)
    } else if container_bias > 0 && rng.below(10) < container_bias {
        if key == "arr" {
            7
        } else {
            5
        }
    } else {
        rng.below(8)
    };
    match choice {
        0 | 1 => {
            out.push('"');
            out.push_str(rng.pick(STRINGS));
            out.push('"');
        }
        2 => out.push_str(rng.pick(&["1", "1.0", "1e0", "2", "-3e2", "0"])),
        3 => out.push_str(rng.pick(&["true", "false"])),
        4 => out.push_str("null"),
        5 | 6 => gen_object(rng, depth + 1, out),
        _ => {
            out.push('[');
            for k in 0..rng.below(4) {
                if k > 0 {
                    out.push(',');
                }
                gen_value(rng, "", depth + 1, out);
            }
            out.push(']');
        }
    }
}

fn gen_object(rng: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    let n = rng.below(if depth == 0 { 9 } else { 5 });
    for k in 0..n {
        if k > 0 {
            out.push_str(rng.pick(&[",", ", ", ",\n  "]));
        }
        let key = rng.pick(if depth == 0 { ROOT_KEYS } else { NESTED_KEYS });
        out.push('"');
        out.push_str(key);
        out.push('"');
        out.push_str(rng.pick(&[":", " : "]));
        gen_value(rng, key, depth, out);
    }
    out.push('}');
}

const BATTERY: &[&str] = &[
    r#"{ $.userIdentity.type = "Root" }"#,
    r#"{ $.userIdentity.type != "Root" }"#,
    r#"{ $.userIdentity.invokedBy NOT EXISTS }"#,
    r#"{ $.userIdentity IS NULL }"#,
    r#"{ $.userIdentity.a.b = 1 }"#,
    r#"{ $.userIdentity.arr[1] = 2 }"#,
    r#"{ $.userIdentity.* = "Root" }"#,
    r#"{ $.* = "StopLogging" }"#,
    r#"{ $.arr[*] = 1 }"#,
    r#"{ $.arr[*].type = "Root" }"#,
    r#"{ $.arr[0] IS NULL }"#,
    r#"{ $.n = 1 }"#,
    r#"{ $.n != 1 }"#,
    r#"{ $.n > 0 }"#,
    r#"{ $.n <= 1 }"#,
    r#"{ $.n = "1" }"#,
    r#"{ $.['a.b'] = "Yes" }"#,
    r#"{ $.x IS TRUE }"#,
    r#"{ $.x IS FALSE }"#,
    r#"{ $.x NOT EXISTS }"#,
    r#"{ $.x = * }"#,
    r#"{ $.userIdentity.type = R* && $.eventName = *Logging }"#,
    r#"{ $.userIdentity.type = %^R.*t$% }"#,
    r#"{ ($.userIdentity.type = "Root" || $.userIdentity.invokedBy = *) && $.eventSource != "x" }"#,
    r#"{ $.userIdentity.type IS NULL || $.userIdentity.a NOT EXISTS }"#,
    r#"{ $.additionalEventData.MFAUsed != "Yes" && $.eventName = "ConsoleLogin" }"#,
    r#"{ $.userIdentity.type = "x\"y" }"#,
    r#"{ $.a.b NOT EXISTS && $.a.type = "IAMUser" }"#,
    r#"{ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" }"#,
    "Root",
    "%Access[DE]%",
    "[first, second, ...]",
];

#[test]
fn filter_set_agrees_with_single_patterns_on_random_json() {
    let mut pats: Vec<FilterPattern> = BATTERY
        .iter()
        .map(|s| FilterPattern::parse(s).unwrap())
        .collect();
    pats.extend(cis::CIS_FILTERS.iter().map(|f| f.compile()));
    let set: FilterSet = pats.iter().cloned().collect();
    let mut rng = Rng(0xdead_beef_0bad_f00d);
    let mut scratch = Scratch::default();
    let mut out = MatchSet::default();
    let mut records = Vec::new();
    let mut hits = vec![0usize; pats.len()];
    for _ in 0..10_000 {
        let mut msg = String::new();
        gen_object(&mut rng, 0, &mut msg);
        set.matches_into(msg.as_bytes(), &mut scratch, &mut out);
        for (i, p) in pats.iter().enumerate() {
            assert_eq!(
                out.contains(i),
                p.matches(&msg),
                "pattern {} on {msg}",
                p.as_str()
            );
            if out.contains(i) {
                hits[i] += 1;
            }
        }
        records.push(msg);
    }
    // nearly every battery pattern matched something and missed something (the test has teeth)
    let toothless: Vec<&str> = pats
        .iter()
        .enumerate()
        .take(BATTERY.len())
        .filter(|(i, _)| hits[*i] == 0 || hits[*i] == records.len())
        .map(|(_, p)| p.as_str())
        .collect();
    assert!(
        toothless.len() <= 2,
        "patterns that never discriminate: {toothless:?}"
    );
    // for_each_record over the same records as one log file
    let file = format!("{{\"Records\":[{}]}}", records.join(","));
    let mut k = 0;
    set.for_each_record(file.as_bytes(), &mut scratch, |i, rec, m| {
        assert_eq!(rec, records[i].as_bytes());
        for (j, p) in pats.iter().enumerate() {
            assert_eq!(
                m.contains(j),
                p.matches(&records[i]),
                "{} in file, record {i}",
                p.as_str()
            );
        }
        k += 1;
    })
    .unwrap();
    assert_eq!(k, records.len());
}
