//! AWS Config custom rules through the real AWS SDK adapter
//! ([`trailwarden::aws::config::AwsConfigClient`]) against moto_server, and the
//! config-rule-evaluator function under `cargo lambda watch`.
//!
//! What moto can and cannot do here (read in moto 5.2.5's `moto/config/`):
//! * Config items exist only for the types moto maps to its own backends (`AWS::S3::Bucket`,
//!   `AWS::S3::AccountPublicAccessBlock`, `AWS::IAM::Role`, `AWS::IAM::Policy`,
//!   `AWS::SNS::Topic`); there are none for EC2 security groups or CloudTrail trails (so
//!   cloud-trail-log-file-validation-enabled, which reads trail items, is not run here), and
//!   these tests use S3 buckets. moto cannot build the item of a bucket whose ACL grants a
//!   global group (AllUsers): HTTP 500, so public buckets are made public by policy.
//!   `GetResourceConfigHistory` has no history: it returns the resource's **current** state and
//!   ignores `laterTime`/`limit` (the configuration recorder is set up anyway, as in an account,
//!   but moto does not need it). `ListDiscoveredResources` pages by 100; `BatchGetResourceConfig`
//!   never leaves keys unprocessed.
//! * moto writes item timestamps as Python text (`"2026-11-21 10:07:11.179226+00:00"`) where AWS
//!   sends epoch seconds, which the Rust SDK rejects; the recording proxy
//!   ([`trailwarden_tests::proxy`]) in front of moto rewrites them to epoch seconds.
//! * `PutEvaluations` works only with `TestMode=true` (HTML 500 otherwise): the `TESTMODE` runs
//!   go through the proxy **to moto**, which validates them; the non-TestMode requests are checked
//!   by recording the HTTP requests the SDK sends to the proxy, which answers
//!   `{"FailedEvaluations":[...]}` itself.
//! * `GetComplianceDetailsByConfigRule` is not implemented by moto: the proxy answers it from a
//!   list of previous evaluations the test sets, in pages of 100.

use std::time::Duration;

use serde_json::{json, Value};
use trailwarden::aws::config::AwsConfigClient;
use trailwarden::config::{evaluate_event_with, ComplianceType, EvaluatorOptions, Report};
use trailwarden_tests::proxy::{post_json, ConfigProxy};
use trailwarden_tests::{kit, repo_root, LambdaWatch, Moto};

const ACCOUNT: &str = "123456789012";

/// SDK configuration for an endpoint (the proxy), dummy credentials.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    trailwarden::aws::config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

async fn port_client(proxy: &ConfigProxy) -> AwsConfigClient {
    AwsConfigClient::from_sdk_config(&sdk_config(&proxy.endpoint).await)
}

fn fast() -> EvaluatorOptions {
    EvaluatorOptions {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
    }
}

/// The AWS docs' oversized notification, pointed at a resource and a rule.
fn oversized_event(resource_type: &str, resource_id: &str, rule: &str, token: &str) -> String {
    let path = kit().join(
        "data/events/config-rule-invocations/aws-docs-OversizedConfigurationItemChangeNotification.json",
    );
    let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut inv: Value = serde_json::from_str(ev["invokingEvent"].as_str().unwrap()).unwrap();
    let s = &mut inv["configurationItemSummary"];
    s["resourceType"] = json!(resource_type);
    s["resourceId"] = json!(resource_id);
    s["awsRegion"] = json!("us-east-1");
    ev["invokingEvent"] = json!(inv.to_string());
    ev["ruleParameters"] = json!(json!({ "rule": rule }).to_string());
    ev["resultToken"] = json!(token);
    ev.to_string()
}

/// The AWS docs' scheduled notification for `config_rule_name`.
fn scheduled_event(config_rule_name: &str, token: &str) -> String {
    let path =
        kit().join("data/events/config-rule-invocations/aws-docs-ScheduledNotification.json");
    let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    ev["configRuleName"] = json!(config_rule_name);
    ev["ruleParameters"] = json!("{}");
    ev["resultToken"] = json!(token);
    ev.to_string()
}

