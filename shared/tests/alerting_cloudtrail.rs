//! The alerting path (events in, EMF, alarm states and alerts out) on the real CloudTrail records
//! of the reference data, with the in-memory store and notifier. The filters' own correctness is
//! tested in filter_cloudtrail.rs; this checks what is built on top of them.

use std::path::PathBuf;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use trailwarden::alarm::{state_key, AlarmRecord, AlarmState, DEFAULT_STATE_PREFIX};
use trailwarden::alerting::{parse_filters, Alerting, AlertingConfig, Engine, Report};
use trailwarden::gz;
use trailwarden::notify::MemoryNotifier;
use trailwarden::store::{MemoryStore, ObjectStore, Put};

const BUCKET: &str = "trail";
const INVICTUS_STOP_LOGGING: &str =
    "218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json";
const INVICTUS_QUIET: &str =
    "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json";

fn data_dir() -> PathBuf {
    std::env::var_os("TRAILWARDEN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("cloudtrail")
}

fn read(rel: &str) -> Vec<u8> {
    let p = data_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn invictus_key(name: &str) -> String {
    format!(
        "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/{}.gz",
        name
    )
}

/// Percent-encodes a key as S3 event notifications do (space as `+`).
fn encode_key(k: &str) -> String {
    k.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b if b.is_ascii_alphanumeric() || b"/-_.*".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn s3_event(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2023-07-10T12:10:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
                    "object": {"key": encode_key(k), "size": 1}
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

struct Env {
    store: MemoryStore,
    notifier: MemoryNotifier,
    engine: Engine,
    config: AlertingConfig,
}

impl Env {
    fn new() -> Env {
        Env::with(AlertingConfig::new(BUCKET, "us-east-1"), None)
    }

    fn with(mut config: AlertingConfig, user_filters: Option<&str>) -> Env {
        config.topic_arn = Some("arn:aws:sns:us-east-1:218007301253:trailwarden-alerts".into());
        let user = user_filters
            .map(|t| parse_filters("filters.yaml", t).unwrap())
            .unwrap_or_default();
        let engine = Engine::new(
            config.enable_cis.then_some(config.namespace.as_str()),
            &user,
            "filters.yaml",
        )
        .unwrap();
        Env {
            store: MemoryStore::new(),
            notifier: MemoryNotifier::default(),
            engine,
            config,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.store
            .put(
                BUCKET,
                key,
                Put {
                    body,
                    ..Put::default()
                },
            )
            .await
            .unwrap();
    }

    async fn put_invictus(&self, name: &str) -> String {
        let key = invictus_key(name);
        self.put(&key, gz::compress(&read(&format!("invictus-ir/{name}")), 6))
            .await;
        key
    }

    async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Report {
        let a = Alerting {
            store: &self.store,
            notifier: Some(&self.notifier),
            engine: &self.engine,
            config: &self.config,
        };
        a.handle_event(event, now).await
    }

    fn alerts(&self) -> Vec<(String, Value)> {
        self.notifier
            .messages()
            .into_iter()
            .map(|(s, m)| (s, serde_json::from_str(&m).unwrap()))
            .collect()
    }

    async fn state(&self, alarm: &str) -> AlarmRecord {
        let o = self
            .store
            .get(BUCKET, &state_key(DEFAULT_STATE_PREFIX, alarm))
            .await
            .unwrap();
        serde_json::from_slice(&o.body).unwrap()
    }
}

fn alarm_alerts<'a>(alerts: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|(_, m)| m["AlarmName"] == name && m["NewStateValue"] == "ALARM")
        .map(|(_, m)| m)
        .collect()
}

#[tokio::test]
async fn a_log_file_with_trail_changes_alerts_once_with_who_what_where_when() {
    let env = Env::new();
    let key = env.put_invictus(INVICTUS_STOP_LOGGING).await;
    let now = Utc::now();
    let r = env.handle(&s3_event(&[&key]), now).await;
    assert_eq!(r.records, 26, "{r:?}");
    assert!(r.bad_inputs.is_empty() && r.errors.is_empty(), "{r:?}");
    assert_eq!(
        r.matches.get("CloudTrailChanges"),
        Some(&3),
        "{:?}",
        r.matches
    );
    assert_eq!(r.alarms_evaluated, 15);

    let alerts = env.alerts();
    let ct = alarm_alerts(&alerts, "CloudTrailChanges");
    assert_eq!(ct.len(), 1, "{alerts:#?}");
    let m = ct[0];
    let subject = &alerts.iter().find(|(_, x)| std::ptr::eq(x, m)).unwrap().0;
    assert_eq!(
        subject,
        "ALARM: \"CloudTrailChanges\" in US East (N. Virginia)"
    );
    assert_eq!(m["OldStateValue"], "INSUFFICIENT_DATA");
    assert_eq!(m["AWSAccountId"], "218007301253");
    assert!(m["NewStateReason"]
        .as_str()
        .unwrap()
        .starts_with("Threshold Crossed: 1 out of the last 1 datapoints ["));
    let names: Vec<&str> = m["MatchingRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    for n in ["CreateTrail", "StartLogging", "StopLogging"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let stop = m["MatchingRecords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["eventName"] == "StopLogging")
        .unwrap();
    assert!(stop["userIdentity"]["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::123837392027:user/"));
    assert!(stop["sourceIPAddress"].is_string());
    assert!(stop["userAgent"].is_string());
    assert!(stop["eventTime"]
        .as_str()
        .unwrap()
        .starts_with("2023-07-10T12:0"));
    assert_eq!(stop["eventSource"], "cloudtrail.amazonaws.com");
    assert!(stop["requestParameters"]["name"].is_string());
    // The events are two years old: the alarm recovered at once, and said so.
    let oks: Vec<_> = alerts
        .iter()
        .filter(|(s, m)| m["AlarmName"] == "CloudTrailChanges" && s.starts_with("OK:"))
        .collect();
    assert_eq!(oks.len(), 1);
    assert_eq!(
        env.state("CloudTrailChanges").await.state_value,
        AlarmState::Ok
    );
    // Alarms that saw nothing went from INSUFFICIENT_DATA to OK silently.
    assert_eq!(
        env.state("RootAccountUsage").await.state_value,
        AlarmState::Ok
    );
    assert!(!alerts
        .iter()
        .any(|(_, m)| m["AlarmName"] == "RootAccountUsage"));

    // EMF: every datapoint, per minute.
    let mut total = 0.0;
    for d in &r.emf {
        let v: Value = serde_json::from_str(d).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "CISBenchmark"
        );
        if let Some(x) = v.get("CloudTrailChanges") {
            total += x
                .as_array()
                .map(|a| a.iter().map(|v| v.as_f64().unwrap()).sum())
                .unwrap_or_else(|| x.as_f64().unwrap());
        }
    }
    assert_eq!(total, 3.0);
    assert_eq!(r.emf_documents, r.emf.len());

    // The same notification again (S3 delivers at least once): counted once, no second alert.
    let n = env.notifier.messages().len();
    let again = env
        .handle(&s3_event(&[&key]), now + Duration::seconds(30))
        .await;
    assert!(again
        .duplicates
        .iter()
        .any(|d| d.starts_with("CloudTrailChanges: s3://trail/")));
    assert!(again.transitions.is_empty(), "{:?}", again.transitions);
    assert!(again.emf.is_empty(), "no metric is published twice");
    assert_eq!(env.notifier.messages().len(), n);

    // A file with no matching record: no alert either.
    let quiet = env.put_invictus(INVICTUS_QUIET).await;
    let r = env
        .handle(&s3_event(&[&quiet]), now + Duration::seconds(60))
        .await;
    assert_eq!(r.records, 29);
    assert!(r.matches.is_empty(), "{:?}", r.matches);
    assert!(r.transitions.is_empty());
    assert_eq!(env.notifier.messages().len(), n);
}

#[tokio::test]
async fn all_invictus_files_fire_the_expected_cis_alarms() {
    let env = Env::new();
    let mut keys = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(data_dir().join("invictus-ir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for n in &names {
        keys.push(env.put_invictus(n).await);
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let r = env.handle(&s3_event(&refs), Utc::now()).await;
    assert_eq!(r.sources.len(), 55);
    assert_eq!(r.records, 2900);
    // The counts measured with jq in filter_cloudtrail.rs, through the alerting path.
    let want = [
        ("UnauthorizedAPICalls", 60),
        ("ConsoleSigninWithoutMFA", 1),
        ("IAMPolicyChanges", 26),
        ("CloudTrailChanges", 13),
        ("S3BucketPolicyChanges", 6),
        ("SecurityGroupChanges", 8),
        ("NetworkGatewayChanges", 15),
        ("RouteTableChanges", 40),
        ("VPCChanges", 16),
        ("OrganizationsChanges", 1),
    ];
    let got: Vec<(&str, usize)> = r.matches.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut want_sorted = want.to_vec();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    let alerts = env.alerts();
    for (name, _) in want {
        let a = alarm_alerts(&alerts, name);
        assert!(!a.is_empty(), "{name} did not alert");
    }
    // The console sign-in without MFA: who and how.
    let mfa = alarm_alerts(&alerts, "ConsoleSigninWithoutMFA");
    let rec = &mfa[0]["MatchingRecords"][0];
    assert_eq!(rec["eventName"], "ConsoleLogin");
    assert_eq!(rec["userIdentity"]["type"], "IAMUser");
    assert_eq!(rec["consoleLogin"], "Success");
    assert_eq!(rec["mfaUsed"], "No");
    // Unauthorized calls: every alert record carries the error.
    for a in alarm_alerts(&alerts, "UnauthorizedAPICalls") {
        for rec in a["MatchingRecords"].as_array().unwrap() {
            let code = rec["errorCode"].as_str().unwrap();
            assert!(
                code.starts_with("AccessDenied") || code.ends_with("UnauthorizedOperation"),
                "{code}"
            );
        }
    }
    // Security-group changes name the group.
    let sg = alarm_alerts(&alerts, "SecurityGroupChanges");
    assert!(sg.iter().any(|a| a["MatchingRecords"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["eventName"] == "AuthorizeSecurityGroupIngress"
            && r["requestParameters"].is_object())));
    // No Root records in this data set.
    assert!(alarm_alerts(&alerts, "RootAccountUsage").is_empty());
    // Every alert's records are accounted for.
    for (_, m) in &alerts {
        let kept = m["MatchingRecords"].as_array().unwrap().len() as u64;
        assert_eq!(
            kept + m["MatchingRecordsOmitted"].as_u64().unwrap(),
            m["MatchingRecordsTotal"].as_u64().unwrap()
        );
    }
}

/// A CloudWatch Logs subscription payload of these messages (one record each).
fn subscription(messages: &[(i64, String)], message_type: &str) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, (ts, m))| json!({"id": format!("{:056}", i + 1), "timestamp": ts, "message": m}))
        .collect();
    let data = json!({
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs-123456789012-trail",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["trailwarden"],
        "logEvents": events,
    });
    let z = gz::compress(data.to_string().as_bytes(), 6);
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(z)}})
}

