//! The Lambda event model and the orchestrator, driven by the real Config rule events against
//! the in-memory port.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use trailwarden::config::{
    evaluate_event, evaluate_event_with, op, AccountData, ComplianceType::*, ConfigError,
    ConfigRuleEvent, ConfigurationItem, EvaluatorOptions, InMemoryConfigClient, InvokingEvent,
    MessageType, PortError, PreviousEvaluation, ResourceKey, TrailDescription,
};

const SG_EVENT: &str = "aws-config-rules-test-SecurityGroup-tcp-open-not-authorized.json";
const SCHEDULED: &str = "aws-docs-ScheduledNotification.json";
const OVERSIZED: &str = "aws-docs-OversizedConfigurationItemChangeNotification.json";

fn sg(id: &str) -> ConfigurationItem {
    let mut v = item(SG_RDK);
    v["resourceId"] = json!(id);
    ConfigurationItem::from_value(&v).unwrap()
}

fn fast() -> EvaluatorOptions {
    EvaluatorOptions {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    }
}

fn scheduled(rule: &str) -> Value {
    with_rule_parameters(event(SCHEDULED), json!({ "rule": rule }))
}

// ---------------------------------------------------------------- parsing

#[test]
fn every_reference_event_parses() {
    let cases = [
        (
            "aws-config-rules-test-EC2Instance-public-ip.json",
            MessageType::ConfigurationItemChangeNotification,
        ),
        (SG_EVENT, MessageType::ConfigurationItemChangeNotification),
        (
            "aws-docs-ConfigurationItemChangeNotification.json",
            MessageType::ConfigurationItemChangeNotification,
        ),
        (
            OVERSIZED,
            MessageType::OversizedConfigurationItemChangeNotification,
        ),
        (SCHEDULED, MessageType::ScheduledNotification),
        (
            "aws-lambda-rust-runtime-fixture-ConfigurationSnapshotDeliveryCompleted.json",
            MessageType::ConfigurationSnapshotDeliveryCompleted,
        ),
        (
            "powertools-awsConfigRuleConfigurationChanged.json",
            MessageType::ConfigurationItemChangeNotification,
        ),
        (
            "powertools-awsConfigRuleOversizedConfiguration.json",
            MessageType::OversizedConfigurationItemChangeNotification,
        ),
        (
            "powertools-awsConfigRuleScheduled.json",
            MessageType::ScheduledNotification,
        ),
        (
            "real-2021-S3Bucket-versioning-suspended-ConfigurationItemChangeNotification.json",
            MessageType::ConfigurationItemChangeNotification,
        ),
    ];
    for (file, expected) in cases {
        let ev =
            ConfigRuleEvent::from_json(&read(&format!("events/config-rule-invocations/{file}")))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(ev.message_type(), expected, "{file}");
        assert!(!ev.event_left_scope, "{file}");
        assert!(ev.result_token.is_some(), "{file}");
    }
    let lambda = ConfigRuleEvent::from_json(&read(
        "events/lambda-runtime-fixtures/example-config-event.json",
    ))
    .unwrap();
    match &lambda.invoking_event {
        InvokingEvent::SnapshotDelivered {
            s3_bucket,
            snapshot_id,
            notification_creation_time,
            ..
        } => {
            assert_eq!(s3_bucket.as_deref(), Some("config-bucket"));
            assert_eq!(
                snapshot_id.as_deref(),
                Some("00000000-0000-0000-0000-000000000000")
            );
            assert_eq!(
                *notification_creation_time,
                Some(t("2016-02-24T18:23:20.328Z"))
            );
        }
        other => panic!("{other:?}"),
    }
    let pt = ConfigRuleEvent::from_json(&read(
        "events/config-rule-invocations/powertools-awsConfigRuleConfigurationChanged.json",
    ))
    .unwrap();
    assert_eq!(pt.evaluation_mode.as_deref(), Some("DETECTIVE"));
    assert_eq!(
        pt.rule_parameters.get("desiredInstanceType"),
        Some(&json!("t2.micro"))
    );
    match &pt.invoking_event {
        InvokingEvent::Change {
            item,
            diff,
            notification_creation_time,
            record_version,
        } => {
            assert_eq!(item.resource_id, "i-042dd005362091826");
            assert_eq!(diff.as_ref().unwrap()["changeType"], "UPDATE");
            assert_eq!(
                *notification_creation_time,
                Some(t("2023-04-27T15:03:13.332Z"))
            );
            assert_eq!(record_version.as_deref(), Some("1.3"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn decoded_copies_equal_the_encoded_events() {
    for stem in [
        "aws-docs-ConfigurationItemChangeNotification",
        "aws-docs-OversizedConfigurationItemChangeNotification",
        "aws-docs-ScheduledNotification",
    ] {
        let a = ConfigRuleEvent::from_json(&read(&format!(
            "events/config-rule-invocations/{stem}.json"
        )))
        .unwrap();
        let b = ConfigRuleEvent::from_json(&read(&format!(
            "events/config-rule-invocations/{stem}.decoded.json"
        )))
        .unwrap();
        assert_eq!(a, b, "{stem}");
    }
}

#[tokio::test]
async fn malformed_events_give_clear_errors() {
    let fake = InMemoryConfigClient::new();
    let err = |text: String| {
        let fake = &fake;
        async move { evaluate_event(&text, fake).await.unwrap_err() }
    };
    let e = err("{".into()).await;
    assert!(
        e.to_string()
            .starts_with("the Config rule event is not valid JSON: EOF"),
        "{e}"
    );
    let mut bad_inner = event(SCHEDULED);
    bad_inner["invokingEvent"] = json!("{\"messageType\": ");
    let e = err(bad_inner.to_string()).await;
    assert!(
        e.to_string().starts_with("invokingEvent is not valid JSON"),
        "{e}"
    );
    let mut unknown = invoking(&event(SCHEDULED));
    unknown["messageType"] = json!("ComplianceChangeNotification");
    let e = err(with_invoking(scheduled("restricted-ssh"), &unknown).to_string()).await;
    assert!(
        matches!(e, ConfigError::UnknownMessageType(ref m) if m == "ComplianceChangeNotification")
    );
    assert!(e
        .to_string()
        .starts_with("unknown messageType 'ComplianceChangeNotification' (expected "));
    let e = err(with_rule_parameters(event(SCHEDULED), json!({"rule": 7})).to_string()).await;
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: rule: must be a rule name (a string)"
    );
    let mut bad_params = event(SCHEDULED);
    bad_params["ruleParameters"] = json!("{\"rule\":");
    let e = err(bad_params.to_string()).await;
    assert!(
        e.to_string()
            .starts_with("ruleParameters is not valid JSON"),
        "{e}"
    );
    let mut left = event(SCHEDULED);
    left["eventLeftScope"] = json!("maybe");
    let e = err(left.to_string()).await;
    assert_eq!(
        e.to_string(),
        "invalid Config rule event: eventLeftScope is not a boolean: \"maybe\""
    );
    assert!(fake.calls().is_empty());
}

// ---------------------------------------------------------------- rule selection and parameters

#[tokio::test]
async fn rule_from_name_or_parameter() {
    let fake = InMemoryConfigClient::new();
    // "myrule" names no rule and there is no rule parameter.
    let e = evaluate_event(&event(SG_EVENT).to_string(), &fake)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unknown rule 'myrule'; known rules: required-tags, "),
        "{e}"
    );
    assert_eq!(e.code(), "UnknownRuleException");
    // A Config rule name containing a known rule, and no/empty parameters.
    let mut ev = event(SG_EVENT);
    ev["configRuleName"] = json!("trailwarden-restricted-common-ports");
    ev["ruleParameters"] = json!("");
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(r.rule, "restricted-common-ports");
    ev.as_object_mut().unwrap().remove("ruleParameters");
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(r.rule, "restricted-common-ports");
    assert_eq!(r.evaluations[0].compliance_type, Compliant);
}

#[tokio::test]
async fn invalid_parameters_are_an_error_not_a_result() {
    let fake = InMemoryConfigClient::new();
    let ev = with_rule_parameters(
        event(SG_EVENT),
        json!({"rule": "restricted-common-ports", "blockedPort2": "-21"}),
    );
    let e = evaluate_event(&ev.to_string(), &fake).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: blockedPort2: '-21' is not a port number (0-65535)"
    );
    assert_eq!(e.code(), "InvalidParameterValueException");
    assert!(fake.put_calls().is_empty());
}

// ---------------------------------------------------------------- change notifications

#[tokio::test]
async fn change_notification_is_evaluated_and_sent() {
    let fake = InMemoryConfigClient::new();
    let ev = with_rule_parameters(
        event(SG_EVENT),
        json!({"rule": "restricted-common-ports", "blockedPorts": "11000", "authorizedTcpPorts": "443"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(
        r.message_type,
        MessageType::ConfigurationItemChangeNotification
    );
    assert_eq!(r.evaluations.len(), 1);
    let e = &r.evaluations[0];
    assert_eq!(e.compliance_type, NonCompliant);
    assert_eq!(
        e.annotation.as_deref(),
        Some("port 11000 open to 0.0.0.0/0 in rule tcp 10000-12000")
    );
    assert_eq!(
        (e.resource_type.as_str(), e.resource_id.as_str()),
        ("AWS::EC2::SecurityGroup", "sg-01")
    );
    assert_eq!(e.ordering_timestamp, t("2018-09-07T05:26:45.866Z"));
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("unknown parameter 'authorizedTcpPorts'")));
    let calls = fake.put_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].result_token, "token");
    assert!(!calls[0].test_mode);
    assert_eq!(calls[0].evaluations, r.evaluations);
    assert_eq!(fake.calls(), ["PutEvaluations 1"]);
}

#[tokio::test]
async fn left_scope_deleted_and_foreign_items_are_not_applicable() {
    let base = with_rule_parameters(event(SG_EVENT), json!({"rule": "restricted-ssh"}));
    let fake = InMemoryConfigClient::new();

    let mut left = base.clone();
    left["eventLeftScope"] = json!(true);
    let r = evaluate_event(&left.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable);
    assert_eq!(
        r.evaluations[0].annotation.as_deref(),
        Some("the resource is no longer in the rule's scope")
    );

    for status in [
        "ResourceDeleted",
        "ResourceDeletedNotRecorded",
        "ResourceNotRecorded",
    ] {
        let mut inv = invoking(&base);
        inv["configurationItem"]["configurationItemStatus"] = json!(status);
        let r = evaluate_event(&with_invoking(base.clone(), &inv).to_string(), &fake)
            .await
            .unwrap();
        assert_eq!(r.evaluations[0].compliance_type, NotApplicable, "{status}");
        assert_eq!(
            r.evaluations[0].annotation.as_deref().unwrap(),
            format!("the resource is not recorded any more (status {status})")
        );
    }
    let docs = with_rule_parameters(
        event("aws-docs-ConfigurationItemChangeNotification.json"),
        json!({"rule": "restricted-ssh"}),
    );
    let r = evaluate_event(&docs.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable);
    assert_eq!(r.evaluations[0].resource_id, "i-00000000");
    assert_eq!(
        r.evaluations[0].ordering_timestamp,
        t("2016-02-17T01:36:34.043Z")
    );
    assert_eq!(fake.put_calls().len(), 5);
}

#[tokio::test]
async fn missing_result_token_is_an_error() {
    let mut ev = with_rule_parameters(event(SG_EVENT), json!({"rule": "restricted-ssh"}));
    ev.as_object_mut().unwrap().remove("resultToken");
    let fake = InMemoryConfigClient::new();
    let e = evaluate_event(&ev.to_string(), &fake).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid Config rule event: missing field resultToken"
    );
}