async fn start_config_recorder(moto: &Moto) {
    let cfg = moto.sdk_config().await;
    let config = aws_sdk_config::Client::new(&cfg);
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("config-delivery")
        .send()
        .await
        .unwrap();
    config
        .put_configuration_recorder()
        .configuration_recorder(
            aws_sdk_config::types::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/config-role"))
                .recording_group(
                    aws_sdk_config::types::RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            aws_sdk_config::types::DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-delivery")
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
}

async fn block_public_access(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn single(report: &Report) -> (&str, ComplianceType, Option<&str>) {
    assert_eq!(report.evaluations.len(), 1, "{report:#?}");
    let e = &report.evaluations[0];
    (
        e.resource_id.as_str(),
        e.compliance_type,
        e.annotation.as_deref(),
    )
}

fn epoch(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("not an epoch-seconds timestamp: {v}"))
}

/// (a) An `OversizedConfigurationItemChangeNotification`: the item is fetched from moto with
/// `GetResourceConfigHistory` (`laterTime` = the summary's capture time, `limit=1`, seen on the
/// wire), normalised from the API encoding and evaluated; the `TESTMODE` evaluation goes to moto,
/// which accepts it. A resource moto does not know (`ResourceNotDiscoveredException`) is
/// NOT_APPLICABLE. moto serves the current state, not history (see the module docs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_item_is_fetched_with_get_resource_config_history() {
    let moto = Moto::start();
    start_config_recorder(&moto).await;
    let s3 = moto.s3().await;
    for b in ["tw-locked", "tw-public"] {
        s3.create_bucket().bucket(b).send().await.unwrap();
    }
    block_public_access(&s3, "tw-locked").await;
    // Public through its policy (a public ACL would do too, but moto cannot build the Config
    // item of a bucket whose ACL grants a global group: IndexError, HTTP 500).
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tw-public/*",
        }],
    });
    s3.put_bucket_policy()
        .bucket("tw-public")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let proxy = ConfigProxy::start(moto.port);
    let client = port_client(&proxy).await;
    let level = "s3-bucket-level-public-access-prohibited";

    let r = evaluate_event_with(
        &oversized_event("AWS::S3::Bucket", "tw-locked", level, "TESTMODE"),
        &client,
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(single(&r).0, "tw-locked");
    assert_eq!(single(&r).1, ComplianceType::Compliant, "{r:#?}");
    assert!(r.test_mode);
    assert_eq!(r.put_calls, 1);

    let history = proxy.bodies("GetResourceConfigHistory");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["resourceType"], "AWS::S3::Bucket");
    assert_eq!(history[0]["resourceId"], "tw-locked");
    assert_eq!(history[0]["limit"], 1);
    // 2016-10-06T16:46:16.261Z, the summary's configurationItemCaptureTime.
    assert!((epoch(&history[0]["laterTime"]) - 1_475_772_376.261).abs() < 1e-3);
    let put = proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "PutEvaluations")
        .collect::<Vec<_>>();
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].status, 200, "moto accepted the TestMode request");
    assert_eq!(put[0].body["TestMode"], true);
    assert_eq!(put[0].body["ResultToken"], "TESTMODE");
    let ev = &put[0].body["Evaluations"][0];
    assert_eq!(ev["ComplianceResourceId"], "tw-locked");
    assert_eq!(ev["ComplianceType"], "COMPLIANT");

    // The public bucket: no Block Public Access, the policy allows anyone to read.
    let r = evaluate_event_with(
        &oversized_event("AWS::S3::Bucket", "tw-public", level, "TESTMODE"),
        &client,
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(single(&r).1, ComplianceType::NonCompliant, "{r:#?}");
    let r = evaluate_event_with(
        &oversized_event(
            "AWS::S3::Bucket",
            "tw-public",
            "s3-bucket-public-read-prohibited",
            "TESTMODE",
        ),
        &client,
        &fast(),
    )
    .await
    .unwrap();
    let (_, c, note) = single(&r);
    assert_eq!(c, ComplianceType::NonCompliant, "{r:#?}");
    assert!(
        note.unwrap_or_default().to_lowercase().contains("policy"),
        "{note:?}"
    );
    let r = evaluate_event_with(
        &oversized_event(
            "AWS::S3::Bucket",
            "tw-locked",
            "s3-bucket-public-read-prohibited",
            "TESTMODE",
        ),
        &client,
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(single(&r).1, ComplianceType::Compliant, "{r:#?}");

    // Unknown to Config: ResourceNotDiscoveredException -> NOT_APPLICABLE, still sent.
    let r = evaluate_event_with(
        &oversized_event("AWS::S3::Bucket", "tw-never-created", level, "TESTMODE"),
        &client,
        &fast(),
    )
    .await
    .unwrap();
    let (id, c, note) = single(&r);
    assert_eq!((id, c), ("tw-never-created", ComplianceType::NotApplicable));
    assert!(
        note.unwrap().contains("ResourceNotDiscoveredException"),
        "{note:?}"
    );
    assert_eq!(r.put_calls, 1);
}

/// (b) A periodic run (`ScheduledNotification`) over 250 buckets: 249 exist in moto (one was
/// deleted), listed with `ListDiscoveredResources` (3 pages) and fetched with
/// `BatchGetResourceConfig` (100/100/49 keys); the deleted one, still holding an evaluation from
/// an earlier run (`GetComplianceDetailsByConfigRule`, answered by the proxy in 3 pages), is
/// cleaned up as NOT_APPLICABLE; 250 evaluations leave in 3 `PutEvaluations` calls of
/// 100/100/50.
///
/// Run 1 uses the `TESTMODE` token: the three calls go to moto (`TestMode=true`), which accepts
/// them. Run 2 uses a real result token: moto cannot take it, so the test checks the three
/// requests the SDK sends as recorded by the proxy (no `TestMode`, the token, epoch-seconds
/// `OrderingTimestamp` = the notification time), and that a `FailedEvaluations` entry from the
/// service comes back in the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_run_over_250_buckets_sends_100_100_50_and_cleans_up() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    let names: Vec<String> = (0..250).map(|i| format!("tw-p-{i:03}")).collect();
    for chunk in names.chunks(25) {
        futures_join(chunk.iter().map(|b| {
            let s3 = s3.clone();
            let b = b.clone();
            async move {
                s3.create_bucket().bucket(&b).send().await.unwrap();
                let i: usize = b[5..].parse().unwrap();
                if i.is_multiple_of(4) {
                    block_public_access(&s3, &b).await;
                }
            }
        }))
        .await;
    }
    s3.delete_bucket().bucket("tw-p-249").send().await.unwrap();

    let proxy = ConfigProxy::start(moto.port);
    let rule_name = "trailwarden-s3-bucket-level-public-access-prohibited";
    let mut previous: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|n| ("AWS::S3::Bucket", n.as_str(), "NON_COMPLIANT"))
        .collect();
    previous.push(("AWS::S3::Bucket", "tw-p-cleaned-before", "NOT_APPLICABLE"));
    proxy.set_previous_evaluations(rule_name, &previous);
    let client = port_client(&proxy).await;

    // Run 1: TESTMODE, evaluations validated by moto.
    let r = evaluate_event_with(&scheduled_event(rule_name, "TESTMODE"), &client, &fast())
        .await
        .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.evaluations.len(), 250);
    assert_eq!(r.stale_cleaned, 1);
    assert_eq!(r.put_calls, 3);
    assert!(r.test_mode);
    let count = |c| {
        r.evaluations
            .iter()
            .filter(|e| e.compliance_type == c)
            .count()
    };
    assert_eq!(
        count(ComplianceType::Compliant),
        63,
        "tw-p-000, 004, ... 248"
    );
    assert_eq!(count(ComplianceType::NonCompliant), 186);
    assert_eq!(count(ComplianceType::NotApplicable), 1);

    let ops = |op: &str| {
        proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation == op)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ops("ListDiscoveredResources").len(),
        3,
        "249 ids in pages of 100"
    );
    let batch_sizes: Vec<usize> = ops("BatchGetResourceConfig")
        .iter()
        .map(|r| r.body["resourceKeys"].as_array().unwrap().len())
        .collect();
    assert_eq!(batch_sizes, [100, 100, 49]);
    assert_eq!(ops("GetComplianceDetailsByConfigRule").len(), 3);
    let puts = ops("PutEvaluations");
    let sizes: Vec<usize> = puts
        .iter()
        .map(|p| p.body["Evaluations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    for p in &puts {
        assert_eq!(p.status, 200, "moto accepted the TestMode batch");
        assert_eq!(p.body["TestMode"], true);
    }
    let last = puts[2].body["Evaluations"].as_array().unwrap();
    let stale = last
        .iter()
        .find(|e| e["ComplianceResourceId"] == "tw-p-249")
        .expect("the deleted bucket is cleaned up");
    assert_eq!(stale["ComplianceType"], "NOT_APPLICABLE");
    assert!(
        !puts
            .iter()
            .flat_map(|p| p.body["Evaluations"].as_array().unwrap().clone())
            .any(|e| e["ComplianceResourceId"] == "tw-p-cleaned-before"),
        "resources already NOT_APPLICABLE are not sent again"
    );

    // Run 2: a real result token; the requests are recorded (moto cannot take them).
    proxy.clear();
    proxy.reject_evaluations_for("tw-p-007");
    let token = "eyJlbmNyeXB0ZWREYXRhIjpbMSwyLDNdfQ==";
    let r = evaluate_event_with(&scheduled_event(rule_name, token), &client, &fast())
        .await
        .unwrap();
    assert!(!r.test_mode);
    assert_eq!(r.put_calls, 3);
    assert_eq!(r.failed_evaluations.len(), 1);
    assert_eq!(r.failed_evaluations[0].resource_id, "tw-p-007");
    assert_eq!(
        r.failed_evaluations[0].compliance_type,
        ComplianceType::NonCompliant
    );
    let puts = ops("PutEvaluations");
    let sizes: Vec<usize> = puts
        .iter()
        .map(|p| p.body["Evaluations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    // 2016-07-13T21:50:00.373Z, the notificationCreationTime of the scheduled event.
    let nct = 1_468_446_600.373;
    for p in &puts {
        assert!(
            p.body.get("TestMode").is_none() || p.body["TestMode"] == false,
            "{}",
            p.body
        );
        assert_eq!(p.body["ResultToken"], token);
        for e in p.body["Evaluations"].as_array().unwrap() {
            assert_eq!(e["ComplianceResourceType"], "AWS::S3::Bucket");
            assert!((epoch(&e["OrderingTimestamp"]) - nct).abs() < 1e-3, "{e}");
            let c = e["ComplianceType"].as_str().unwrap();
            assert!(["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"].contains(&c));
            if let Some(a) = e.get("Annotation").and_then(Value::as_str) {
                assert!((1..=256).contains(&a.chars().count()), "{a}");
            }
        }
    }
}

/// Throttling on the wire (400 `ThrottlingException`, and a bare 429) is mapped to the port's
/// `Throttled` and retried by the evaluator (the SDK's own retries are off, so every attempt is
/// one recorded request); other service errors surface with their AWS code and message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_errors_keep_the_aws_code() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    s3.create_bucket().bucket("tw-t").send().await.unwrap();
    let proxy = ConfigProxy::start(moto.port);
    let client = port_client(&proxy).await;
    let event = oversized_event(
        "AWS::S3::Bucket",
        "tw-t",
        "s3-bucket-level-public-access-prohibited",
        "TESTMODE",
    );

    proxy.throttle("GetResourceConfigHistory", 2);
    proxy.throttle("PutEvaluations", 1);
    let r = evaluate_event_with(&event, &client, &fast()).await.unwrap();
    assert_eq!(single(&r).1, ComplianceType::NonCompliant);
    let statuses = |op: &str| {
        proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation == op)
            .map(|r| r.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses("GetResourceConfigHistory"), [400, 400, 200]);
    assert_eq!(statuses("PutEvaluations"), [400, 200]);

    // Throttled on every attempt: the evaluator gives up with a throttling error.
    proxy.clear();
    proxy.fail("GetResourceConfigHistory", 429, "", "");
    let err = evaluate_event_with(&event, &client, &fast())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ThrottlingException", "{err}");
    assert_eq!(
        statuses("GetResourceConfigHistory").len(),
        4,
        "max_attempts"
    );

    // Anything else: the AWS code and message, no retry.
    let proxy = ConfigProxy::start(moto.port);
    let client = port_client(&proxy).await;
    proxy.fail(
        "PutEvaluations",
        400,
        "InvalidResultTokenException",
        "The result token is invalid.",
    );
    let err = evaluate_event_with(&event, &client, &fast())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PutEvaluations failed: InvalidResultTokenException: The result token is invalid."
    );
    assert_eq!(statuses_of(&proxy, "PutEvaluations"), [400]);
}

fn statuses_of(proxy: &ConfigProxy, op: &str) -> Vec<u16> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == op)
        .map(|r| r.status)
        .collect()
}

/// Account rules on a schedule read CloudTrail (`DescribeTrails`, `GetTrailStatus`,
/// `GetEventSelectors`) and IAM (`GetAccountPasswordPolicy`, `GetAccountSummary`, `ListUsers`,
/// `ListMFADevices`) from moto through the adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_rules_read_cloudtrail_and_iam_from_the_emulator() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("tw-trail-bucket")
        .send()
        .await
        .unwrap();
    let ct = aws_sdk_cloudtrail::Client::new(&cfg);
    ct.create_trail()
        .name("org-trail")
        .s3_bucket_name("tw-trail-bucket")
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("org-trail").send().await.unwrap();
    let iam = aws_sdk_iam::Client::new(&cfg);
    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .password_reuse_prevention(24)
        .max_password_age(90)
        .send()
        .await
        .unwrap();
    let mut user_ids = std::collections::BTreeMap::new();
    for u in ["alice", "bob"] {
        let out = iam.create_user().user_name(u).send().await.unwrap();
        user_ids.insert(u, out.user().unwrap().user_id().to_string());
    }
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice-mfa")
        .send()
        .await
        .unwrap();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(mfa.virtual_mfa_device().unwrap().serial_number())
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();

    let proxy = ConfigProxy::start(moto.port);
    proxy.set_previous_evaluations("any", &[]);
    let client = port_client(&proxy).await;
    let run = |rule: &'static str| {
        let client = client.clone();
        async move {
            evaluate_event_with(
                &scheduled_event(&format!("trailwarden-{rule}"), "TESTMODE"),
                &client,
                &fast(),
            )
            .await
            .unwrap_or_else(|e| panic!("{rule}: {e}"))
        }
    };

    for rule in [
        "cloudtrail-enabled",
        "multi-region-cloudtrail-enabled",
        "iam-password-policy",
    ] {
        let r = run(rule).await;
        let (id, c, note) = single(&r);
        assert_eq!(id, ACCOUNT);
        assert_eq!(c, ComplianceType::Compliant, "{rule}: {note:?}");
    }
    // moto's GetAccountSummary reports no root MFA.
    let r = run("root-account-mfa-enabled").await;
    assert_eq!(single(&r).1, ComplianceType::NonCompliant);
    let r = run("iam-user-mfa-enabled").await;
    let by_id = |id: &str| {
        r.evaluations
            .iter()
            .find(|e| e.resource_id == id)
            .map(|e| e.compliance_type)
    };
    assert_eq!(by_id(&user_ids["alice"]), Some(ComplianceType::Compliant));
    assert_eq!(by_id(&user_ids["bob"]), Some(ComplianceType::NonCompliant));
    for op in [
        "DescribeTrails",
        "GetTrailStatus",
        "GetEventSelectors",
        "GetAccountPasswordPolicy",
        "GetAccountSummary",
        "ListUsers",
        "ListMFADevices",
    ] {
        assert!(
            proxy
                .requests()
                .iter()
                .any(|r| r.operation == op && r.status == 200),
            "{op} was called"
        );
    }
}

/// (c) The function through the real Lambda runtime path: `cargo lambda watch` (the Runtime API
/// emulator, which starts the function with `cargo run --bin config-rule-evaluator`) receives an
/// HTTP invoke of `events/config-rule-evaluator/OversizedConfigurationItemChangeNotification.json`;
/// the function, with the emulator's environment, fetches the bucket from moto through the proxy
/// and sends its TESTMODE evaluation, which moto accepts. The invalid-parameter sample comes back
/// as a Lambda error `InvalidParameterValueException` and sends nothing. `LambdaWatch` runs watch
/// under `timeout` in its own process group and kills the group on drop.
#[test]
fn function_runs_under_cargo_lambda_watch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    rt.block_on(async {
        let s3 = moto.s3().await;
        s3.create_bucket()
            .bucket("trailwarden-sample-bucket")
            .send()
            .await
            .unwrap();
        block_public_access(&s3, "trailwarden-sample-bucket").await;
    });
    let proxy = ConfigProxy::start(moto.port);
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone()));
    env.push(("RUST_LOG".into(), "info".into()));
    let watch = LambdaWatch::start(&env);
    let port = watch.port;
    let log = || {
        std::fs::read_to_string(std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log")))
            .unwrap_or_default()
    };
    let invoke = |file: &str| -> (u16, Value) {
        let body =
            std::fs::read(repo_root().join("events/config-rule-evaluator").join(file)).unwrap();
        // The first invocation compiles the function.
        let (status, text) = post_json(
            port,
            "/2015-03-31/functions/config-rule-evaluator/invocations",
            &body,
            Duration::from_secs(1200),
        )
        .unwrap_or_else(|e| panic!("invoke {file}: {e}\n{}", log()));
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{file}: {status} {text}\n{}", log()));
        (status, v)
    };

    let (status, out) = invoke("OversizedConfigurationItemChangeNotification.json");
    assert_eq!(status, 200, "{out}\n{}", log());
    assert_eq!(
        out["rule"], "s3-bucket-level-public-access-prohibited",
        "{out}"
    );
    assert_eq!(
        out["messageType"],
        "OversizedConfigurationItemChangeNotification"
    );
    assert_eq!(out["compliant"], 1, "{out}");
    assert_eq!(out["testMode"], true);
    assert_eq!(out["putEvaluationsCalls"], 1);
    let history = proxy.bodies("GetResourceConfigHistory");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["resourceId"], "trailwarden-sample-bucket");
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "PutEvaluations")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].status, 200, "moto accepted it");
    assert_eq!(puts[0].body["TestMode"], true);
    assert_eq!(
        puts[0].body["Evaluations"][0]["ComplianceResourceId"],
        "trailwarden-sample-bucket"
    );
    assert_eq!(
        puts[0].body["Evaluations"][0]["ComplianceType"],
        "COMPLIANT"
    );

    let (_, err) = invoke("invalid-parameter.json");
    assert_eq!(err["errorType"], "InvalidParameterValueException", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .starts_with("InvalidParameterValueException: blockedPort1"),
        "{err}"
    );
    assert_eq!(
        proxy.bodies("PutEvaluations").len(),
        1,
        "nothing sent for invalid parameters"
    );
    drop(watch);
}

/// Runs futures concurrently (a join_all without another dependency).
async fn futures_join<F: std::future::Future<Output = ()> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}