#[tokio::test]
async fn root_usage_in_the_panther_records_through_a_subscription() {
    let text = String::from_utf8(read(
        "panther-labelled/panther_aws_cloudtrail_rule_tests.json",
    ))
    .unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    let now = Utc::now();
    let msgs: Vec<(i64, String)> = all
        .iter()
        .map(|l| {
            (
                (now - Duration::minutes(2)).timestamp_millis(),
                l["record"].to_string(),
            )
        })
        .collect();
    let env = Env::new();
    let r = env.handle(&subscription(&msgs, "DATA_MESSAGE"), now).await;
    assert_eq!(r.records, 453);
    assert_eq!(r.records_not_json, 0);
    assert_eq!(r.matches.get("RootAccountUsage"), Some(&12));
    let alerts = env.alerts();
    let root = alarm_alerts(&alerts, "RootAccountUsage");
    assert_eq!(root.len(), 1);
    assert_eq!(root[0]["MatchingRecordsTotal"], 12);
    for rec in root[0]["MatchingRecords"].as_array().unwrap() {
        assert_eq!(rec["userIdentity"]["type"], "Root");
    }
    // The datapoints are recent: the alarm stays in ALARM (no OK right after).
    assert_eq!(
        env.state("RootAccountUsage").await.state_value,
        AlarmState::Alarm
    );
    assert!(!alerts
        .iter()
        .any(|(s, m)| s.starts_with("OK:") && m["AlarmName"] == "RootAccountUsage"));
    // Half an hour later, an invocation without matches brings it back to OK, with an alert.
    let quiet = subscription(&[], "CONTROL_MESSAGE");
    let r = env.handle(&quiet, now + Duration::minutes(30)).await;
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    let ok: Vec<_> = env
        .alerts()
        .into_iter()
        .filter(|(_, m)| m["AlarmName"] == "RootAccountUsage" && m["NewStateValue"] == "OK")
        .collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].0, "OK: \"RootAccountUsage\" in US East (N. Virginia)");
    assert_eq!(ok[0].1["OldStateValue"], "ALARM");
    assert_eq!(ok[0].1["MatchingRecords"], json!([]));
}