// ---------------------------------------------------------------- oversized notifications

#[tokio::test]
async fn oversized_notification_fetches_the_item() {
    let mut inst = item(INSTANCE_RDK);
    inst["resourceId"] = json!("i-00000000");
    let fake = InMemoryConfigClient::new().with_item(ConfigurationItem::from_value(&inst).unwrap());
    let ev = with_rule_parameters(
        event(OVERSIZED),
        json!({"rule": "ec2-instance-no-public-ip"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(
        r.message_type,
        MessageType::OversizedConfigurationItemChangeNotification
    );
    assert_eq!(r.evaluations.len(), 1);
    assert_eq!(r.evaluations[0].compliance_type, NonCompliant);
    assert_eq!(r.evaluations[0].resource_id, "i-00000000");
    assert_eq!(
        r.evaluations[0].ordering_timestamp,
        t("2017-04-05T22:23:11.677Z")
    );
    assert_eq!(
        fake.calls(),
        [
            "GetResourceConfigHistory AWS::EC2::Instance i-00000000 2016-10-06T16:46:16.261+00:00",
            "PutEvaluations 1"
        ]
    );
}

#[tokio::test]
async fn oversized_notification_for_a_vanished_or_deleted_resource() {
    let ev = with_rule_parameters(
        event(OVERSIZED),
        json!({"rule": "ec2-instance-no-public-ip"}),
    );
    let fake = InMemoryConfigClient::new();
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable);
    assert!(r.evaluations[0].annotation.as_deref().unwrap().starts_with("the resource is not recorded any more (Resource i-00000000 of resourceType:AWS::EC2::Instance"));
    assert_eq!(
        r.evaluations[0].ordering_timestamp,
        t("2016-10-06T16:46:16.261Z")
    );

    let mut inv = invoking(&ev);
    inv["configurationItemSummary"]["configurationItemStatus"] = json!("ResourceDeleted");
    let fake = InMemoryConfigClient::new();
    let r = evaluate_event(&with_invoking(ev, &inv).to_string(), &fake)
        .await
        .unwrap();
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable);
    assert_eq!(fake.call_count(op::GET_RESOURCE_CONFIG_HISTORY), 0);
}

// ---------------------------------------------------------------- scheduled notifications

#[tokio::test]
async fn scheduled_run_chunks_by_100() {
    let fake = InMemoryConfigClient::new();
    for i in 0..250 {
        fake.add_item(sg(&format!("sg-{i:04}")));
    }
    let r = evaluate_event(&scheduled("restricted-ssh").to_string(), &fake)
        .await
        .unwrap();
    assert_eq!(r.message_type, MessageType::ScheduledNotification);
    assert_eq!(r.evaluations.len(), 250);
    assert!(r
        .evaluations
        .iter()
        .all(|e| e.compliance_type == NonCompliant
            && e.ordering_timestamp == t("2016-07-13T21:50:00.373Z")));
    let sizes: Vec<usize> = fake
        .put_calls()
        .iter()
        .map(|c| c.evaluations.len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(r.put_calls, 3);
    assert!(fake
        .put_calls()
        .iter()
        .all(|c| c.result_token == "myResultToken" && !c.test_mode));
    let batches: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with(op::BATCH_GET_RESOURCE_CONFIG))
        .collect();
    assert_eq!(
        batches,
        [
            "BatchGetResourceConfig 100",
            "BatchGetResourceConfig 100",
            "BatchGetResourceConfig 50"
        ]
    );
    assert_eq!(fake.call_count(op::LIST_DISCOVERED_RESOURCES), 1);
    assert_eq!(
        fake.call_count(op::GET_COMPLIANCE_DETAILS_BY_CONFIG_RULE),
        1
    );
    assert_eq!(r.stale_cleaned, 0);
}

#[tokio::test]
async fn scheduled_run_cleans_up_stale_evaluations() {
    let fake = InMemoryConfigClient::new()
        .with_item(sg("sg-a"))
        .with_item(sg("sg-b"));
    let prev = |id: &str, c| PreviousEvaluation {
        key: ResourceKey::new("AWS::EC2::SecurityGroup", id),
        compliance_type: c,
    };
    fake.set_previous_evaluations(vec![
        prev("sg-a", Some(NonCompliant)),
        prev("sg-gone", Some(NonCompliant)),
        prev("sg-gone", Some(NonCompliant)),
        prev("sg-already-na", Some(NotApplicable)),
        prev("sg-insufficient", None),
    ]);
    let r = evaluate_event(&scheduled("restricted-ssh").to_string(), &fake)
        .await
        .unwrap();
    let summary: Vec<(&str, _)> = r
        .evaluations
        .iter()
        .map(|e| (e.resource_id.as_str(), e.compliance_type))
        .collect();
    assert_eq!(
        summary,
        [
            ("sg-a", NonCompliant),
            ("sg-b", NonCompliant),
            ("sg-gone", NotApplicable),
            ("sg-insufficient", NotApplicable)
        ]
    );
    assert_eq!(r.stale_cleaned, 2);
    assert!(r.evaluations[2]
        .annotation
        .as_deref()
        .unwrap()
        .contains("not found by the latest periodic evaluation"));
    assert!(fake
        .calls()
        .contains(&"GetComplianceDetailsByConfigRule periodic-config-rule".to_string()));
    assert_eq!(fake.put_evaluations_sent(), r.evaluations);
}

#[tokio::test]
async fn cleanup_lookup_failure_does_not_lose_the_evaluations() {
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    fake.fail(
        op::GET_COMPLIANCE_DETAILS_BY_CONFIG_RULE,
        PortError::Other("connection reset".into()),
    );
    let r = evaluate_event_with(&scheduled("restricted-ssh").to_string(), &fake, &fast())
        .await
        .unwrap();
    assert_eq!(r.evaluations.len(), 1);
    assert_eq!(fake.put_calls().len(), 1);
    assert_eq!(
        r.warnings,
        ["old evaluations not cleaned up: GetComplianceDetailsByConfigRule failed: connection reset"]
    );
}

#[tokio::test]
async fn test_mode_token() {
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    let mut ev = scheduled("restricted-ssh");
    ev["resultToken"] = json!("TESTMODE");
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert!(r.test_mode);
    let calls = fake.put_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].test_mode);
    assert_eq!(calls[0].result_token, "TESTMODE");
}

