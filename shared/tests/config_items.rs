//! Configuration items: both encodings, the RDK sample corpus, the CLI's document forms, and
//! robustness against malformed input.

mod common;

use common::*;
use serde_json::{json, Value};
use trailwarden::config::{
    evaluate_document, render_evaluations, ComplianceType, ConfigError, ConfigRuleEvent,
    ConfigurationItem, ItemStatus,
};
use trailwarden::rules;

#[test]
fn notification_and_api_encodings_give_the_same_item() {
    for name in [S3_REAL, S3_RDK, SG_RULES_TEST] {
        let notification = item(name);
        let api = to_api_form(&notification);
        assert!(api["configuration"].is_string(), "{name}: conversion");
        let a = ConfigurationItem::from_value(&notification).unwrap();
        let b = ConfigurationItem::from_value(&api).unwrap();
        assert_eq!(a, b, "{name}");
    }
    let s3 = ConfigurationItem::from_value(&item(S3_REAL)).unwrap();
    assert_eq!(s3.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        s3.arn.as_deref(),
        Some("arn:aws:s3:::cf-templates-1xatrtwowvbwh-us-east-1")
    );
    assert_eq!(s3.capture_time, Some(t("2021-01-13T05:00:23.319Z")));
    assert_eq!(s3.version.as_deref(), Some("1.3"));
    // The ACL, a JSON string in the notification form, is decoded.
    assert_eq!(
        s3.supplementary("AccessControlList").unwrap()["grantList"][0]["permission"],
        "FullControl"
    );
    assert_eq!(
        s3.supplementary("BucketVersioningConfiguration").unwrap()["status"],
        "Suspended"
    );
    assert_eq!(
        s3.tags.get("application_id").map(String::as_str),
        Some("ADM")
    );
}

#[test]
fn api_answer_from_the_docs() {
    let doc = item(SG_API_DOCS);
    let sg = ConfigurationItem::from_value(&doc["configurationItems"][0]).unwrap();
    assert_eq!(sg.resource_id, "sg-6fbb3807");
    assert_eq!(sg.account_id.as_deref(), Some("605053316265"));
    assert_eq!(sg.status, ItemStatus::ResourceDiscovered);
    assert_eq!(sg.capture_time, Some(t("2014-10-30T22:35:29.922Z")));
    assert_eq!(
        sg.md5_hash.as_deref(),
        Some("860aa81fc3869e186b2ee00bc638a01a")
    );
    assert_eq!(sg.relationships.len(), 4);
    assert_eq!(
        sg.relationships[0].name.as_deref(),
        Some("Is associated with Instance")
    );
    assert_eq!(sg.configuration["groupName"], "default");
    assert_eq!(
        sg.configuration["ipPermissions"].as_array().unwrap().len(),
        6
    );
}

#[test]
fn mixed_style_rdk_items_normalise() {
    // RDK samples use API key names with object configurations.
    let v = ConfigurationItem::from_value(&item(VOLUME_RDK)).unwrap();
    assert_eq!(v.account_id.as_deref(), Some("264683526309"));
    assert_eq!(
        v.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:264683526309:volume/vol-a416b170")
    );
    assert_eq!(
        v.relationships[0].name.as_deref(),
        Some("Is attached to Instance")
    );
    let rds = ConfigurationItem::from_value(&item(RDS_RDK)).unwrap();
    assert_eq!(
        rds.tags.get("workload-type").map(String::as_str),
        Some("production")
    );
    assert_eq!(rds.resource_name.as_deref(), Some("myrdstest"));
}

fn rdk_files() -> Vec<std::path::PathBuf> {
    let dir = data_dir().join("config/rdk-example-ci");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn rdk_corpus_parses_and_the_two_broken_files_error_clearly() {
    let files = rdk_files();
    assert_eq!(files.len(), 80);
    let mut ok = 0;
    let mut broken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        // required-tags applies to many types: every sample is evaluated or NOT_APPLICABLE.
        match evaluate_document(Some("required-tags"), None, &text) {
            Ok(evs) => {
                assert!(!evs.is_empty(), "{}", f.display());
                ok += 1;
            }
            Err(e) => broken.push((f.file_name().unwrap().to_string_lossy().to_string(), e)),
        }
    }
    assert_eq!(ok, 78);
    let names: Vec<&str> = broken.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_EC2_NetworkInterface.json",
            "AWS_SSM_ManagedInstanceInventory_Linux.json"
        ]
    );
    for (name, e) in &broken {
        assert!(matches!(e, ConfigError::Json { .. }), "{name}: {e:?}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("the document is not valid JSON: "),
            "{name}: {msg}"
        );
        assert!(msg.contains("line "), "{name}: {msg}");
    }
    assert!(
        broken[0]
            .1
            .to_string()
            .contains("EOF while parsing a list at line 88"),
        "{}",
        broken[0].1
    );
    assert!(
        broken[1].1.to_string().contains(
            "control character (\\u0000-\\u001F) found while parsing a string at line 52"
        ),
        "{}",
        broken[1].1
    );
}