#[tokio::test]
async fn bad_input_is_counted_and_never_stops_the_rest() {
    let env = Env::new();
    let good = env.put_invictus(INVICTUS_STOP_LOGGING).await;
    let whole = gz::compress(&read(&format!("invictus-ir/{INVICTUS_QUIET}")), 6);
    let truncated = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/truncated.json.gz";
    env.put(truncated, whole[..whole.len() / 2].to_vec()).await;
    let not_json = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/not json.json.gz";
    env.put(not_json, gz::compress(b"this is not JSON", 6))
        .await;
    let bad_record = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/bad-record.json.gz";
    env.put(
        bad_record,
        gz::compress(br#"{"Records":[{"eventName":"StopLogging"}, 42]}"#, 6),
    )
    .await;
    let bomb = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/bomb.json.gz";
    let mut big = b"{\"Records\":[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 4 << 20));
    big.extend(b"]}");
    env.put(bomb, gz::compress(&big, 9)).await;
    let digest = "AWSLogs/218007301253/CloudTrail-Digest/us-east-1/2023/07/10/218007301253_CloudTrail-Digest_us-east-1_t_us-east-1_20230710T130000Z.json.gz";
    let missing = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/gone.json.gz";

    let mut config = AlertingConfig::new(BUCKET, "us-east-1");
    config.max_decompressed = 1 << 20;
    let env = Env {
        config: {
            config.topic_arn = env.config.topic_arn.clone();
            config
        },
        ..env
    };
    let mut event = s3_event(&[
        truncated,
        not_json,
        &good,
        bad_record,
        bomb,
        digest,
        missing,
        "notes.txt",
        &good,
    ]);
    event["Records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": BUCKET}, "object": {"key": "x.json.gz"}}}));
    event["Records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}, "object": {"key": "bad%zzkey.json.gz"}}}));
    let r = env.handle(&event, Utc::now()).await;
    // The good file was processed and alerted.
    assert_eq!(r.sources.len(), 1, "{r:#?}");
    assert_eq!(r.records, 26);
    assert_eq!(alarm_alerts(&env.alerts(), "CloudTrailChanges").len(), 1);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let why = |frag: &str| -> String {
        r.bad_inputs
            .iter()
            .find(|b| b.source.contains(frag))
            .unwrap_or_else(|| panic!("{frag} not reported: {:#?}", r.bad_inputs))
            .error
            .clone()
    };
    assert_eq!(why("truncated"), "gzip stream is truncated");
    assert!(
        why("not json").contains("malformed CloudTrail log file"),
        "{}",
        why("not json")
    );
    assert!(
        why("bad-record").contains("expected a record object"),
        "{}",
        why("bad-record")
    );
    assert!(
        why("bomb").contains("decompression bomb"),
        "{}",
        why("bomb")
    );
    assert!(why("gone").contains("not found"), "{}", why("gone"));
    assert!(
        why("bad%zzkey").contains("percent-escape"),
        "{}",
        why("bad%zzkey")
    );
    assert_eq!(r.bad_inputs.len(), 6, "{:#?}", r.bad_inputs);
    assert!(
        r.skipped.iter().any(|s| s.contains("a digest file")),
        "{:?}",
        r.skipped
    );
    assert!(r.skipped.iter().any(|s| s.contains("notes.txt")));
    assert!(r.skipped.iter().any(|s| s.contains("ObjectRemoved")));
    assert!(r.skipped.iter().any(|s| s.contains("listed twice")));

    // Unknown event shapes.
    for ev in [
        json!({"hello": "world"}),
        json!([1, 2]),
        json!("text"),
        json!({"Records": [{"eventName": "StopLogging"}]}),
    ] {
        let r = env.handle(&ev, Utc::now()).await;
        assert_eq!(r.bad_inputs.len(), 1, "{ev}: {r:?}");
        assert!(
            r.bad_inputs[0].error.contains("unknown event shape"),
            "{:?}",
            r.bad_inputs
        );
        assert!(r.errors.is_empty());
    }

    // Subscription payloads: bad base64, bad gzip, not Logs data, records that are not JSON.
    for (data, frag) in [
        ("%%%", "not base64"),
        ("aGVsbG8=", "not gzip"),
        (
            base64::engine::general_purpose::STANDARD
                .encode(gz::compress(b"{\"x\":1}", 6))
                .leak() as &str,
            "not CloudWatch Logs data",
        ),
    ] {
        let r = env
            .handle(&json!({"awslogs": {"data": data}}), Utc::now())
            .await;
        assert!(r.bad_inputs[0].error.contains(frag), "{:?}", r.bad_inputs);
    }
    let now = Utc::now();
    let msgs = vec![
        (now.timestamp_millis(), "not json at all".to_string()),
        (
            now.timestamp_millis(),
            "{\"eventName\": \"StopLogging\"".to_string(),
        ),
        (
            now.timestamp_millis(),
            json!({"eventName": "DeleteTrail", "eventTime": "2023-07-10T12:00:00Z"}).to_string(),
        ),
    ];
    let r = env.handle(&subscription(&msgs, "DATA_MESSAGE"), now).await;
    assert_eq!(r.records, 3);
    assert_eq!(r.records_not_json, 2);
    assert_eq!(r.matches.get("CloudTrailChanges"), Some(&1));
    assert!(r.bad_inputs.is_empty());
}