#[tokio::test]
async fn throttled_calls_are_retried_with_backoff() {
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    fake.throttle(op::PUT_EVALUATIONS, 2);
    fake.throttle(op::LIST_DISCOVERED_RESOURCES, 1);
    let start = tokio::time::Instant::now();
    let r = evaluate_event(&scheduled("restricted-ssh").to_string(), &fake)
        .await
        .unwrap();
    // Default backoff: 200 ms (list), then 200 ms + 400 ms (put).
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.put_calls, 1);
    assert_eq!(fake.call_count(op::PUT_EVALUATIONS), 3);
    assert_eq!(fake.call_count(op::LIST_DISCOVERED_RESOURCES), 2);
    assert_eq!(fake.put_calls().len(), 1);
}

#[tokio::test]
async fn throttling_gives_up_after_bounded_attempts() {
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    fake.throttle(op::LIST_DISCOVERED_RESOURCES, 100);
    let e = evaluate_event_with(&scheduled("restricted-ssh").to_string(), &fake, &fast())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "ListDiscoveredResources failed: throttled: ListDiscoveredResources: Rate exceeded"
    );
    assert_eq!(e.code(), "ThrottlingException");
    assert_eq!(fake.call_count(op::LIST_DISCOVERED_RESOURCES), 3);
    assert!(fake.put_calls().is_empty());
}