#[test]
fn document_forms() {
    // A bare item, a list of items, an API answer, an invoking event, an EventBridge event.
    let sg = item(SG_RDK);
    let e = eval("restricted-ssh", None, &sg);
    assert_eq!(e.resource_id, "sg-1d56fc66");
    assert_eq!(e.ordering_timestamp, t("2016-06-09T08:59:59.139Z"));
    let list = evaluate_document(
        Some("restricted-ssh"),
        None,
        &json!([sg, item(SG_RULES_TEST)]).to_string(),
    )
    .unwrap();
    assert_eq!(list.len(), 2);
    let api = evaluate_document(
        Some("restricted-ssh"),
        None,
        &read(&format!("config/items/{SG_API_DOCS}")),
    )
    .unwrap();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].resource_id, "sg-6fbb3807");
    let eb = json("events/eventbridge/config-configuration-item-change-EC2Instance-CREATE-ResourceDiscovered.json");
    let evs = evaluate_document(Some("ec2-instance-no-public-ip"), None, &eb.to_string()).unwrap();
    assert_eq!(evs[0].resource_id, "i-12345678901234567");
    assert_eq!(evs[0].compliance_type, ComplianceType::Compliant);
    let ssm = read("config/rdk-example-ci/AWS_SSM_ManagedInstanceInventory.json");
    let evs = evaluate_document(Some("required-tags"), None, &ssm).unwrap();
    assert_eq!(evs[0].compliance_type, ComplianceType::NotApplicable);
}

#[test]
fn cli_rendering() {
    let evs = evaluate_document(Some("restricted-ssh"), None, &item(SG_RDK).to_string()).unwrap();
    assert_eq!(
        render_evaluations(&evs),
        json!([{
            "complianceType": "NON_COMPLIANT",
            "annotation": "port 22 open to 0.0.0.0/0 in rule tcp 22",
            "resourceType": "AWS::EC2::SecurityGroup",
            "resourceId": "sg-1d56fc66"
        }])
    );
}