#[tokio::test]
async fn user_filters_alarm_m_of_n_on_real_records() {
    // Stratus Red Team's secret retrieval: many GetSecretValue calls in a few minutes.
    let yaml = r#"
- filterName: SecretReads
  filterPattern: '{ $.eventSource = "secretsmanager.amazonaws.com" && $.eventName = "GetSecretValue" }'
  metricTransformations:
    - metricName: SecretReads
      metricNamespace: Custom/Security
      metricValue: "1"
  alarm:
    AlarmDescription: Bulk secret reads
    Period: 60
    EvaluationPeriods: 3
    DatapointsToAlarm: 1
    Threshold: 5
"#;
    let mut config = AlertingConfig::new(BUCKET, "us-east-1");
    config.enable_cis = false;
    let env = Env::with(config, Some(yaml));
    let raw = read("stratus-red-team/aws.credential-access.secretsmanager-retrieve-secrets.json");
    let n_reads = serde_json::from_slice::<Vec<Value>>(&raw)
        .unwrap()
        .iter()
        .filter(|r| r["eventName"] == "GetSecretValue")
        .count();
    assert!(n_reads >= 5, "{n_reads}");
    let key = "stratus/secretsmanager-retrieve-secrets.json.gz";
    env.put(key, gz::compress(&raw, 6)).await;
    let r = env.handle(&s3_event(&[key]), Utc::now()).await;
    assert_eq!(r.matches.get("SecretReads"), Some(&n_reads));
    assert_eq!(r.alarms_evaluated, 1);
    let alerts = env.alerts();
    let a = alarm_alerts(&alerts, "SecretReads");
    assert_eq!(a.len(), 1, "{alerts:#?}");
    assert_eq!(a[0]["AlarmDescription"], "Bulk secret reads");
    assert_eq!(a[0]["Trigger"]["Period"], 60);
    assert_eq!(a[0]["Trigger"]["EvaluationPeriods"], 3);
    assert_eq!(a[0]["Trigger"]["Namespace"], "Custom/Security");
    // The secret's identifier is in the alert; nothing secret is.
    let rec = &a[0]["MatchingRecords"][0];
    assert!(rec["requestParameters"]["secretId"].is_string(), "{rec}");
    let mut emf_total = 0;
    for d in &r.emf {
        let v: Value = serde_json::from_str(d).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Custom/Security"
        );
        emf_total += match &v["SecretReads"] {
            Value::Array(a) => a.len(),
            _ => 1,
        };
    }
    assert_eq!(emf_total, n_reads);
}