#[tokio::test]
async fn other_port_errors_are_not_retried() {
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    fake.fail(
        op::BATCH_GET_RESOURCE_CONFIG,
        PortError::Service {
            code: "AccessDeniedException".into(),
            message: "no".into(),
        },
    );
    let e = evaluate_event_with(&scheduled("restricted-ssh").to_string(), &fake, &fast())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "BatchGetResourceConfig failed: AccessDeniedException: no"
    );
    assert!(matches!(
        e,
        ConfigError::Port {
            operation: "BatchGetResourceConfig",
            ..
        }
    ));
    assert_eq!(fake.call_count(op::BATCH_GET_RESOURCE_CONFIG), 1);
}

#[tokio::test]
async fn unprocessed_keys_are_requested_again() {
    let fake = InMemoryConfigClient::new();
    for i in 0..30 {
        fake.add_item(sg(&format!("sg-{i:02}")));
    }
    fake.defer_keys_once(10);
    let r = evaluate_event_with(&scheduled("restricted-ssh").to_string(), &fake, &fast())
        .await
        .unwrap();
    assert_eq!(r.evaluations.len(), 30);
    let batches: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with(op::BATCH_GET_RESOURCE_CONFIG))
        .collect();
    assert_eq!(
        batches,
        ["BatchGetResourceConfig 30", "BatchGetResourceConfig 10"]
    );
}

