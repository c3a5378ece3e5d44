//! The filter-pattern semantics of filter-patterns.md: documented examples, every operator,
//! the semantic corners, and every rejected form with its message.

use trailwarden::filter::{test_metric_filter, FilterError, FilterPattern, FilterSet, PatternKind};

fn p(s: &str) -> FilterPattern {
    FilterPattern::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn hits(pattern: &str, events: &[&str]) -> Vec<usize> {
    let pat = p(pattern);
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| pat.matches(e))
        .map(|(i, _)| i + 1)
        .collect()
}

fn err(s: &str) -> FilterError {
    match FilterPattern::parse(s) {
        Ok(_) => panic!("{s:?} should be rejected"),
        Err(e) => e,
    }
}

/// Asserts the pattern is rejected with a message containing every `needle`.
fn rejected(s: &str, needles: &[&str]) {
    let e = err(s);
    let msg = e.to_string();
    for n in needles {
        assert!(
            msg.contains(n),
            "error for {s:?} is {msg:?}, expected it to contain {n:?}"
        );
    }
}

const APACHE: [&str; 3] = [
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#,
];

const SERVICE: [&str; 4] = [
    "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    "WARNING 09/25/2014 12:00:02 Invalid user request",
    "ERROR 09/25/2014 12:00:02 Failed to process request",
];

const APP: [&str; 3] = [
    "02 May 2014 00:34:12,525 [INFO] Starting the application",
    "02 May 2014 00:34:16,142 [ERROR] Unhanded exception: InvalidQueryException",
    "02 May 2014 00:34:16,224 [ERROR] Terminating the application",
];

// ---------------------------------------------------------------- documented examples

#[test]
fn doc_apache_all_fields() {
    let pat = "[ip, identity, user_id, timestamp, request, status_code, size]";
    assert_eq!(hits(pat, &APACHE), vec![1, 2, 3]);
    let ex = p(pat).evaluate(APACHE[0]).unwrap();
    let got: Vec<(&str, &str)> = ex.iter().collect();
    assert_eq!(
        got,
        vec![
            ("$ip", "127.0.0.1"),
            ("$identity", "-"),
            ("$user_id", "frank"),
            ("$timestamp", "10/Oct/2000:13:25:15 -0700"),
            ("$request", "GET /apache_pb.gif HTTP/1.0"),
            ("$status_code", "200"),
            ("$size", "1534"),
        ]
    );
    assert_eq!(ex.get("status_code"), Some("200"));
    assert_eq!(ex.get("$size"), Some("1534"));
}

#[test]
fn doc_apache_ellipsis() {
    assert_eq!(hits("[..., status_code=200, size]", &APACHE), vec![1, 3]);
    let ex = p("[..., status_code=200, size]")
        .evaluate(APACHE[2])
        .unwrap();
    assert_eq!(ex.get("status_code"), Some("200"));
    assert_eq!(ex.get("size"), Some("4355"));
}

#[test]
fn doc_apache_empty_brackets() {
    assert_eq!(hits("[]", &APACHE), vec![1, 2, 3]);
    let ex = p("[]").evaluate(APACHE[0]).unwrap();
    let got: Vec<(&str, &str)> = ex.iter().collect();
    assert_eq!(
        got,
        vec![
            ("$1", "127.0.0.1"),
            ("$2", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$5", "GET /apache_pb.gif HTTP/1.0"),
            ("$6", "200"),
            ("$7", "1534"),
        ]
    );
}

#[test]
fn doc_service_lines() {
    assert_eq!(hits("[w1=ERROR, w2]", &SERVICE), vec![4]);
    assert_eq!(hits("[w1=ERROR || w1=WARNING, w2]", &SERVICE), vec![3, 4]);
    assert_eq!(hits("[w1!=ERROR && w1!=WARNING, w2]", &SERVICE), vec![1, 2]);
    assert_eq!(
        hits(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]",
            &SERVICE
        ),
        vec![1]
    );
    // the last named field takes the rest of the line
    let ex = p("[w1=ERROR, w2]").evaluate(SERVICE[3]).unwrap();
    assert_eq!(
        ex.get("w2"),
        Some("09/25/2014 12:00:02 Failed to process request")
    );
}

