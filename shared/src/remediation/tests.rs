//! Engine tests on the in-memory fakes: every safety path, the report, the state.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::layout::{TrailArn, TrailLocation};
use crate::notify::{MemoryNotifier, Notifier, NotifyError};
use crate::store::{MemoryStore, ObjectStore, Put};

const ACCT: &str = "123456789012";

fn compliance(rule: &str, ty: &str, id: &str, ct: &str) -> Value {
    json!({
        "version": "0", "id": "evt-1", "detail-type": "Config Rules Compliance Change", "source": "aws.config",
        "account": ACCT, "time": "2024-05-02T09:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "resourceId": id, "awsRegion": "us-east-1", "awsAccountId": ACCT, "configRuleName": rule,
            "messageType": "ComplianceChangeNotification", "resourceType": ty,
            "newEvaluationResult": {
                "evaluationResultIdentifier": {"evaluationResultQualifier": {"configRuleName": rule, "resourceType": ty, "resourceId": id}},
                "complianceType": ct, "annotation": "Versioning is not enabled."
            }
        }
    })
}

fn tamper(event_name: &str, trail: &str, ua: &str) -> Value {
    json!({
        "version": "0", "id": "evt-2", "detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail",
        "account": ACCT, "time": "2024-05-02T09:00:00Z", "region": "us-east-1",
        "detail": {
            "eventVersion": "1.09", "eventTime": "2024-05-02T09:00:00Z", "eventSource": "cloudtrail.amazonaws.com",
            "eventName": event_name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66", "userAgent": ua,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", "userName": "mallory"},
            "requestParameters": {"name": trail}, "eventID": "e-1", "recipientAccountId": ACCT
        }
    })
}

struct World {
    fake: Arc<FakeCloud>,
    cloud: Cloud,
    store: MemoryStore,
    notifier: MemoryNotifier,
    settings: RemediationSettings,
}

impl World {
    fn new() -> Self {
        let fake = Arc::new(FakeCloud::new());
        let mut settings = RemediationSettings::new(
            TrailLocation::new("trail-bucket", Some("audit"), None).unwrap(),
        );
        settings.trail_arn = Some(
            TrailArn::parse("arn:aws:cloudtrail:us-east-1:123456789012:trail/trailwarden").unwrap(),
        );
        settings
            .map_rule(
                "s3-bucket-versioning-enabled",
                &json!("AWS-ConfigureS3BucketVersioning"),
            )
            .unwrap();
        settings
            .map_rule(
                "s3-dry",
                &json!({"runbook": "AWS-ConfigureS3BucketVersioning", "dryRun": true}),
            )
            .unwrap();
        settings
            .map_rule(
                "restricted-ssh",
                &json!("AWS-DisablePublicAccessForSecurityGroup"),
            )
            .unwrap();
        Self {
            cloud: Cloud::from_one(fake.clone()),
            fake,
            store: MemoryStore::new(),
            notifier: MemoryNotifier::default(),
            settings,
        }
    }
    fn bucket(&self, name: &str) {
        self.fake.add_bucket(name, FakeBucket::default());
    }
    async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Handled {
        Remediator {
            settings: &self.settings,
            store: &self.store,
            notifier: &self.notifier,
            cloud: &self.cloud,
        }
        .handle(event, now)
        .await
    }
    /// The last published report, parsed.
    fn last(&self) -> (String, Value) {
        let (s, m) = self.notifier.messages().pop().expect("a report");
        (s, serde_json::from_str(&m).unwrap())
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 2, 9, 0, 5).unwrap()
}