#[test]
fn document_errors_are_clear() {
    let err = |rule: Option<&str>, params: Option<&str>, doc: &str| {
        evaluate_document(rule, params, doc)
            .unwrap_err()
            .to_string()
    };
    assert!(err(Some("restricted-ssh"), None, "{").starts_with("the document is not valid JSON"));
    assert_eq!(
        err(Some("restricted-ssh"), None, "{\"hello\":1}"),
        "the document is neither a Config rule event, a configuration item, nor account data"
    );
    assert_eq!(
        err(Some("restricted-ssh"), None, "42"),
        "the document is neither a Config rule event, a configuration item, nor account data"
    );
    let sg = item(SG_RDK).to_string();
    let e = err(None, None, &sg);
    assert!(
        e.starts_with("unknown rule '(no rule parameter and no Config rule name)'; known rules: "),
        "{e}"
    );
    let e = err(Some("no-such-rule"), None, &sg);
    assert!(e.starts_with("unknown rule 'no-such-rule'; known rules: required-tags, s3-bucket-public-read-prohibited"), "{e}");
    assert_eq!(
        err(
            Some("restricted-common-ports"),
            Some("{\"blockedPort1\":\"ssh\"}"),
            &sg
        ),
        "InvalidParameterValueException: blockedPort1: 'ssh' is not a port number (0-65535)"
    );
    assert!(err(Some("restricted-ssh"), Some("{bad"), &sg)
        .starts_with("ruleParameters is not valid JSON"));
    let e = err(Some("cloudtrail-enabled"), None, &sg);
    assert_eq!(e, "cloudtrail-enabled is evaluated from account data (trails), not from configuration items; give an account-data document");
    let e = err(
        Some("restricted-ssh"),
        None,
        "{\"accountId\":\"1\",\"trails\":[]}",
    );
    assert_eq!(
        e,
        "restricted-ssh evaluates configuration items (AWS::EC2::SecurityGroup), not account data"
    );
    let e = err(
        Some("iam-password-policy"),
        None,
        "{\"accountId\":\"1\",\"trails\":[]}",
    );
    assert_eq!(
        e,
        "iam-password-policy needs account data 'passwordPolicy', which the input does not have"
    );
    let e = err(
        Some("restricted-ssh"),
        None,
        &read("events/config-rule-invocations/aws-docs-ScheduledNotification.json"),
    );
    assert!(
        e.starts_with("a ScheduledNotification needs AWS access"),
        "{e}"
    );
    let e = err(Some("restricted-ssh"), None, &read("events/config-rule-invocations/aws-docs-OversizedConfigurationItemChangeNotification.json"));
    assert!(
        e.contains("fetch AWS::EC2::Instance i-00000000 (GetResourceConfigHistory)"),
        "{e}"
    );
    let e = err(
        Some("restricted-ssh"),
        None,
        "[{\"resourceType\":\"AWS::EC2::SecurityGroup\"}]",
    );
    assert_eq!(e, "invalid item #1: invalid configuration item: missing field resourceId (AWS::EC2::SecurityGroup)");
    // Snapshot deliveries evaluate nothing.
    let snap = read("events/config-rule-invocations/aws-lambda-rust-runtime-fixture-ConfigurationSnapshotDeliveryCompleted.json");
    assert!(evaluate_document(Some("restricted-ssh"), None, &snap)
        .unwrap()
        .is_empty());
}

/// Cuts `text` at many points and flips bytes: every rule must answer Ok or Err, never panic.
#[test]
fn no_panics_on_malformed_input() {
    let mut docs: Vec<String> = [
        S3_REAL,
        S3_RDK,
        SG_RULES_TEST,
        SG_API_DOCS,
        INSTANCE_RDK,
        TRAIL_RDK,
    ]
    .iter()
    .map(|n| read(&format!("config/items/{n}")))
    .collect();
    docs.push(read("events/config-rule-invocations/aws-config-rules-test-SecurityGroup-tcp-open-not-authorized.json"));
    docs.push(read("events/config-rule-invocations/real-2021-S3Bucket-versioning-suspended-ConfigurationItemChangeNotification.json"));
    docs.push(r#"{"accountId":"1","trails":[{"name":"t","isLogging":true}],"passwordPolicy":null,"root":{},"iamUsers":[{}]}"#.to_string());
    let weird_values = [
        "null", "1", "-1", "\"\"", "\"x\"", "[]", "{}", "true", "[null]", "[{}]", "1e400", "\"é\"",
    ];
    let all: Vec<&str> = rules::all().iter().map(|r| r.name()).collect();
    let mut runs = 0usize;
    for doc in &docs {
        let bytes = doc.as_bytes();
        let step = (bytes.len() / 40).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let s = String::from_utf8_lossy(&bytes[..cut]);
            for r in &all {
                let _ = evaluate_document(Some(r), None, &s);
                runs += 1;
            }
            let _ = ConfigRuleEvent::from_json(&s);
        }
        // Replace every JSON value under "configuration" / "supplementaryConfiguration" keys
        // with odd values.
        if let Ok(v) = serde_json::from_str::<Value>(doc) {
            for w in weird_values {
                let wv: Value = serde_json::from_str(w).unwrap_or(Value::Null);
                let mut m = v.clone();
                replace_all(&mut m, &wv, 0);
                for r in &all {
                    let _ = evaluate_document(Some(r), None, &m.to_string());
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 5000, "{runs}");
}

/// Replaces every scalar below depth 1 by `with` (objects and arrays are kept, their leaves
/// change), then also one level of containers, to exercise type confusion everywhere.
fn replace_all(v: &mut Value, with: &Value, depth: usize) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if depth > 0 || !matches!(k.as_str(), "resourceType" | "resourceId") {
                    replace_all(x, with, depth + 1);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_all(x, with, depth + 1)),
        other if depth > 0 => *other = with.clone(),
        _ => {}
    }
}
