//! Account rules (trails, password policy, root and user MFA): COMPLIANT and NON_COMPLIANT from
//! account-data documents built on the reference items, NOT_APPLICABLE through the orchestrator.

mod common;

use common::*;
use serde_json::{json, Value};
use trailwarden::config::{
    evaluate_document, evaluate_event, op, AccountData, ComplianceType::*, Evaluation,
    InMemoryConfigClient, PreviousEvaluation, ResourceKey, TrailDescription,
};

/// The RDK trail item as CloudTrail would describe it (logging).
fn rdk_trail() -> Value {
    let ci = item(TRAIL_RDK);
    let c = &ci["configuration"];
    json!({
        "name": c["name"], "arn": c["trailARN"], "homeRegion": c["homeRegion"],
        "isMultiRegionTrail": c["isMultiRegionTrail"], "isLogging": true,
        "s3BucketName": c["s3BucketName"],
        "logFileValidationEnabled": c["logFileValidationEnabled"],
        "includeGlobalServiceEvents": c["includeGlobalServiceEvents"]
    })
}

fn account_doc(key: &str, value: Value) -> Value {
    let mut doc = json!({ "accountId": "212591712841" });
    doc[key] = value;
    doc
}

fn eval_account(rule: &str, params: Option<&str>, doc: &Value) -> Vec<Evaluation> {
    evaluate_document(Some(rule), params, &doc.to_string())
        .unwrap_or_else(|e| panic!("{rule}: {e}"))
}

fn one(rule: &str, params: Option<&str>, doc: &Value) -> Evaluation {
    let mut v = eval_account(rule, params, doc);
    assert_eq!(v.len(), 1, "{v:?}");
    let e = v.remove(0);
    assert_eq!(
        (e.resource_type.as_str(), e.resource_id.as_str()),
        ("AWS::::Account", "212591712841")
    );
    e
}

/// A change notification carrying the RDK trail item, for `rule`.
fn trail_change_event(rule: &str) -> Value {
    let base = with_rule_parameters(
        event("aws-config-rules-test-SecurityGroup-tcp-open-not-authorized.json"),
        json!({ "rule": rule }),
    );
    let mut inv = invoking(&base);
    inv["configurationItem"] = item(TRAIL_RDK);
    with_invoking(base, &inv)
}

/// Change-triggered account rules answer NOT_APPLICABLE for an item that left scope or was
/// deleted, without looking up the account.
async fn assert_not_applicable_on_change(rule: &str) {
    let fake = InMemoryConfigClient::new();
    let mut left = trail_change_event(rule);
    left["eventLeftScope"] = json!(true);
    let r = evaluate_event(&left.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations.len(), 1, "{rule}");
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable, "{rule}");
    assert_eq!(r.evaluations[0].resource_id, "APJCCloudTrail");

    let base = trail_change_event(rule);
    let mut inv = invoking(&base);
    inv["configurationItem"]["configurationItemStatus"] = json!("ResourceDeleted");
    let r = evaluate_event(&with_invoking(base, &inv).to_string(), &fake)
        .await
        .unwrap();
    assert_eq!(r.evaluations[0].compliance_type, NotApplicable, "{rule}");
    assert!(r.evaluations[0]
        .annotation
        .as_deref()
        .unwrap()
        .contains("ResourceDeleted"));
    for lookup in [
        op::DESCRIBE_TRAILS,
        op::GET_ACCOUNT_PASSWORD_POLICY,
        op::GET_ACCOUNT_SUMMARY,
        op::LIST_USERS,
    ] {
        assert_eq!(fake.call_count(lookup), 0, "{rule}: {lookup}");
    }
}