#[test]
fn doc_app_terms() {
    assert_eq!(hits(r#""[ERROR]""#, &APP), vec![2, 3]);
    assert_eq!(hits(r#""[ERROR]" Exception"#, &APP), vec![2]);
}

#[test]
fn doc_json_patterns_parse() {
    for s in [
        r#"{ $.eventType = "UpdateTrail" }"#,
        r#"{ $.sourceIPAddress != 123.123.* }"#,
        r#"{ $.arrayKey[0] = "value" }"#,
        r#"{ $.objectList[1].id = 2 }"#,
        r#"{ $.SomeObject IS NULL }"#,
        r#"{ $.SomeOtherObject NOT EXISTS }"#,
        r#"{ $.ThisFlag IS TRUE }"#,
        r#"{ $.latency >= 500 }"#,
        r#"{ $.numbers[0] < 10e3 }"#,
        r#"{ $.processes[4].averageRuntime <= 55.5 }"#,
        r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#,
        r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }"#,
    ] {
        assert_eq!(p(s).kind(), PatternKind::Json, "{s}");
    }
}

#[test]
fn doc_json_patterns_evaluate() {
    let ev = r#"{"eventType":"UpdateTrail","sourceIPAddress":"123.123.0.1","arrayKey":["value","another"],
        "objectList":[{"id":1},{"id":2}],"SomeObject":null,"ThisFlag":true,"latency":500,
        "numbers":[9999.5,1],"processes":[{},{},{},{},{"averageRuntime":55.5}],
        "user":{"id":1,"email":"John.Stiles@example.com"},"users":[{"email":"John.Doe@example.com"}],
        "coordinates":[[0,1]],"actions":["a","b","c"]}"#;
    for s in [
        r#"{ $.eventType = "UpdateTrail" }"#,
        r#"{ $.arrayKey[0] = "value" }"#,
        r#"{ $.objectList[1].id = 2 }"#,
        r#"{ $.SomeObject IS NULL }"#,
        r#"{ $.SomeOtherObject NOT EXISTS }"#,
        r#"{ $.ThisFlag IS TRUE }"#,
        r#"{ $.latency >= 500 }"#,
        r#"{ $.numbers[0] < 10e3 }"#,
        r#"{ $.processes[4].averageRuntime <= 55.5 }"#,
        r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#,
        r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }"#,
    ] {
        assert!(p(s).matches(ev), "{s} should match");
    }
    assert!(!p(r#"{ $.sourceIPAddress != 123.123.* }"#).matches(ev));
    assert!(p(r#"{ $.sourceIPAddress != 123.123.* }"#).matches(r#"{"sourceIPAddress":"10.0.0.1"}"#));
    // && binds tighter: a || (b && c)
    let prec = r#"{ $.a = 1 || $.b = 1 && $.c = 1 }"#;
    assert!(p(prec).matches(r#"{"a":1,"b":0,"c":0}"#));
    assert!(!p(prec).matches(r#"{"a":0,"b":1,"c":0}"#));
    assert!(p(prec).matches(r#"{"a":0,"b":1,"c":1}"#));
    let grouped = r#"{ ($.a = 1 || $.b = 1) && $.c = 1 }"#;
    assert!(!p(grouped).matches(r#"{"a":1,"b":0,"c":0}"#));
}

// ---------------------------------------------------------------- terms

#[test]
fn terms_semantics() {
    let evs = [
        "ERROR one",
        "TERROR two",
        "error three",
        "WARN four",
        "ERROR DEBUG five",
        "",
    ];
    assert_eq!(hits("ERROR", &evs), vec![1, 2, 5]); // case-sensitive substring
    assert_eq!(hits("ERROR -DEBUG", &evs), vec![1, 2]);
    assert_eq!(hits("DEBUG ERROR", &evs), vec![5]); // any order
    assert_eq!(hits("?ERROR ?WARN", &evs), vec![1, 2, 4, 5]);
    // mixing ? with plain or - terms: the ? terms are ignored
    assert_eq!(hits("?WARN ERROR", &evs), vec![1, 2, 5]);
    assert_eq!(hits("?WARN -ERROR", &evs), vec![3, 4, 6]);
    assert_eq!(hits(r#""ERROR DEBUG""#, &evs), vec![5]);
    assert_eq!(hits(r#"-"ERROR DEBUG""#, &evs), vec![1, 2, 3, 4, 6]);
    assert_eq!(hits(r#"?"four" ?"three""#, &evs), vec![3, 4]);
    // "" matches everything, " " messages with a space, empty pattern everything
    assert_eq!(hits(r#""""#, &evs), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(hits(r#"" ""#, &evs), vec![1, 2, 3, 4, 5]);
    assert_eq!(hits("", &evs), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(hits("   ", &evs), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(p("").kind(), PatternKind::Terms);
    // quoted terms may hold anything, including * literally and escaped quotes
    assert!(p(r#""a*b""#).matches("xa*by"));
    assert!(!p(r#""a*b""#).matches("axb"));
    assert!(p(r#""say \"hi\"""#).matches(r#"they say "hi" twice"#));
    assert!(p("under_score 42").matches("x under_score 42"));
    assert!(p("héllo").matches("say héllo"));
}

#[test]
fn terms_errors() {
    rejected("ERR*", &["Invalid character(s) in term '*'", "position 3"]);
    assert_eq!(err("ERR*").position(), Some(3));
    rejected("a.b", &["Invalid character(s) in term '.'", "position 1"]);
    rejected(
        "ok foo-bar",
        &["Invalid character(s) in term '-'", "position 6"],
    );
    rejected("x:y=z", &["Invalid character(s) in term ':='"]);
    rejected(r#""unterminated"#, &["unbalanced '\"'", "position 0"]);
    rejected("-", &["prefix must be followed by a term"]);
    rejected("? x", &["prefix must be followed by a term"]);
    rejected(r#""a"b"#, &["whitespace after a quoted term"]);
    rejected("}", &["unbalanced '}'"]);
    rejected("]", &["unbalanced ']'"]);
}

// ---------------------------------------------------------------- regex

#[test]
fn regex_standalone() {
    let evs = ["ERROR 500 on /api", "INFO 200 on /api", "error 404"];
    assert_eq!(hits("%ERROR%", &evs), vec![1]); // unanchored, case-sensitive
    assert_eq!(hits(r"%\d{3}%", &evs), vec![1, 2, 3]);
    assert_eq!(hits("%^INFO%", &evs), vec![2]);
    assert_eq!(hits("%404$%", &evs), vec![3]);
    assert_eq!(hits(r"%^error\s404$%", &evs), vec![3]);
    assert_eq!(hits("%ERROR|INFO%", &evs), vec![1, 2]);
    assert_eq!(hits(r"%\s/api$%", &evs), vec![1, 2]);
    assert_eq!(hits("%[eE][rR]{2}or%", &evs), vec![3]);
    assert_eq!(p("%a%").kind(), PatternKind::Regex);
    assert!(p(r"%\w+\.\w+@example\.com%").matches("mail a.b@example.com"));
    assert!(p(r"%\x41B%").matches("xAB"));
}

#[test]
fn regex_errors() {
    rejected("%(a|b)%", &["'('", "parentheses", "position 1"]);
    rejected("%a)%", &["')'", "parentheses"]);
    rejected("%é%", &["'é'", "multi-byte"]);
    rejected("%a b%", &["invalid character ' '"]);
    rejected(r"%\b%", &["unsupported escape"]);
    rejected("%abc", &["unbalanced '%'", "position 0"]);
    rejected("%%", &["empty regex"]);
    rejected("%a% b", &["must stand alone"]);
    rejected("%[a-%", &["invalid regex"]);
    rejected(
        r#"{ $.a = %x% && $.b = %y% && $.c = %z% }"#,
        &["too many regular expressions", "'%z%'", "maximum is 2"],
    );
    rejected("[a=%x%, b=%y%, c=%z%]", &["too many regular expressions"]);
    // two are fine
    assert!(p(r#"{ $.a = %x% && $.b = %y% }"#).matches(r#"{"a":"x","b":"y"}"#));
}

// ---------------------------------------------------------------- JSON: operators

#[test]
fn json_string_equality_and_wildcards() {
    let ev = r#"{"errorCode":"Client.UnauthorizedOperation","name":"AccessDeniedException","s":"a b c","n":200}"#;
    let yes = [
        r#"{ $.errorCode = "*UnauthorizedOperation" }"#,
        r#"{ $.errorCode = Client.* }"#,
        r#"{ $.errorCode = "Client.UnauthorizedOperation" }"#,
        r#"{ $.errorCode = *Unauthorized* }"#,
        r#"{ $.errorCode = C*t.U*n }"#,
        r#"{ $.name = "AccessDenied*" }"#,
        r#"{ $.name = AccessDeniedException }"#,
        r#"{ $.s = "a b c" }"#,
        r#"{ $.s = * }"#,
        r#"{ $.n = * }"#,
        r#"{ $.s = "*" }"#,
        r#"{ $.s != "a b" }"#,
        r#"{ $.n = "200" }"#,
        r#"{ $.n = 2* }"#,
    ];
    for s in yes {
        assert!(p(s).matches(ev), "{s} should match");
    }
    let no = [
        r#"{ $.errorCode = "UnauthorizedOperation" }"#,
        r#"{ $.errorCode = client.* }"#,
        r#"{ $.name = "*Denied" }"#,
        r#"{ $.s = "a b" }"#,
        r#"{ $.s != * }"#,
        r#"{ $.s != "a b c" }"#,
        r#"{ $.missing = * }"#,
        r#"{ $.errorCode = C*x*n }"#,
    ];
    for s in no {
        assert!(!p(s).matches(ev), "{s} should not match");
    }
}

#[test]
fn json_numbers() {
    for v in ["1", "1.0", "1e0", "10e-1", "0.1e1"] {
        let ev = format!(r#"{{"v":{v}}}"#);
        for s in [
            "{ $.v = 1 }",
            "{ $.v = 1.0 }",
            "{ $.v = 1e0 }",
            "{ $.v >= 1 }",
            "{ $.v <= 1 }",
            "{ $.v > 0.5 }",
            "{ $.v < 2 }",
        ] {
            assert!(p(s).matches(&ev), "{s} on {ev}");
        }
        for s in ["{ $.v != 1 }", "{ $.v > 1 }", "{ $.v < 1 }", "{ $.v = 2 }"] {
            assert!(!p(s).matches(&ev), "{s} on {ev}");
        }
    }
    // negative numbers and exponents
    assert!(p("{ $.v < -5 }").matches(r#"{"v":-6}"#));
    assert!(p("{ $.v = -1.5e2 }").matches(r#"{"v":-150}"#));
    assert!(p("{ $.v != 1 }").matches(r#"{"v":2}"#));
    // `= 1` also matches the string "1"; ordering never matches strings
    assert!(p("{ $.v = 1 }").matches(r#"{"v":"1"}"#));
    assert!(!p("{ $.v = 1 }").matches(r#"{"v":"2"}"#));
    assert!(!p("{ $.v = 1 }").matches(r#"{"v":"one"}"#));
    assert!(p("{ $.v != 1 }").matches(r#"{"v":"one"}"#));
    assert!(!p("{ $.v != 1 }").matches(r#"{"v":"1"}"#));
    for s in ["{ $.v < 2 }", "{ $.v > 0 }", "{ $.v <= 1 }", "{ $.v >= 1 }"] {
        assert!(!p(s).matches(r#"{"v":"1"}"#), "{s}");
    }
    // ordering never matches booleans, null, arrays, objects, missing
    for ev in [
        r#"{"v":true}"#,
        r#"{"v":null}"#,
        r#"{"v":[1]}"#,
        r#"{"v":{"a":1}}"#,
        "{}",
    ] {
        for s in ["{ $.v < 2 }", "{ $.v >= 0 }", "{ $.v = 1 }", "{ $.v != 1 }"] {
            assert!(!p(s).matches(ev), "{s} on {ev}");
        }
    }
}

#[test]
fn json_bare_words_are_strings() {
    assert!(p("{ $.v = true }").matches(r#"{"v":"true"}"#));
    assert!(!p("{ $.v = true }").matches(r#"{"v":true}"#));
    assert!(!p("{ $.v = null }").matches(r#"{"v":null}"#));
    assert!(p("{ $.v = null }").matches(r#"{"v":"null"}"#));
    assert!(p("{ $.eventSource = kms.amazonaws.com }")
        .matches(r#"{"eventSource":"kms.amazonaws.com"}"#));
}

#[test]
fn json_is_true_false_null() {
    assert!(p("{ $.f IS TRUE }").matches(r#"{"f":true}"#));
    assert!(!p("{ $.f IS TRUE }").matches(r#"{"f":"true"}"#));
    assert!(!p("{ $.f IS TRUE }").matches(r#"{"f":false}"#));
    assert!(p("{ $.f IS FALSE }").matches(r#"{"f":false}"#));
    assert!(!p("{ $.f IS FALSE }").matches(r#"{"f":0}"#));
    assert!(!p("{ $.f IS FALSE }").matches(r#"{}"#));
    // IS NULL: null, or an array containing null; not a missing field
    assert!(p("{ $.n IS NULL }").matches(r#"{"n":null}"#));
    assert!(p("{ $.n IS NULL }").matches(r#"{"n":[1,null]}"#));
    assert!(!p("{ $.n IS NULL }").matches(r#"{"n":[1,[null]]}"#));
    assert!(!p("{ $.n IS NULL }").matches(r#"{"n":[]}"#));
    assert!(!p("{ $.n IS NULL }").matches(r#"{}"#));
    assert!(!p("{ $.n IS NULL }").matches(r#"{"n":"null"}"#));
    assert!(!p("{ $.a.n IS NULL }").matches(r#"{"a":null}"#));
    // keywords are case-insensitive
    assert!(p("{ $.f is true }").matches(r#"{"f":true}"#));
}

#[test]
fn json_not_exists() {
    let s = "{ $.a.b NOT EXISTS }";
    assert!(p(s).matches(r#"{}"#));
    assert!(p(s).matches(r#"{"a":{}}"#));
    assert!(p(s).matches(r#"{"a":null}"#)); // parent null
    assert!(p(s).matches(r#"{"a":"str"}"#)); // parent not an object
    assert!(p(s).matches(r#"{"a":[{"b":1}]}"#)); // parent an array
    assert!(!p(s).matches(r#"{"a":{"b":null}}"#)); // present with null: exists
    assert!(!p(s).matches(r#"{"a":{"b":1}}"#));
    assert!(p("{ $.a[3] NOT EXISTS }").matches(r#"{"a":[1,2]}"#));
    assert!(!p("{ $.a[1] NOT EXISTS }").matches(r#"{"a":[1,2]}"#));
    assert!(p("{ $.a[0] NOT EXISTS }").matches(r#"{"a":{"0":1}}"#));
}

#[test]
fn json_not_equal_corners() {
    let s = r#"{ $.v != "x" }"#;
    assert!(p(s).matches(r#"{"v":"y"}"#));
    assert!(p(s).matches(r#"{"v":""}"#));
    assert!(p(s).matches(r#"{"v":5}"#));
    for ev in [
        r#"{}"#,
        r#"{"v":null}"#,
        r#"{"v":true}"#,
        r#"{"v":false}"#,
        r#"{"v":["y"]}"#,
        r#"{"v":{"a":"y"}}"#,
        r#"{"v":"x"}"#,
    ] {
        assert!(!p(s).matches(ev), "{s} on {ev}");
    }
    // a selector landing on an array/object matches neither = nor !=
    for s in [r#"{ $.v = "y" }"#, r#"{ $.v = * }"#, r#"{ $.v != "zzz" }"#] {
        assert!(!p(s).matches(r#"{"v":["y"]}"#), "{s}");
        assert!(!p(s).matches(r#"{"v":{"k":"y"}}"#), "{s}");
    }
}

#[test]
fn json_non_object_messages_never_match() {
    for pat in [
        "{ $.a NOT EXISTS }",
        "{ $.a != 1 }",
        "{ $.a IS NULL }",
        "{ $.a = * }",
        "{ $.* NOT EXISTS }",
    ] {
        for msg in [
            "",
            "  ",
            "null",
            "[]",
            "[{\"a\":1}]",
            "\"str\"",
            "42",
            "true",
            "not json",
            "{\"a\":1",
            "{\"b\":1} trailing",
            "{\"b\":}",
        ] {
            assert!(!p(pat).matches(msg), "{pat} on {msg:?}");
        }
    }
    // but surrounding whitespace is fine
    assert!(p("{ $.a NOT EXISTS }").matches(" \n{\"b\":1}\n "));
}

#[test]
fn json_duplicate_keys_last_wins() {
    assert!(p("{ $.a = 2 }").matches(r#"{"a":1,"a":2}"#));
    assert!(!p("{ $.a = 1 }").matches(r#"{"a":1,"a":2}"#));
    assert!(p("{ $.a.b NOT EXISTS }").matches(r#"{"a":{"b":1},"a":{"c":1}}"#));
    assert!(p("{ $.a.b = 1 }").matches(r#"{"a":{"b":0,"b":1}}"#));
    assert!(!p("{ $.a IS NULL }").matches(r#"{"a":null,"a":3}"#));
    // escaped spelling of the same key is the same key
    assert!(p("{ $.a = 2 }").matches(r#"{"a":1,"\u0061":2}"#));
}

#[test]
fn json_selectors() {
    let ev = r#"{"a":{"b":{"c":"deep"}},"arr":[[1,2],[3,"x"]],"key.with.dots":"dotted","k":{"in.ner":5},
                 "objs":[{"id":1},{"id":2}],"m":{"x":"one","y":"two"},"x-amz-id":"dash"}"#;
    let yes = [
        r#"{ $.a.b.c = "deep" }"#,
        r#"{ $.arr[1][1] = "x" }"#,
        r#"{ $.arr[0][0] = 1 }"#,
        r#"{ $.['key.with.dots'] = "dotted" }"#,
        r#"{ $['key.with.dots'] = "dotted" }"#,
        r#"{ $.k.['in.ner'] = 5 }"#,
        r#"{ $.k["in.ner"] = 5 }"#,
        r#"{ $.objs[*].id = 2 }"#,
        r#"{ $.m[*] = "two" }"#,
        r#"{ $.m.* = "one" }"#,
        r#"{ $.* = "dotted" }"#,
        r#"{ $.arr[*][0] = 3 }"#,
        r#"{ $.x-amz-id = dash }"#,
    ];
    for s in yes {
        assert!(p(s).matches(ev), "{s} should match");
    }
    let no = [
        r#"{ $.a.b = "deep" }"#,
        r#"{ $.arr[2][0] = 1 }"#,
        r#"{ $.key.with.dots = "dotted" }"#,
        r#"{ $.objs[*].id = 3 }"#,
        r#"{ $.m[*] = "three" }"#,
        r#"{ $.* = "deep" }"#,
    ];
    for s in no {
        assert!(!p(s).matches(ev), "{s} should not match");
    }
    // wildcard semantics: any element; NOT EXISTS when nothing resolves
    assert!(p("{ $.l[*] NOT EXISTS }").matches(r#"{"l":[]}"#));
    assert!(!p("{ $.l[*] NOT EXISTS }").matches(r#"{"l":[1]}"#));
    assert!(p("{ $.l[*] IS NULL }").matches(r#"{"l":[1,null]}"#));
    assert!(p("{ $.l[*] > 5 }").matches(r#"{"l":[1,9]}"#));
    assert!(!p("{ $.l[*] > 9 }").matches(r#"{"l":[1,9]}"#));
    // last duplicate wins under a wildcard too
    assert!(!p(r#"{ $.m.* = "one" }"#).matches(r#"{"m":{"x":"one","x":"uno"}}"#));
}

#[test]
fn json_string_escapes() {
    assert!(p(r#"{ $.s = "a\"b" }"#).matches(r#"{"s":"a\"b"}"#));
    assert!(p(r#"{ $.s = "é" }"#).matches(r#"{"s":"\u00e9"}"#));
    assert!(p(r#"{ $.s = "a/b" }"#).matches(r#"{"s":"a\/b"}"#));
    assert!(p(r#"{ $.s = "line*" }"#).matches(r#"{"s":"line\nnext"}"#));
    assert!(p(r#"{ $.s = "😀" }"#).matches(r#"{"s":"\ud83d\ude00"}"#));
    assert!(!p(r#"{ $.s = "a\\b" }"#).matches(r#"{"s":"a\"b"}"#));
    assert!(p(r#"{ $.s = "a\\b" }"#).matches(r#"{"s":"a\\b"}"#));
    // keys with escapes
    assert!(p(r#"{ $.['a"b'] = 1 }"#).matches(r#"{"a\"b":1}"#));
    // regex sees the unescaped value (3 characters, not 8)
    assert!(p(r#"{ $.s = %^a.b$% }"#).matches(r#"{"s":"a\u0021b"}"#));
}

#[test]
fn json_regex_values() {
    let ev = r#"{"ip":"10.0.3.7","code":404,"s":"AccessDenied"}"#;
    assert!(p(r#"{ $.ip = %^10\.0\.\d+\.\d+$% }"#).matches(ev));
    assert!(!p(r#"{ $.ip = %^192% }"#).matches(ev));
    assert!(p(r#"{ $.ip != %^192% }"#).matches(ev));
    assert!(p(r#"{ $.code = %^4\d\d$% }"#).matches(ev));
    assert!(p(r#"{ $.s = %Denied$% }"#).matches(ev));
    assert!(!p(r#"{ $.missing != %x% }"#).matches(ev));
    assert!(p(r#"{ $.s = %^A[a-z]+D% }"#).matches(r#"{"s":"Access\u0044enied"}"#));
}

#[test]
fn json_errors() {
    rejected(
        "{ $.a EXISTS }",
        &["'EXISTS' is not supported", "position 6"],
    );
    rejected("{ $.a IS NOT NULL }", &["'IS NOT' is not supported"]);
    rejected("{ $.a == 1 }", &["'==' is not an operator", "position 6"]);
    rejected("{ !($.a = 1) }", &["negation", "position 2"]);
    rejected(
        "{ $.a = 1 AND $.b = 2 }",
        &["'AND' is not an operator", "position 10"],
    );
    rejected("{ $.a = 1 or $.b = 2 }", &["'or' is not an operator"]);
    rejected("{ $.a = 1 & $.b = 2 }", &["expected '&&' or '||'"]);
    rejected(
        "{ $.a = 1",
        &["unbalanced '{'", "missing '}'", "position 0"],
    );
    rejected("{ ($.a = 1 }", &["unbalanced '('", "position 2"]);
    rejected("{ $.a = 1) }", &["unbalanced ')'"]);
    rejected("{ $.a[0 = 1 }", &["unbalanced '['", "position 5"]);
    rejected("{ $.['a = 1 }", &["unbalanced '''"]);
    rejected("{}", &["empty JSON pattern"]);
    rejected("{ }", &["empty JSON pattern"]);
    rejected("{ $.a = 1 } x", &["after the closing '}'"]);
    rejected("{ $.a }", &["expected an operator"]);
    rejected("{ $.a = }", &["expected a value"]);
    rejected("{ $.a < abc }", &["needs a number", "'abc'"]);
    rejected(r#"{ $.a > "5" }"#, &["needs a number"]);
    rejected("{ $.a >= * }", &["needs a number"]);
    rejected("{ $.a IS MAYBE }", &["expected TRUE, FALSE or NULL"]);
    rejected("{ $.a NOT THERE }", &["expected EXISTS"]);
    rejected("{ a = 1 }", &["expected a selector"]);
    rejected("{ $ = 1 }", &["at least one member"]);
    rejected("{ $. = 1 }", &["member name"]);
    rejected("{ $.a* = 1 }", &["invalid character in selector"]);
    rejected("{ $.a[x] = 1 }", &["expected an index"]);
    rejected("{ $.a =< 1 }", &["invalid value"]);
    rejected("{ $.a <> 1 }", &["invalid operator"]);
    rejected("{ $.a = 1 && }", &["expected a selector"]);
    rejected("{ $.a = 1 $.b = 2 }", &["expected '&&', '||' or '}'"]);
    // wildcard quotas
    rejected(
        "{ $.a[*].b[*] = 1 }",
        &[
            "too many wildcards in selector '$.a[*].b[*]'",
            "maximum is 1",
        ],
    );
    rejected("{ $.*.x[*] = 1 }", &["too many wildcards in selector"]);
    rejected(
        "{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }",
        &[
            "too many wildcards in the pattern",
            "'$.d[*]'",
            "maximum is 3",
        ],
    );
    assert!(FilterPattern::parse("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 }").is_ok());
    // nesting
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(100), ")".repeat(100));
    rejected(&deep, &["nested too deeply"]);
    let ok = format!("{{ {}$.a = 1{} }}", "(".repeat(60), ")".repeat(60));
    assert!(p(&ok).matches(r#"{"a":1}"#));
}

#[test]
fn length_limit() {
    let ok = format!("\"{}\"", "a".repeat(1022));
    assert_eq!(ok.chars().count(), 1024);
    assert!(FilterPattern::parse(&ok).is_ok());
    let long = format!("\"{}\"", "a".repeat(1023));
    rejected(&long, &["too long", "1025 characters", "maximum is 1024"]);
    // characters, not bytes
    let wide = format!("\"{}\"", "é".repeat(1022));
    assert!(FilterPattern::parse(&wide).is_ok());
}

// ---------------------------------------------------------------- space-delimited

#[test]
fn space_operators() {
    let evs = [
        "GET /a 200 12",
        "GET /b 404 0",
        "POST /c 410 7",
        "PUT /d 500 1200",
        "GET /e abc 3",
    ];
    assert_eq!(
        hits("[m, u, status = 404 || status = 410, size]", &evs),
        vec![2, 3]
    );
    assert_eq!(
        hits("[m, u, status >= 400 && status < 500, size]", &evs),
        vec![2, 3]
    );
    assert_eq!(hits("[m, u, status > 300, size]", &evs), vec![2, 3, 4]);
    assert_eq!(hits("[m, u, status <= 200, size]", &evs), vec![1]);
    assert_eq!(hits("[m, u, status != 200, size]", &evs), vec![2, 3, 4, 5]);
    assert_eq!(hits("[m, u, status = 4*, size]", &evs), vec![2, 3]);
    assert_eq!(hits("[m=GET, ...]", &evs), vec![1, 2, 5]);
    assert_eq!(hits("[m=P*, u, ...]", &evs), vec![3, 4]);
    assert_eq!(hits("[m, u=%^/[a-c]$%, ...]", &evs), vec![1, 2, 3]);
    assert_eq!(hits("[m, u != %^/[a-c]$%, ...]", &evs), vec![4, 5]);
    assert_eq!(hits("[m, u, status = *, size > 10]", &evs), vec![1, 4]);
    assert_eq!(hits(r#"[m = "GET", ...]"#, &evs), vec![1, 2, 5]);
    assert_eq!(hits("[..., size = 0]", &evs), vec![2]);
    assert_eq!(hits("[m, ..., size = 0]", &evs), vec![2]);
    assert_eq!(hits("[..., status=500, ...]", &evs), vec![4]);
    // more pattern fields than message fields: no match
    assert_eq!(hits("[a, b, c, d, e]", &evs), Vec::<usize>::new());
    // a numeric test on text never matches, != does
    assert_eq!(
        hits("[m, u, status < 1000, size]", &["GET /e abc 3"]),
        Vec::<usize>::new()
    );
    // numeric equality across notations
    assert_eq!(
        hits("[a = 1, b]", &["1.0 x", "1e0 y", "01 z", "2 w"]),
        vec![1, 2, 3]
    );
}

#[test]
fn space_fields_and_extraction() {
    let ex = p("[a, b, c]")
        .evaluate(r#"x "quoted field" [bracketed one] trailing"#)
        .unwrap();
    assert_eq!(ex.get("a"), Some("x"));
    assert_eq!(ex.get("b"), Some("quoted field"));
    assert_eq!(ex.get("c"), Some("[bracketed one] trailing"));
    let ex = p("[a, b, c]")
        .evaluate(r#"x "quoted field" [bracketed one]"#)
        .unwrap();
    assert_eq!(ex.get("c"), Some("bracketed one"));
    // whitespace runs and tabs
    let ex = p("[a, b]").evaluate("  one \t two  ").unwrap();
    assert_eq!(ex.get("a"), Some("one"));
    assert_eq!(ex.get("b"), Some("two"));
    // ellipsis fields reported by position
    let ex = p("[first, ..., last]").evaluate("a b c d").unwrap();
    let got: Vec<(&str, &str)> = ex.iter().collect();
    assert_eq!(
        got,
        vec![("$first", "a"), ("$2", "b"), ("$3", "c"), ("$last", "d")]
    );
    // no match gives None
    assert!(p("[a=zzz, b]").evaluate("a b").is_none());
    // term and JSON patterns extract nothing
    assert_eq!(p("ERROR").evaluate("ERROR x").map(|e| e.len()), Some(0));
    assert_eq!(
        p("{ $.a = 1 }")
            .evaluate(r#"{"a":1}"#)
            .map(|e| e.is_empty()),
        Some(true)
    );
    assert!(p("{ $.a = 1 }").evaluate(r#"{"a":2}"#).is_none());
}

#[test]
fn space_errors() {
    rejected("[a, b", &["unbalanced '['", "missing ']'", "position 0"]);
    rejected("[a, b,", &["unbalanced '['"]);
    rejected("[a,, b]", &["expected a field name"]);
    rejected("[a == 1]", &["'==' is not an operator"]);
    rejected("[a = 1 || b = 2]", &["must test 'a'", "'b'"]);
    rejected("[a < x]", &["needs a number"]);
    rejected("[a = ]", &["expected a value"]);
    rejected("[a] x", &["after the closing ']'"]);
    rejected("[a ~ 1]", &["expected an operator"]);
    rejected("[a = %(x)%]", &["parentheses"]);
    rejected(r#"[a = "x]"#, &["unbalanced '\"'"]);
}

// ---------------------------------------------------------------- sets and test-metric-filter

#[test]
fn filter_set_matches_each_pattern() {
    let pats = [
        r#"{ $.eventName = "StopLogging" }"#,
        r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }"#,
        "StopLogging",
        "%Root%",
        "[a, ...]",
        r#"{ $.eventName = Stop* || $.errorCode = "AccessDenied" }"#,
        r#"{ $.tags[*] = "x" }"#,
        r#"{ $.userIdentity.* = "Root" }"#,
    ];
    let set: FilterSet = pats.iter().map(|s| p(s)).collect();
    assert_eq!(set.len(), pats.len());
    let msgs = [
        r#"{"eventName":"StopLogging","userIdentity":{"type":"Root"},"tags":["y","x"]}"#,
        r#"{"eventName":"StartLogging","userIdentity":{"type":"Root","invokedBy":"svc"},"errorCode":"AccessDenied"}"#,
        r#"{"eventName":"StopLogging","eventName":"Other"}"#,
        "plain text StopLogging Root",
        "[1,2]",
    ];
    for m in msgs {
        let got: Vec<usize> = set.matching(m).iter().collect();
        let want: Vec<usize> = pats
            .iter()
            .enumerate()
            .filter(|(_, s)| p(s).matches(m))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, want, "{m}");
    }
    assert_eq!(
        set.matching(msgs[0]).iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        set.matching(msgs[3]).iter().collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[test]
fn test_metric_filter_output() {
    let out = test_metric_filter(
        "[ip, identity, user_id, timestamp, request, status_code=500, size]",
        &APACHE,
    )
    .unwrap();
    assert_eq!(
        out,
        serde_json::json!({"matches":[{"eventNumber":2,"eventMessage":APACHE[1],"extractedValues":{
            "$ip":"127.0.0.1","$identity":"-","$user_id":"frank","$timestamp":"10/Oct/2000:13:35:22 -0700",
            "$request":"GET /apache_pb.gif HTTP/1.0","$status_code":"500","$size":"5324"}}]})
    );
    let out = test_metric_filter(r#"{ $.a = 1 }"#, &[r#"{"a":1}"#, "x", r#"{"a":1.0}"#]).unwrap();
    assert_eq!(
        out,
        serde_json::json!({"matches":[
            {"eventNumber":1,"eventMessage":"{\"a\":1}","extractedValues":{}},
            {"eventNumber":3,"eventMessage":"{\"a\":1.0}","extractedValues":{}}]})
    );
    let out = test_metric_filter("[]", &["a b"]).unwrap();
    assert_eq!(
        out["matches"][0]["extractedValues"],
        serde_json::json!({"$1":"a","$2":"b"})
    );
    assert_eq!(
        test_metric_filter("nothing", &["x"]).unwrap(),
        serde_json::json!({"matches":[]})
    );
    assert!(test_metric_filter("ERR*", &["x"]).is_err());
}