#[tokio::test]
async fn remediates_reports_and_is_idempotent() {
    let w = World::new();
    w.bucket("data");
    // The change that caused it, in the suite's trail.
    let rec = json!({"eventTime": "2024-05-02T08:55:00Z", "eventSource": "s3.amazonaws.com", "eventName": "PutBucketVersioning",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Dev/alice",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/Dev", "userName": "Dev"}}},
        "requestParameters": {"bucketName": "data", "VersioningConfiguration": {"Status": "Suspended"}}, "eventID": "x"});
    let body = crate::gz::compress(json!({"Records": [rec]}).to_string().as_bytes(), 6);
    let key = "audit/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/02/123456789012_CloudTrail_us-east-1_20240502T0900Z_abcdefabcdefabcd.json.gz";
    w.store
        .put(
            "trail-bucket",
            key,
            Put {
                body,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let ev = compliance(
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "data",
        "NON_COMPLIANT",
    );
    let h = w.handle(&ev, t0()).await;
    assert_eq!(h.report().unwrap().status, ReportStatus::Remediated);
    assert_eq!(
        w.fake.bucket("data").unwrap().versioning,
        Versioning::Enabled
    );
    let (subject, r) = w.last();
    assert_eq!(
        subject,
        "[trailwarden] REMEDIATED s3-bucket-versioning-enabled AWS::S3::Bucket data"
    );
    assert_eq!(r["problem"], "Versioning is not enabled.");
    assert_eq!(r["whatWasDone"][0], "called s3:PutBucketVersioning {\"Bucket\":\"data\",\"VersioningConfiguration\":{\"Status\":\"Enabled\"}}");
    assert_eq!(r["verification"]["Passed"], true);
    assert_eq!(
        r["causedBy"]["principalArn"],
        "arn:aws:sts::123456789012:assumed-role/Dev/alice"
    );
    assert_eq!(
        r["causedBy"]["sessionIssuerArn"],
        "arn:aws:iam::123456789012:role/Dev"
    );
    assert_eq!(r["causedBy"]["sourceIpAddress"], "203.0.113.7");
    assert_eq!(r["causedBy"]["logFile"], key);
    assert_eq!(
        r["execution"]["StepExecutions"].as_array().unwrap().len(),
        3
    );
    assert_eq!(r["attempts"]["attemptsInWindow"], 1);
    assert!(r["summary"].as_str().unwrap().contains(
        "Caused by: PutBucketVersioning by arn:aws:sts::123456789012:assumed-role/Dev/alice"
    ));

    // Second run: nothing to do, said so, no call, no attempt.
    w.fake.reset_calls();
    let h = w.handle(&ev, t0() + Duration::seconds(1)).await;
    assert_eq!(h.report().unwrap().status, ReportStatus::NothingToDo);
    assert!(w.fake.writes().is_empty());
    let (_, r) = w.last();
    assert_eq!(r["whatWasDone"][0], "nothing to change: versioning Enabled");
    assert_eq!(r["attempts"]["attemptsInWindow"], 1);
}

#[tokio::test]
async fn dry_run_global_and_per_rule_change_nothing() {
    let mut w = World::new();
    w.bucket("data");
    let h = w
        .handle(
            &compliance("s3-dry", "AWS::S3::Bucket", "data", "NON_COMPLIANT"),
            t0(),
        )
        .await;
    assert_eq!(h.report().unwrap().status, ReportStatus::DryRun);
    assert!(w.fake.writes().is_empty());
    let (subject, r) = w.last();
    assert!(subject.starts_with("[trailwarden] DRY_RUN"));
    assert_eq!(r["whatWasDone"][0], "would call s3:PutBucketVersioning {\"Bucket\":\"data\",\"VersioningConfiguration\":{\"Status\":\"Enabled\"}}");
    assert_eq!(r["execution"]["StepExecutions"][1]["StepStatus"], "Pending");
    assert_eq!(r["execution"]["Mode"], "DryRun");
    assert!(
        w.store
            .keys()
            .iter()
            .all(|k| !k.contains("trailwarden/remediation")),
        "dry-run writes no state"
    );

    w.settings.dry_run = true;
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "data",
                "NON_COMPLIANT",
            ),
            t0(),
        )
        .await;
    assert_eq!(h.report().unwrap().status, ReportStatus::DryRun);
    assert_eq!(
        w.fake.bucket("data").unwrap().versioning,
        Versioning::Unversioned
    );
    assert!(w.fake.writes().is_empty());
}

#[tokio::test]
async fn exemptions_by_id_and_tag() {
    let mut w = World::new();
    w.fake.add_bucket(
        "tagged",
        FakeBucket {
            tags: [("trailwarden:exempt".to_string(), "TRUE".to_string())].into(),
            ..Default::default()
        },
    );
    w.bucket("listed");
    w.settings.exempt_ids.insert("listed".into());
    for b in ["tagged", "listed"] {
        let h = w
            .handle(
                &compliance(
                    "s3-bucket-versioning-enabled",
                    "AWS::S3::Bucket",
                    b,
                    "NON_COMPLIANT",
                ),
                t0(),
            )
            .await;
        assert_eq!(h.report().unwrap().status, ReportStatus::Skipped, "{b}");
        let (_, r) = w.last();
        assert!(
            r["whatWasDone"][0]
                .as_str()
                .unwrap()
                .starts_with("nothing: "),
            "{r}"
        );
    }
    assert!(w.fake.writes().is_empty());
}

