//! The bodies of the cargo-fuzz targets in `fuzz/` (one `pub fn` per target, taking the raw
//! input bytes), kept here so that the fuzz targets are one-line wrappers and the regression
//! test (`shared/tests/fuzz_corpus.rs`) runs every committed corpus file and crash reproducer
//! through exactly the same code on stable Rust.
//!
//! Every function returns normally for any input: bad input must come back as an error from
//! the library, never as a panic. Beyond "does not panic", each target checks properties that
//! must hold for every input (the `assert!`s below are the properties: a failing one is a bug):
//!
//! * `filter_pattern`: a pattern that parses keeps its text (`Display` round trip) and parses
//!   again to the same kind; errors name a position inside the pattern; the pattern gives the
//!   same answer alone, through [`FilterSet`] and through `evaluate`, on a set of probe messages.
//! * `filter_match`: pattern (first line) and message (the rest): the single pattern, a
//!   [`FilterSet`] holding it with the 15 CIS filters, and [`FilterSet::for_each_record`] over the
//!   message as a log file all agree, record by record.
//! * `log_file`: what the validator, the digest signer, the alerting function and `deliver` read
//!   from a delivered `.json.gz`: decompression stays within its limit, compress/decompress round
//!   trips, the signer's hash is the hash of the decompressed bytes, a well-formed
//!   `{"Records":[...]}` file is walked record by record with the right count.
//! * `digest`: parse → serialize → parse is stable; a parsed digest parses again from its gzip.
//! * `config_item`: configuration items and Config rule events (both encodings) give the same
//!   result from the borrowed and the owned paths, and from the one-pass reader and the JSON
//!   tree; offline evaluation with every rule.
//! * `events`: the first byte picks the parser: `S` SQS body (log-delivery, then the files it
//!   would write: keys stay inside the trail layout), `C` Config rule event, `R` remediator
//!   EventBridge event, `A` alerting event (S3 notification, EventBridge Object Created,
//!   subscription), `L` CloudWatch Logs subscription data (the decoded JSON, gzipped and base64'd
//!   here so the fuzzer reaches the JSON).

use std::sync::OnceLock;

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::alerting::{decode_s3_key, filters::Engine, Alerting, AlertingConfig};
use crate::config::{
    evaluate_document, list_rules, ConfigRuleEvent, ConfigurationItem, InvokingEvent,
};
use crate::delivery::{parse_messages, prepare_files, DeliveryConfig, Message};
use crate::digest::{self, parse_digest, parse_digest_json, sha256_hex};
use crate::filter::{cis, FilterPattern, FilterSet, MatchSet, Scratch};
use crate::gz::{self, GzError};
use crate::layout::{check_account_id, check_region, TrailLocation};
use crate::record::{parse_body, parse_ndjson};
use crate::remediation::parse_event;
use crate::rules::RuleExt;
use crate::store::{MemoryStore, ObjectStore, Put};