#[tokio::test]
async fn failed_evaluations_are_reported() {
    let fake = InMemoryConfigClient::new()
        .with_item(sg("sg-a"))
        .with_item(sg("sg-b"));
    fake.reject_evaluations_for("sg-b");
    let r = evaluate_event(&scheduled("restricted-ssh").to_string(), &fake)
        .await
        .unwrap();
    assert_eq!(r.failed_evaluations.len(), 1);
    assert_eq!(r.failed_evaluations[0].resource_id, "sg-b");
}

#[tokio::test]
async fn scheduled_account_rule_uses_account_lookups() {
    let fake = InMemoryConfigClient::new();
    fake.set_account_data(AccountData {
        trails: Some(vec![TrailDescription {
            name: "main".into(),
            is_logging: true,
            ..Default::default()
        }]),
        ..Default::default()
    });
    let ev = with_rule_parameters(
        event("powertools-awsConfigRuleScheduled.json"),
        json!({"rule": "cloudtrail-enabled"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations.len(), 1);
    let e = &r.evaluations[0];
    assert_eq!(
        (e.resource_type.as_str(), e.resource_id.as_str()),
        ("AWS::::Account", "0123456789012")
    );
    assert_eq!(e.compliance_type, Compliant);
    assert_eq!(e.ordering_timestamp, t("2023-04-27T13:26:17.741Z"));
    assert_eq!(fake.call_count(op::DESCRIBE_TRAILS), 1);
    assert_eq!(fake.call_count(op::LIST_DISCOVERED_RESOURCES), 0);
}

#[tokio::test]
async fn snapshot_delivery_is_acknowledged() {
    let fake = InMemoryConfigClient::new();
    let ev = with_rule_parameters(
        event("aws-lambda-rust-runtime-fixture-ConfigurationSnapshotDeliveryCompleted.json"),
        json!({"rule": "restricted-ssh"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(
        r.message_type,
        MessageType::ConfigurationSnapshotDeliveryCompleted
    );
    assert!(r.evaluations.is_empty());
    assert_eq!(r.put_calls, 0);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn report_serialises() {
    let fake = InMemoryConfigClient::new();
    let ev = with_rule_parameters(event(SG_EVENT), json!({"rule": "restricted-ssh"}));
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["rule"], "restricted-ssh");
    assert_eq!(v["messageType"], "ConfigurationItemChangeNotification");
    assert_eq!(v["evaluations"][0]["ComplianceType"], "COMPLIANT");
    assert_eq!(
        v["evaluations"][0]["OrderingTimestamp"],
        "2018-09-07T05:26:45.866Z"
    );
}

/// Every scalar of every real event's invoking event replaced by odd values: the orchestrator
/// answers Ok or Err for every rule, never panics.
#[tokio::test]
async fn orchestrator_survives_type_confusion() {
    let files = [
        SG_EVENT,
        SCHEDULED,
        OVERSIZED,
        "aws-config-rules-test-EC2Instance-public-ip.json",
        "powertools-awsConfigRuleConfigurationChanged.json",
        "real-2021-S3Bucket-versioning-suspended-ConfigurationItemChangeNotification.json",
        "aws-lambda-rust-runtime-fixture-ConfigurationSnapshotDeliveryCompleted.json",
    ];
    let odd = [
        json!(null),
        json!(-1),
        json!(""),
        json!("x"),
        json!([]),
        json!({}),
        json!(true),
        json!([{}]),
    ];
    let fake = InMemoryConfigClient::new().with_item(sg("sg-a"));
    fake.set_account_data(
        serde_json::from_value(
            json!({"trails": [{}], "passwordPolicy": {}, "root": {}, "iamUsers": [{}]}),
        )
        .unwrap(),
    );
    let mut runs = 0;
    for f in files {
        let base = event(f);
        let inv = invoking(&base);
        for o in &odd {
            let mut mangled = inv.clone();
            mangle(&mut mangled, o, 0);
            for rule in trailwarden::rules::all() {
                let ev = with_rule_parameters(
                    with_invoking(base.clone(), &mangled),
                    json!({"rule": rule.name()}),
                );
                let _ = evaluate_event_with(&ev.to_string(), &fake, &fast()).await;
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 7 * 8 * 19);
}

/// Replaces scalars below the top level (keeping `messageType`) by `with`.
fn mangle(v: &mut Value, with: &Value, depth: usize) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k != "messageType" {
                    mangle(x, with, depth + 1);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mangle(x, with, depth + 1)),
        other if depth > 1 => *other = with.clone(),
        _ => {}
    }
}