#[tokio::test]
async fn failing_call_counts_attempts_then_exception() {
    let mut w = World::new();
    w.settings.max_attempts = 3;
    w.bucket("data");
    w.fake.fail(
        "s3:PutBucketVersioning",
        ActErrorKind::AccessDenied,
        "AccessDenied",
        None,
    );
    let ev = compliance(
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "data",
        "NON_COMPLIANT",
    );
    for i in 0..3 {
        let h = w.handle(&ev, t0() + Duration::seconds(i)).await;
        let r = h.report().unwrap();
        assert_eq!(r.status, ReportStatus::Failed);
        assert_eq!(r.attempts.as_ref().unwrap().failed_in_window, i as u32 + 1);
        assert!(
            r.error.as_deref().unwrap().contains("AccessDenied"),
            "{:?}",
            r.error
        );
        assert!(
            r.error.as_deref().unwrap().contains("grant this action"),
            "{:?}",
            r.error
        );
        assert_eq!(
            r.exception.is_some(),
            i == 2,
            "exception after the third failure"
        );
    }
    let (_, r) = w.last();
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("remediation exception is now in place"),
        "{r}"
    );
    assert_eq!(r["execution"]["StepExecutions"][1]["StepStatus"], "Failed");
    assert_eq!(
        r["execution"]["StepExecutions"][1]["FailureDetails"]["ErrorCode"],
        "AccessDenied"
    );
    assert_eq!(r["execution"]["StepExecutions"][2]["StepStatus"], "Pending");
    let puts = w
        .fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("s3:PutBucketVersioning"))
        .count();
    assert_eq!(puts, 3);

    // Next event, even much later: skipped, no call made, the exception is reported.
    w.fake.clear_failures();
    let h = w.handle(&ev, t0() + Duration::hours(2)).await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Skipped);
    assert!(r.exception.is_some());
    assert!(
        r.what_was_done[0].contains(
            "delete s3://trail-bucket/audit/trailwarden/remediation/123456789012/us-east-1/"
        ),
        "{:?}",
        r.what_was_done
    );
    assert_eq!(
        w.fake
            .calls()
            .iter()
            .filter(|c| c.starts_with("s3:PutBucketVersioning"))
            .count(),
        3
    );
}

#[tokio::test]
async fn failures_outside_the_window_do_not_add_up() {
    let mut w = World::new();
    w.settings.max_attempts = 2;
    w.settings.retry_window_seconds = 60;
    w.bucket("data");
    w.fake.fail(
        "s3:PutBucketVersioning",
        ActErrorKind::Throttled,
        "SlowDown",
        None,
    );
    let ev = compliance(
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "data",
        "NON_COMPLIANT",
    );
    for i in 0..4 {
        let h = w.handle(&ev, t0() + Duration::seconds(90 * i)).await;
        assert!(h.report().unwrap().exception.is_none(), "attempt {i}");
    }
}

#[tokio::test]
async fn repeated_successes_never_switch_remediation_off() {
    let mut w = World::new();
    w.settings.max_attempts = 2;
    let ev = compliance(
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "data",
        "NON_COMPLIANT",
    );
    for i in 0..5 {
        // Someone keeps suspending versioning: every time it is enabled again.
        w.fake.add_bucket("data", FakeBucket::default());
        let h = w.handle(&ev, t0() + Duration::seconds(i)).await;
        let r = h.report().unwrap();
        assert_eq!(r.status, ReportStatus::Remediated, "attempt {i}");
        assert!(r.exception.is_none());
        assert_eq!(
            r.attempts.as_ref().unwrap().attempts_in_window,
            i as u32 + 1
        );
    }
}