/// A target's body: takes the raw input, panics only on a bug.
pub type TargetFn = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/` and `fuzz/regressions/`) and
/// its function.
pub const TARGETS: &[(&str, TargetFn)] = &[
    ("filter_pattern", filter_pattern),
    ("filter_match", filter_match),
    ("log_file", log_file),
    ("digest", digest),
    ("config_item", config_item),
    ("events", events),
];

/// Decompression limit used by the targets (small, so that a bomb is refused quickly).
pub const FUZZ_MAX_DECOMPRESSED: u64 = 1 << 20;

const BUCKET: &str = "trail-bucket";
const LOG_KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1200Z_0123456789abcdef.json.gz";

/// Messages every parsed pattern is evaluated against in `filter_pattern`.
const PROBES: &[&str] = &[
    "",
    "ERROR Exception in thread main",
    "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326",
    r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","invokedBy":null},"eventTime":"2024-05-01T12:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","errorCode":"AccessDenied","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"requestParameters":{"groupId":"sg-1"}}"#,
    r#"{"a":[1,2.0,{"b":null,"c":true}],"d":1e0,"e":"x y","f":[],"g":{},"h":-0.5,"a":"dup"}"#,
    "[1, 2]",
    "{\"unterminated\": ",
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0)
        .single()
        .unwrap_or_default()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn cis_set() -> &'static FilterSet {
    static SET: OnceLock<FilterSet> = OnceLock::new();
    SET.get_or_init(cis::filter_set)
}

fn alerting_engine() -> &'static (AlertingConfig, Engine) {
    static ENGINE: OnceLock<(AlertingConfig, Engine)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut cfg = AlertingConfig::new(BUCKET, "us-east-1");
        cfg.max_decompressed = FUZZ_MAX_DECOMPRESSED;
        let engine = match cfg.engine() {
            Ok(e) => e,
            Err(e) => panic!("the built-in CIS engine must compile: {e}"),
        };
        (cfg, engine)
    })
}

/// The pattern gives the same answer through every evaluation path.
fn check_agreement(p: &FilterPattern, index: usize, out: &MatchSet, msg: &[u8]) {
    let alone = p.matches_bytes(msg);
    assert_eq!(
        p.evaluate_bytes(msg).is_some(),
        alone,
        "evaluate and matches disagree for pattern {:?} on {:?}",
        p.as_str(),
        String::from_utf8_lossy(msg)
    );
    let mut dirty = Scratch::default();
    // A scratch that has already served another message must not change the answer.
    let _ = p.matches_with(PROBES[3].as_bytes(), &mut dirty);
    assert_eq!(p.matches_with(msg, &mut dirty), alone);
    assert_eq!(
        out.contains(index),
        alone,
        "FilterSet and the single pattern disagree for {:?} on {:?}",
        p.as_str(),
        String::from_utf8_lossy(msg)
    );
}

/// `filter_pattern`: any text as a filter pattern.
pub fn filter_pattern(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match FilterPattern::parse(text) {
        Ok(p) => {
            assert_eq!(
                p.to_string(),
                text,
                "Display must give back the pattern text"
            );
            let again = match FilterPattern::parse(&p.to_string()) {
                Ok(a) => a,
                Err(e) => panic!("{text:?} parsed once but not from its Display: {e}"),
            };
            assert_eq!(again.kind(), p.kind());
            assert_eq!(again, p);
            let mut set = FilterSet::new();
            set.push(p.clone());
            let mut scratch = Scratch::default();
            let mut out = MatchSet::default();
            for m in PROBES {
                set.matches_into(m.as_bytes(), &mut scratch, &mut out);
                check_agreement(&p, 0, &out, m.as_bytes());
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error must say something");
            if let Some(pos) = e.position() {
                assert!(
                    pos <= text.chars().count(),
                    "error position {pos} is outside the pattern {text:?}: {e}"
                );
            }
        }
    }
}

/// `filter_match`: `pattern \n message`.
pub fn filter_match(data: &[u8]) {
    let (pattern, message) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return;
    };
    let Ok(p) = FilterPattern::parse(pattern) else {
        return;
    };
    // The pattern among the CIS filters: one scan serves every JSON pattern of the set.
    let mut set = FilterSet::new();
    for q in cis_set().patterns() {
        set.push(q.clone());
    }
    let idx = set.push(p.clone());
    let mut scratch = Scratch::default();
    let mut out = MatchSet::default();
    set.matches_into(message, &mut scratch, &mut out);
    for (i, q) in set.patterns().iter().enumerate() {
        check_agreement(q, i, &out, message);
    }
    assert_eq!(idx, set.len() - 1);
    // The message as a log file: each record's matches are the record's own matches.
    let mut records = 0usize;
    let walked = set.for_each_record(message, &mut scratch, |n, record, m| {
        assert_eq!(n, records);
        records += 1;
        for (i, q) in set.patterns().iter().enumerate() {
            assert_eq!(
                m.contains(i),
                q.matches_bytes(record),
                "in a log file, pattern {:?} disagrees with itself on record {:?}",
                q.as_str(),
                String::from_utf8_lossy(record)
            );
        }
    });
    if let Ok(n) = walked {
        assert_eq!(n, records);
    }
}

/// `log_file`: a delivered log file's bytes (gzip; anything else is taken as the uncompressed
/// document and compressed here, so the JSON readers see the fuzzer's bytes directly).
pub fn log_file(data: &[u8]) {
    let (gzipped, document): (Vec<u8>, Option<Vec<u8>>) = if gz::is_gzip(data) {
        let mut streamed = 0u64;
        let via_sink = gz::decompress_with(data, FUZZ_MAX_DECOMPRESSED, |c| {
            streamed += c.len() as u64;
        });
        match gz::decompress(data, FUZZ_MAX_DECOMPRESSED) {
            Ok(d) => {
                assert!(d.len() as u64 <= FUZZ_MAX_DECOMPRESSED);
                assert!(
                    matches!(via_sink, Ok(n) if n == d.len() as u64 && n == streamed),
                    "decompress and decompress_with disagree"
                );
                (data.to_vec(), Some(d))
            }
            Err(e) => {
                if let GzError::TooLarge(limit) = e {
                    assert_eq!(limit, FUZZ_MAX_DECOMPRESSED);
                }
                assert!(
                    via_sink.is_err(),
                    "decompress failed but decompress_with did not"
                );
                (data.to_vec(), None)
            }
        }
    } else {
        let gzipped = gz::compress(data, 1);
        let back = gz::decompress(&gzipped, data.len() as u64 + 1);
        assert!(
            matches!(&back, Ok(b) if b == data),
            "compress/decompress does not round trip"
        );
        let mut enc = gz::Encoder::new(64, 1);
        for chunk in data.chunks(7) {
            enc.write(chunk);
        }
        assert!(
            matches!(gz::decompress(&enc.finish(), data.len() as u64 + 1), Ok(b) if b == data),
            "the incremental encoder does not round trip"
        );
        (gzipped, Some(data.to_vec()))
    };

    let store = MemoryStore::new();
    store.set_now(Some(now()));
    let put = Put {
        body: gzipped,
        ..Put::default()
    };
    if block_on(store.put(BUCKET, LOG_KEY, put)).is_err() {
        panic!("the memory store refused a first write");
    }

    // The digest signer: the hash of the uncompressed bytes, the event time range.
    match block_on(digest::hash_log_file(
        &store,
        BUCKET,
        LOG_KEY,
        FUZZ_MAX_DECOMPRESSED,
    )) {
        Ok((entry, newest, oldest)) => {
            let doc = document
                .as_deref()
                .unwrap_or_else(|| panic!("the signer read a file that does not decompress"));
            assert_eq!(entry.hash_value, sha256_hex(doc));
            if let (Some(n), Some(o)) = (newest, oldest) {
                assert!(o <= n, "oldest event after newest");
            }
        }
        Err(e) => assert!(document.is_none(), "signer refused a readable file: {e}"),
    }

    // The alerting function, reading the object as after an S3 notification.
    let (cfg, engine) = alerting_engine();
    let alerting = Alerting {
        store: &store,
        notifier: None,
        engine,
        config: cfg,
    };
    let report = block_on(alerting.process_log_file(BUCKET, LOG_KEY, now()));
    assert!(
        report.errors.is_empty(),
        "store errors: {:?}",
        report.errors
    );

    let Some(doc) = document else {
        assert_eq!(
            report.bad_inputs.len(),
            1,
            "an unreadable file is one bad input"
        );
        return;
    };
    // A well-formed CloudTrail file is walked record by record.
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(rename = "Records")]
        records: Vec<serde_json::Map<String, Value>>,
    }
    let mut scratch = Scratch::default();
    let walked = cis_set().for_each_record(&doc, &mut scratch, |_, _, _| {});
    if let Ok(file) = serde_json::from_slice::<File>(&doc) {
        assert_eq!(
            walked.as_ref().ok(),
            Some(&file.records.len()),
            "a valid Records file was not walked record by record: {walked:?}"
        );
        assert!(report.bad_inputs.is_empty(), "{:?}", report.bad_inputs);
        assert_eq!(report.records, file.records.len());
    }
    let (newest, oldest) = digest::event_time_range(&doc);
    assert_eq!(newest.is_some(), oldest.is_some());

    // `trailwarden deliver FILE`: the same file as records to deliver.
    if let Ok(text) = std::str::from_utf8(&doc) {
        let _ = parse_body(text);
        let _ = parse_ndjson(text);
    }
}

/// `digest`: a digest file (gzip, or its uncompressed JSON).
pub fn digest(data: &[u8]) {
    let json = if gz::is_gzip(data) {
        match parse_digest(data, FUZZ_MAX_DECOMPRESSED) {
            Ok((d, raw)) => {
                match parse_digest_json(&raw) {
                    Ok(again) => assert_eq!(again, d),
                    Err(e) => panic!("parse_digest accepted what parse_digest_json refuses: {e}"),
                }
                raw
            }
            Err(_) => return,
        }
    } else {
        data.to_vec()
    };
    let Ok(d) = parse_digest_json(&json) else {
        return;
    };
    let first = match serde_json::to_vec(&d) {
        Ok(s) => s,
        Err(e) => panic!("a parsed digest does not serialize: {e}"),
    };
    let again = match parse_digest_json(&first) {
        Ok(a) => a,
        Err(e) => panic!("a serialized digest does not parse: {e}"),
    };
    assert_eq!(again, d, "digest parse → serialize → parse changed it");
    assert_eq!(serde_json::to_vec(&again).ok().as_deref(), Some(&first[..]));
    match parse_digest(&gz::compress(&first, 1), FUZZ_MAX_DECOMPRESSED) {
        Ok((from_gz, raw)) => {
            assert_eq!(from_gz, d);
            assert_eq!(raw, first);
        }
        Err(e) => panic!("a serialized digest does not parse from gzip: {e}"),
    }
    // What the validator computes from a digest before trusting it.
    let _ = digest::data_to_sign(
        &d.digest_end_time,
        &d.digest_s3_bucket,
        &d.digest_s3_object,
        &json,
        d.previous_digest_signature.as_deref(),
    );
    let _ = crate::layout::parse_time(&d.digest_start_time);
    let _ = crate::layout::parse_time(&d.digest_end_time);
    let _ = crate::layout::digest_key_time(&d.digest_s3_object);
}

/// `config_item`: a configuration item (notification or API encoding), a Config rule event, or
/// any document `trailwarden evaluate-rule` accepts.
pub fn config_item(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The one-pass reader (tried first) and the JSON-tree path give the same event or the same
    // error.
    match (
        ConfigRuleEvent::from_json(text),
        ConfigRuleEvent::from_json_tree(text),
    ) {
        (Ok(a), Ok(b)) => {
            // Every item rule decides the same on both items, each time on a freshly read event
            // (its configuration still text, so the rules read it as they do in the Lambda).
            if let InvokingEvent::Change {
                item: tree_item, ..
            } = &b.invoking_event
            {
                for rule in crate::rules::all().iter().filter(|r| !r.is_account_rule()) {
                    let Ok(params) = rule.parse_params(&Default::default()) else {
                        continue;
                    };
                    let fresh = ConfigRuleEvent::from_json(text);
                    if let Ok(InvokingEvent::Change { item, .. }) = fresh.map(|e| e.invoking_event)
                    {
                        assert_eq!(
                            rule.evaluate(&item, &params),
                            rule.evaluate(tree_item, &params),
                            "{} decides differently on the one-pass item",
                            rule.name()
                        );
                    }
                }
            }
            assert_eq!(a, b, "one-pass reader and JSON tree disagree");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("one-pass reader and JSON tree disagree: {a:?} vs {b:?}"),
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        assert!(ConfigurationItem::from_json(text).is_err());
        assert!(ConfigRuleEvent::from_json(text).is_err());
        return;
    };
    let borrowed = ConfigurationItem::from_value(&v);
    let owned = ConfigurationItem::from_owned(v.clone());
    match (&borrowed, &owned) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "borrowed and owned item parsing disagree");
            let _ = a.display_name();
            let _ = serde_json::to_string(a);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("borrowed and owned item parsing disagree: {borrowed:?} vs {owned:?}"),
    }
    let _ = crate::config::ItemSummary::from_value(&v);
    let borrowed = ConfigRuleEvent::from_value(&v);
    let owned = ConfigRuleEvent::from_owned(v.clone());
    match (&borrowed, &owned) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "borrowed and owned rule-event parsing disagree");
            let _ = a.message_type();
            let _ = a.invoking_event.notification_creation_time();
        }
        (Err(_), Err(_)) => {}
        _ => panic!("borrowed and owned rule-event parsing disagree: {borrowed:?} vs {owned:?}"),
    }
    // Offline evaluation: the rule named by the document, then every rule.
    let _ = evaluate_document(None, None, text);
    for rule in list_rules() {
        let _ = evaluate_document(Some(rule.name), None, text);
    }
}

/// `events`: the first byte picks the event parser (see the module documentation).
pub fn events(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which {
        b'S' => sqs_body(rest),
        b'C' => config_item(rest),
        b'R' => remediation_event(rest),
        b'A' => alerting_event(rest),
        b'L' => subscription_data(rest),
        _ => match which % 5 {
            0 => sqs_body(rest),
            1 => config_item(rest),
            2 => remediation_event(rest),
            3 => alerting_event(rest),
            _ => subscription_data(rest),
        },
    }
}

fn sqs_body(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_body(body);
    let msgs = vec![Message {
        id: "m-1".into(),
        body: body.to_string(),
        sent: Some(now()),
    }];
    let parsed = parse_messages(&msgs);
    let location = match TrailLocation::new(BUCKET, Some("prefix"), None) {
        Ok(l) => l,
        Err(e) => panic!("fixed location must be valid: {e}"),
    };
    let cfg = DeliveryConfig::new(location);
    let (files, _filtered) = prepare_files(&cfg, &msgs, &parsed);
    for f in files {
        // Account and region come from the records: they must not leave the layout.
        assert!(
            check_account_id(&f.account_id).is_ok(),
            "{:?}",
            f.account_id
        );
        assert!(check_region(&f.region).is_ok(), "{:?}", f.region);
        let expected = cfg.location.log_region_prefix(&f.account_id, &f.region);
        assert!(f.key.starts_with(&expected), "{} outside {expected}", f.key);
        assert!(!f.key.contains("..") && !f.key.contains("//"), "{}", f.key);
        assert!(f.key.ends_with(".json.gz"), "{}", f.key);
        let doc = match gz::decompress(&f.gzip, u64::MAX) {
            Ok(d) => d,
            Err(e) => panic!("a prepared file does not decompress: {e}"),
        };
        // What the validator and alerting later read back: a Records file with every record.
        let walked = cis_set().for_each_record(&doc, &mut Scratch::default(), |_, _, _| {});
        assert_eq!(
            walked.ok(),
            Some(f.records),
            "prepared file is not readable"
        );
    }
}

fn remediation_event(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(t) = parse_event(&v) {
        let _ = format!("{t:?}");
    }
}

fn alerting_event(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        for key in records
            .iter()
            .filter_map(|r| r.pointer("/s3/object/key").and_then(Value::as_str))
        {
            let _ = decode_s3_key(key);
        }
    }
    let store = MemoryStore::new();
    store.set_now(Some(now()));
    let (cfg, engine) = alerting_engine();
    let alerting = Alerting {
        store: &store,
        notifier: None,
        engine,
        config: cfg,
    };
    let report = block_on(alerting.handle_event(&v, now()));
    assert!(
        report.errors.is_empty(),
        "store errors: {:?}",
        report.errors
    );
}

fn subscription_data(data: &[u8]) {
    let payload = base64::engine::general_purpose::STANDARD.encode(gz::compress(data, 1));
    let store = MemoryStore::new();
    store.set_now(Some(now()));
    let (cfg, engine) = alerting_engine();
    let alerting = Alerting {
        store: &store,
        notifier: None,
        engine,
        config: cfg,
    };
    let event = serde_json::json!({ "awslogs": { "data": payload } });
    let report = block_on(alerting.handle_event(&event, now()));
    assert!(
        report.errors.is_empty(),
        "store errors: {:?}",
        report.errors
    );
}