#[tokio::test]
async fn cloudtrail_enabled() {
    let doc = account_doc("trails", json!([rdk_trail()]));
    assert_eval(
        &one("cloudtrail-enabled", None, &doc),
        Compliant,
        Some("trail APJCCloudTrail is logging"),
    );
    assert_eval(
        &one(
            "cloudtrail-enabled",
            Some(r#"{"s3BucketName":"mborch-apjc-cloudtrail-bucket"}"#),
            &doc,
        ),
        Compliant,
        Some("trail APJCCloudTrail is logging"),
    );
    assert_eval(
        &one("cloudtrail-enabled", Some(r#"{"s3BucketName":"audit-bucket","snsTopicArn":"arn:aws:sns:us-east-1:1:t"}"#), &doc),
        NonCompliant,
        Some("no trail qualifies: trail APJCCloudTrail: delivers to bucket mborch-apjc-cloudtrail-bucket instead of audit-bucket, notifies SNS topic (none) instead of arn:aws:sns:us-east-1:1:t"),
    );
    let mut stopped = rdk_trail();
    stopped["isLogging"] = json!(false);
    assert_eval(
        &one(
            "cloudtrail-enabled",
            None,
            &account_doc("trails", json!([stopped])),
        ),
        NonCompliant,
        Some("trail APJCCloudTrail: logging is stopped"),
    );
    // A stopped trail next to a logging one is fine; log group ARNs match with or without ":*".
    let mut with_logs = rdk_trail();
    with_logs["name"] = json!("second");
    with_logs["cloudWatchLogsLogGroupArn"] = json!("arn:aws:logs:us-east-1:1:log-group:ct:*");
    assert_eval(
        &one(
            "cloudtrail-enabled",
            Some(r#"{"cloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:1:log-group:ct"}"#),
            &account_doc("trails", json!([stopped, with_logs])),
        ),
        Compliant,
        Some("trail second is logging"),
    );
    assert_eval(
        &one(
            "cloudtrail-enabled",
            None,
            &account_doc("trails", json!([])),
        ),
        NonCompliant,
        Some("no CloudTrail trail exists"),
    );
    assert_not_applicable_on_change("cloudtrail-enabled").await;
    // On a change that is in scope, the account is looked up and evaluated.
    let fake = InMemoryConfigClient::new();
    let r = evaluate_event(&trail_change_event("cloudtrail-enabled").to_string(), &fake)
        .await
        .unwrap();
    assert_eq!(r.evaluations[0].resource_type, "AWS::::Account");
    assert_eq!(r.evaluations[0].resource_id, "212591712841");
    assert_eq!(r.evaluations[0].compliance_type, NonCompliant);
    assert_eq!(fake.call_count(op::DESCRIBE_TRAILS), 1);
}

#[tokio::test]
async fn multi_region_cloudtrail_enabled() {
    let doc = account_doc("trails", json!([rdk_trail()]));
    assert_eval(
        &one("multi-region-cloudtrail-enabled", None, &doc),
        Compliant,
        Some("multi-region trail APJCCloudTrail is logging"),
    );
    let mut single = rdk_trail();
    single["isMultiRegionTrail"] = json!(false);
    assert_eval(
        &one(
            "multi-region-cloudtrail-enabled",
            None,
            &account_doc("trails", json!([single])),
        ),
        NonCompliant,
        Some("trail APJCCloudTrail: not multi-region"),
    );
    let mut selective = rdk_trail();
    selective["managementEvents"] = json!({"include": true, "readWriteType": "WriteOnly", "excludeSources": ["kms.amazonaws.com"]});
    let sel_doc = account_doc("trails", json!([selective]));
    assert_eval(
        &one("multi-region-cloudtrail-enabled", None, &sel_doc),
        NonCompliant,
        Some("excludes management event sources kms.amazonaws.com"),
    );
    assert_eval(
        &one(
            "multi-region-cloudtrail-enabled",
            Some(r#"{"readWriteType":"ALL"}"#),
            &sel_doc,
        ),
        NonCompliant,
        Some("records WriteOnly management events instead of ALL"),
    );
    let mut no_mgmt = rdk_trail();
    no_mgmt["managementEvents"] = json!({"include": false, "readWriteType": "All"});
    let no_doc = account_doc("trails", json!([no_mgmt]));
    assert_eval(
        &one("multi-region-cloudtrail-enabled", None, &no_doc),
        NonCompliant,
        Some("does not record management events"),
    );
    assert_eval(
        &one(
            "multi-region-cloudtrail-enabled",
            Some(r#"{"includeManagementEvents":"false","readWriteType":"all"}"#),
            &no_doc,
        ),
        Compliant,
        Some("is logging"),
    );
    let e = evaluate_document(
        Some("multi-region-cloudtrail-enabled"),
        Some(r#"{"readWriteType":"Everything"}"#),
        &doc.to_string(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: readWriteType: 'Everything' is not one of ReadOnly, WriteOnly, ALL"
    );
    assert_not_applicable_on_change("multi-region-cloudtrail-enabled").await;
}

#[tokio::test]
async fn iam_password_policy() {
    let strong = json!({"minimumPasswordLength": 16, "requireSymbols": true, "requireNumbers": true,
        "requireUppercaseCharacters": true, "requireLowercaseCharacters": true,
        "allowUsersToChangePassword": true, "maxPasswordAge": 60, "passwordReusePrevention": 24});
    assert_eval(
        &one(
            "iam-password-policy",
            None,
            &account_doc("passwordPolicy", strong.clone()),
        ),
        Compliant,
        None,
    );
    assert_eval(
        &one(
            "iam-password-policy",
            None,
            &account_doc("passwordPolicy", Value::Null),
        ),
        NonCompliant,
        Some("the account has no IAM password policy"),
    );
    // The IAM console's default-ish policy.
    let weak = json!({"minimumPasswordLength": 8, "requireSymbols": false, "requireNumbers": true,
        "requireUppercaseCharacters": true, "requireLowercaseCharacters": true});
    let weak_doc = account_doc("passwordPolicy", weak);
    assert_eval(
        &one("iam-password-policy", None, &weak_doc),
        NonCompliant,
        Some("password policy does not require symbols; minimum length is 8, needs at least 14; remembers 0 passwords, needs at least 24; passwords never expire, need a maximum age of 90 days or less"),
    );
    assert_eval(
        &one(
            "iam-password-policy",
            Some(
                r#"{"RequireSymbols":"false","MinimumPasswordLength":"8","PasswordReusePrevention":"","MaxPasswordAge":"90"}"#,
            ),
            &account_doc(
                "passwordPolicy",
                json!({"minimumPasswordLength": 8, "requireNumbers": true,
                "requireUppercaseCharacters": true, "requireLowercaseCharacters": true,
                "passwordReusePrevention": 24, "maxPasswordAge": 91}),
            ),
        ),
        NonCompliant,
        Some("password policy maximum age is 91 days, needs 90 or less"),
    );
    // "True" is not lowercase: read as false, as Config documents.
    let relaxed = r#"{"RequireSymbols":"True","MinimumPasswordLength":"8","PasswordReusePrevention":"1","MaxPasswordAge":"1095"}"#;
    let mut p = json!({"minimumPasswordLength": 8, "requireNumbers": true, "requireUppercaseCharacters": true,
        "requireLowercaseCharacters": true, "passwordReusePrevention": 1, "maxPasswordAge": 365});
    assert_eval(
        &one(
            "iam-password-policy",
            Some(relaxed),
            &account_doc("passwordPolicy", p.clone()),
        ),
        Compliant,
        None,
    );
    p["requireLowercaseCharacters"] = json!(false);
    assert_eval(
        &one(
            "iam-password-policy",
            Some(relaxed),
            &account_doc("passwordPolicy", p),
        ),
        NonCompliant,
        Some("does not require lowercase letters"),
    );
    let e = evaluate_document(
        Some("iam-password-policy"),
        Some(r#"{"MaxPasswordAge":"0"}"#),
        &weak_doc.to_string(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: MaxPasswordAge: 0 is out of range (1-1095)"
    );
    assert_not_applicable_on_change("iam-password-policy").await;
}

#[tokio::test]
async fn root_account_mfa_enabled() {
    assert_eval(
        &one(
            "root-account-mfa-enabled",
            None,
            &account_doc("root", json!({"mfaEnabled": true})),
        ),
        Compliant,
        None,
    );
    assert_eval(
        &one(
            "root-account-mfa-enabled",
            None,
            &account_doc(
                "root",
                json!({"mfaEnabled": false, "accessKeysPresent": true}),
            ),
        ),
        NonCompliant,
        Some("the root user has no MFA device"),
    );
    assert_not_applicable_on_change("root-account-mfa-enabled").await;
    // Through the port on a scheduled run.
    let fake = InMemoryConfigClient::new();
    fake.set_account_data(AccountData {
        root: Some(Default::default()),
        ..Default::default()
    });
    let ev = with_rule_parameters(
        event("aws-docs-ScheduledNotification.json"),
        json!({"rule": "root-account-mfa-enabled"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    assert_eq!(r.evaluations[0].resource_id, "123456789012");
    assert_eq!(r.evaluations[0].compliance_type, NonCompliant);
    assert_eq!(fake.call_count(op::GET_ACCOUNT_SUMMARY), 1);
}

/// The RDK IAM user item as an IAM user summary.
fn rdk_user(mfa: bool) -> Value {
    let ci = item(IAM_USER_RDK);
    json!({"userName": ci["configuration"]["userName"], "userId": ci["configuration"]["userId"],
           "arn": ci["configuration"]["arn"], "mfaEnabled": mfa})
}

#[tokio::test]
async fn iam_user_mfa_enabled() {
    let evs = eval_account(
        "iam-user-mfa-enabled",
        None,
        &account_doc(
            "iamUsers",
            json!([rdk_user(false), {"userName": "alice", "userId": "AIDAALICE", "mfaEnabled": true}]),
        ),
    );
    assert_eq!(evs.len(), 2);
    assert_eq!(
        (evs[0].resource_type.as_str(), evs[0].resource_id.as_str()),
        ("AWS::IAM::User", "AIDAILEDWOGIPJFAKOJKW")
    );
    assert_eval(
        &evs[0],
        NonCompliant,
        Some("IAM user johndoe has no MFA device"),
    );
    assert_eval(&evs[1], Compliant, None);
    assert!(eval_account(
        "iam-user-mfa-enabled",
        None,
        &account_doc("iamUsers", json!([]))
    )
    .is_empty());

    // A user deleted since the last run is cleaned up as NOT_APPLICABLE.
    let fake = InMemoryConfigClient::new();
    let users: AccountData =
        serde_json::from_value(account_doc("iamUsers", json!([rdk_user(true)]))).unwrap();
    fake.set_account_data(users);
    fake.set_previous_evaluations(vec![
        PreviousEvaluation {
            key: ResourceKey::new("AWS::IAM::User", "AIDAILEDWOGIPJFAKOJKW"),
            compliance_type: Some(NonCompliant),
        },
        PreviousEvaluation {
            key: ResourceKey::new("AWS::IAM::User", "AIDADELETED"),
            compliance_type: Some(NonCompliant),
        },
    ]);
    let ev = with_rule_parameters(
        event("aws-docs-ScheduledNotification.json"),
        json!({"rule": "iam-user-mfa-enabled"}),
    );
    let r = evaluate_event(&ev.to_string(), &fake).await.unwrap();
    let got: Vec<(&str, _)> = r
        .evaluations
        .iter()
        .map(|e| (e.resource_id.as_str(), e.compliance_type))
        .collect();
    assert_eq!(
        got,
        [
            ("AIDAILEDWOGIPJFAKOJKW", Compliant),
            ("AIDADELETED", NotApplicable)
        ]
    );
    assert_eq!(r.stale_cleaned, 1);
    assert_eq!(fake.call_count(op::LIST_USERS), 1);
}

#[test]
fn account_data_documents_round_trip() {
    let a = AccountData {
        account_id: "1".into(),
        trails: Some(vec![TrailDescription {
            name: "t".into(),
            ..Default::default()
        }]),
        password_policy: Some(None),
        root: None,
        iam_users: None,
    };
    let text = serde_json::to_string(&a).unwrap();
    let back: AccountData = serde_json::from_str(&text).unwrap();
    assert_eq!(a, back);
    let e = evaluate_document(Some("cloudtrail-enabled"), None, r#"{"trails": 5}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid account data: invalid type: integer `5`, expected a sequence"),
        "{e}"
    );
}