#[tokio::test]
async fn unfinished_attempts_count_against_the_limit() {
    let mut w = World::new();
    w.settings.max_attempts = 2;
    w.bucket("data");
    // Two invocations still running (or crashed) within the window.
    let ss = StateStore::new(&w.store, &w.settings.trail);
    let key = ss
        .key(ACCT, "us-east-1", "AWS-ConfigureS3BucketVersioning", "data")
        .unwrap();
    ss.update(
        &key,
        t0(),
        Duration::seconds(60),
        || ResourceState::new("AWS-ConfigureS3BucketVersioning", "AWS::S3::Bucket", "data"),
        |s| {
            for i in 0..2 {
                s.attempts.push(Attempt {
                    time: t0(),
                    execution_id: format!("running-{i}"),
                    status: AttemptStatus::InProgress,
                    error: None,
                });
            }
            ((), true)
        },
    )
    .await
    .unwrap();
    let ev = compliance(
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "data",
        "NON_COMPLIANT",
    );
    let h = w.handle(&ev, t0() + Duration::seconds(1)).await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert!(
        r.exception
            .as_ref()
            .unwrap()
            .reason
            .contains("2 failed or unfinished attempts within 60 s"),
        "{:?}",
        r.exception
    );
    assert!(r
        .error
        .as_deref()
        .unwrap()
        .contains("attempt limit reached"));
    assert!(
        w.fake.writes().is_empty(),
        "no call once the limit is reached"
    );
    let steps = &r.execution.as_ref().unwrap().step_executions;
    assert_eq!(
        steps[1].step_status,
        StepStatus::Pending,
        "planned, not attempted"
    );
    // Later, outside the window, the exception still holds until cleared.
    let h = w.handle(&ev, t0() + Duration::hours(1)).await;
    assert_eq!(h.report().unwrap().status, ReportStatus::Skipped);
}

#[tokio::test]
async fn bad_input_is_a_clear_report() {
    let w = World::new();
    // Unknown rule.
    let h = w
        .handle(
            &compliance("no-such-rule", "AWS::S3::Bucket", "data", "NON_COMPLIANT"),
            t0(),
        )
        .await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Rejected);
    assert!(r
        .error
        .as_deref()
        .unwrap()
        .contains("no runbook is mapped to Config rule \"no-such-rule\""));
    assert!(r.error.as_deref().unwrap().contains("restricted-ssh"));
    // Wrong resource type for the rule's runbook.
    let h = w
        .handle(
            &compliance("restricted-ssh", "AWS::S3::Bucket", "data", "NON_COMPLIANT"),
            t0(),
        )
        .await;
    assert!(h
        .report()
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("handles AWS::EC2::SecurityGroup"));
    // Malformed events.
    for ev in [
        json!("x"),
        json!({"detail-type": "Config Rules Compliance Change"}),
        json!({"detail-type": "Nope", "detail": {}}),
    ] {
        let h = w.handle(&ev, t0()).await;
        let r = h.report().unwrap();
        assert_eq!(r.status, ReportStatus::Rejected, "{ev}");
        assert!(r.error.as_deref().unwrap().ends_with("nothing was done"));
    }
    // COMPLIANT: nothing to report.
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "data",
                "COMPLIANT",
            ),
            t0(),
        )
        .await;
    assert!(matches!(h, Handled::Ignored { .. }));
    // Missing resource: failed, clear.
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "gone",
                "NON_COMPLIANT",
            ),
            t0(),
        )
        .await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert!(
        r.error.as_deref().unwrap().contains("NoSuchBucket"),
        "{:?}",
        r.error
    );
    assert_eq!(r.what_was_done, vec!["nothing was changed"]);
    assert!(w.fake.writes().is_empty());
}

#[tokio::test]
async fn access_denied_reading_tags_changes_nothing() {
    let w = World::new();
    w.bucket("data");
    w.fake.fail(
        "s3:GetBucketTagging",
        ActErrorKind::AccessDenied,
        "AccessDenied",
        None,
    );
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "data",
                "NON_COMPLIANT",
            ),
            t0(),
        )
        .await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("exemption tag could not be checked"),
        "{:?}",
        r.error
    );
    assert!(w.fake.writes().is_empty());
    assert_eq!(r.attempts.as_ref().unwrap().failed_in_window, 1);
    // Nothing to change anyway: the unreadable tag does not matter.
    w.fake.add_bucket(
        "ok",
        FakeBucket {
            versioning: Versioning::Enabled,
            ..Default::default()
        },
    );
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "ok",
                "NON_COMPLIANT",
            ),
            t0(),
        )
        .await;
    assert_eq!(h.report().unwrap().status, ReportStatus::NothingToDo);
}

#[tokio::test]
async fn trail_tampering_is_restored_and_alerted() {
    let w = World::new();
    let mut tr = FakeTrail {
        trail: Trail {
            name: "trailwarden".into(),
            trail_arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/trailwarden".into(),
            home_region: Some("us-east-1".into()),
            s3_bucket_name: "trail-bucket".into(),
            s3_key_prefix: Some("audit".into()),
            log_file_validation_enabled: true,
            is_multi_region_trail: true,
            include_global_service_events: true,
            kms_key_id: None,
        },
        logging: false,
        selectors: TrailSelectors::default(),
        tags: Tags::new(),
    };
    w.fake.add_trail(tr.clone());
    let h = w
        .handle(
            &tamper(
                "StopLogging",
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/trailwarden",
                "aws-cli/2",
            ),
            t0(),
        )
        .await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Remediated, "{}", r.to_json());
    assert!(w.fake.trail("trailwarden").unwrap().logging);
    assert_eq!(
        r.subject,
        "[trailwarden] ALERT REMEDIATED StopLogging on trail trailwarden by user/mallory"
    );
    let c = r.caused_by.as_ref().unwrap();
    assert_eq!(c.source_ip_address.as_deref(), Some("198.51.100.66"));
    assert_eq!(c.event_name.as_deref(), Some("StopLogging"));

    // UpdateTrail redirecting the logs.
    tr.logging = true;
    tr.trail.s3_bucket_name = "elsewhere".into();
    w.fake.add_trail(tr);
    let h = w
        .handle(&tamper("UpdateTrail", "trailwarden", "console"), t0())
        .await;
    assert_eq!(h.report().unwrap().status, ReportStatus::Remediated);
    assert_eq!(
        w.fake.trail("trailwarden").unwrap().trail.s3_bucket_name,
        "trail-bucket"
    );

    // Another trail, or the remediator's own call: ignored.
    assert!(matches!(
        w.handle(&tamper("StopLogging", "other", "x"), t0()).await,
        Handled::Ignored { .. }
    ));
    let own = format!("aws-sdk-rust/1.0 app/{REMEDIATOR_APP_NAME}");
    assert!(matches!(
        w.handle(&tamper("UpdateTrail", "trailwarden", &own), t0())
            .await,
        Handled::Ignored { .. }
    ));

    // DeleteTrail: recreated.
    let w2 = World::new();
    let h = w2
        .handle(&tamper("DeleteTrail", "trailwarden", "console"), t0())
        .await;
    assert_eq!(h.report().unwrap().status, ReportStatus::Remediated);
    let t = w2.fake.trail("trailwarden").unwrap();
    assert!(t.logging && t.trail.s3_key_prefix.as_deref() == Some("audit"));
}

#[tokio::test]
async fn unreadable_state_means_no_change() {
    let w = World::new();
    w.bucket("data");
    let ss = StateStore::new(&w.store, &w.settings.trail);
    let key = ss
        .key(ACCT, "us-east-1", "AWS-ConfigureS3BucketVersioning", "data")
        .unwrap();
    w.store
        .put(
            "trail-bucket",
            &key,
            Put {
                body: b"garbage".to_vec(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let h = w
        .handle(
            &compliance(
                "s3-bucket-versioning-enabled",
                "AWS::S3::Bucket",
                "data",
                "NON_COMPLIANT",
            ),
            t0(),
        )
        .await;
    let r = h.report().unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert!(
        r.error.as_deref().unwrap().contains("delete it to reset"),
        "{:?}",
        r.error
    );
    assert!(w.fake.writes().is_empty());
}

struct FailingNotifier;

#[async_trait]
impl Notifier for FailingNotifier {
    async fn publish(&self, _s: &str, _m: &str) -> Result<(), NotifyError> {
        Err(NotifyError("AuthorizationError: not allowed".into()))
    }
}

#[tokio::test]
async fn publish_failure_is_reported_to_the_caller() {
    let w = World::new();
    w.bucket("data");
    let n = FailingNotifier;
    let h = Remediator {
        settings: &w.settings,
        store: &w.store as &dyn ObjectStore,
        notifier: &n,
        cloud: &w.cloud,
    }
    .handle(
        &compliance(
            "s3-bucket-versioning-enabled",
            "AWS::S3::Bucket",
            "data",
            "NON_COMPLIANT",
        ),
        t0(),
    )
    .await;
    let Handled::Reported { published, report } = &h else {
        panic!()
    };
    assert!(published.is_err());
    assert_eq!(report.status, ReportStatus::Remediated);
    assert_eq!(h.summary()["published"], false);
}
