//! The remediator against moto_server through the real AWS SDK: every runbook with a sample
//! EventBridge event from `events/remediator/`, the report read back through an SQS queue
//! subscribed to the SNS topic.
//!
//! Each runbook's scenario (one emulator per scenario, so they run in parallel):
//! 1. dry-run: the report lists the exact calls, the resource is unchanged;
//! 2. the remediation: the resource read back complies, the report says what was done, the
//!    verification result and who caused it (a CloudTrail record delivered into the suite's
//!    trail bucket by the suite's own log delivery);
//! 3. again: nothing to do, and the report says so;
//! 4. an exempt resource (EXEMPT_RESOURCE_IDS, or the `trailwarden:exempt=true` tag): skipped,
//!    unchanged;
//! 5. a failing call: moto's IAM enforcement is switched on (`/moto-api/reset-auth`) and the
//!    remediator's clients use an IAM user that may only read (`Get*`, `Describe*`, `List*`),
//!    so the runbook's write call gets a real AccessDenied; with MAX_ATTEMPTS=2 the second
//!    failure records a remediation exception, the third event is skipped without a call.
//!
//! Moto specifics worked around: its default security group has no self-referencing ingress
//! rule (the test adds one); it enforces bucket policies only on object operations, so after
//! the TLS-only policy GetBucketPolicy still answers over plain HTTP (the verification reads
//! it) while GetObject is refused with 403 (the test checks both, on a bucket separate from the
//! trail bucket, which stays writable).

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::aws::sns::SnsNotifier;
use trailwarden::delivery::{deliver_batch, DeliveryConfig, Message};
use trailwarden::layout::TrailLocation;
use trailwarden::remediation::{Cloud, Handled, RemediationSettings, Remediator};
use trailwarden_tests::{http_get, repo_root, Moto};

const ACCT: &str = "123456789012";
const TRAIL_BUCKET: &str = "tw-trail-bucket";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/trailwarden";

/// The rule → runbook mapping, as the template sets RULE_RUNBOOKS.
const RULE_RUNBOOKS: &str = r#"{
  "s3-bucket-level-public-access-prohibited": "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
  "s3-bucket-server-side-encryption-enabled": {"runbook": "AWS-EnableS3BucketEncryption", "parameters": {"SSEAlgorithm": "AES256"}},
  "s3-bucket-versioning-enabled": "AWS-ConfigureS3BucketVersioning",
  "s3-bucket-ssl-requests-only": "AWSConfigRemediation-RestrictBucketSSLRequestsOnly",
  "restricted-ssh": "AWS-DisablePublicAccessForSecurityGroup",
  "restricted-common-ports": "AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules",
  "vpc-default-security-group-closed": "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules",
  "cloud-trail-log-file-validation-enabled": "AWSConfigRemediation-EnableCloudTrailLogFileValidation",
  "cloudtrail-enabled": {"runbook": "AWS-EnableCloudTrail", "parameters": {"TrailName": "tw-remed-logging", "S3BucketName": "tw-trail-bucket"}},
  "ec2-ebs-encryption-by-default": "AWSConfigRemediation-EnableEbsEncryptionByDefault",
  "required-tags": {"runbook": "TrailWarden-SetRequiredTags", "parameters": {"Tags": {"CostCenter": "unassigned", "Owner": "security"}}}
}"#;

const READ_ONLY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","ec2:Describe*","ec2:Get*","cloudtrail:Get*","cloudtrail:Describe*","cloudtrail:List*","rds:Describe*","rds:List*"],"Resource":"*"}]}"#;
const ADMIN_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn event(name: &str) -> Value {
    let p = repo_root().join("events/remediator").join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// Replaces the resource id of a compliance event (ids the emulator generates).
fn with_resource_id(mut ev: Value, id: &str) -> Value {
    ev["detail"]["resourceId"] = json!(id);
    ev["detail"]["newEvaluationResult"]["evaluationResultIdentifier"]
        ["evaluationResultQualifier"]["resourceId"] = json!(id);
    if ev["detail"].get("oldEvaluationResult").is_some() {
        ev["detail"]["oldEvaluationResult"]["evaluationResultIdentifier"]
            ["evaluationResultQualifier"]["resourceId"] = json!(id);
    }
    ev
}

fn event_time(ev: &Value) -> DateTime<Utc> {
    trailwarden::layout::parse_time(ev["time"].as_str().unwrap()).unwrap()
}

struct Keys {
    id: String,
    secret: String,
}

/// Two emulators: `infra` holds the suite's own resources (the trail bucket with the state and
/// the trail's log files, the SNS topic, the SQS queue); `res` holds the resources being
/// remediated, and is the one whose IAM enforcement is switched on for the failing-call phase.
/// (With moto's IAM enforcement on, SNS Publish of a report fails with SignatureDoesNotMatch:
/// moto re-encodes the form body of the JSON message differently from the SDK. Keeping the
/// suite's side on an emulator without enforcement avoids that; in AWS both are one account.)
struct Env {
    infra: Moto,
    res: Moto,
    /// Clients of the suite's side (`infra`).
    infra_cfg: aws_config::SdkConfig,
    /// An IAM user allowed everything on `res` (keeps working once enforcement is on).
    admin: aws_config::SdkConfig,
    reader: aws_config::SdkConfig,
    store: S3Store,
    notifier: SnsNotifier,
    queue_url: String,
    settings: RemediationSettings,
    cloud: Cloud,
}

async fn config(moto: &Moto, k: &Keys) -> aws_config::SdkConfig {
    trailwarden::aws::config_loader()
        .endpoint_url(&moto.endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &k.id, &k.secret, None, None, "moto",
        ))
        .app_name(aws_config::AppName::new(trailwarden::remediation::REMEDIATOR_APP_NAME).unwrap())
        .load()
        .await
}

fn iam_user(moto: &Moto, name: &str, policy: &str) -> Keys {
    iam_query::create_user(moto.port, name);
    iam_query::put_user_policy(moto.port, name, policy);
    iam_query::create_access_key(moto.port, name)
}

/// IAM users through the query API by hand (moto answers unsigned IAM requests while its IAM
/// enforcement is off; the IAM SDK crate is not worth a dependency for three set-up calls).
mod iam_query {
    use std::io::{Read, Write};

    use super::Keys;

    fn post(port: u16, body: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(
            out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"),
            "IAM call failed: {out}"
        );
        out
    }

    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
        let start = s.find(open).map(|i| i + open.len()).expect(open);
        let end = s[start..].find(close).map(|i| start + i).expect(close);
        &s[start..end]
    }

    pub fn create_user(port: u16, name: &str) {
        post(
            port,
            &format!("Action=CreateUser&Version=2010-05-08&UserName={name}"),
        );
    }

    pub fn put_user_policy(port: u16, name: &str, policy: &str) {
        post(port, &format!("Action=PutUserPolicy&Version=2010-05-08&UserName={name}&PolicyName=p&PolicyDocument={}", enc(policy)));
    }

    pub fn create_access_key(port: u16, name: &str) -> Keys {
        let out = post(
            port,
            &format!("Action=CreateAccessKey&Version=2010-05-08&UserName={name}"),
        );
        Keys {
            id: between(&out, "<AccessKeyId>", "</AccessKeyId>").into(),
            secret: between(&out, "<SecretAccessKey>", "</SecretAccessKey>").into(),
        }
    }
}

impl Env {
    async fn start() -> Env {
        let infra = Moto::start();
        let res = Moto::start();
        let admin_keys = iam_user(&res, "admin", ADMIN_POLICY);
        let reader_keys = iam_user(&res, "remediator-read-only", READ_ONLY_POLICY);
        let admin = config(&res, &admin_keys).await;
        let reader = config(&res, &reader_keys).await;
        let infra_cfg = config(
            &infra,
            &Keys {
                id: "test".into(),
                secret: "test".into(),
            },
        )
        .await;
        // The trail bucket: on the suite's side (state, log files), and on the resource side
        // too (CreateTrail checks that the bucket exists).
        s3(&admin)
            .create_bucket()
            .bucket(TRAIL_BUCKET)
            .send()
            .await
            .unwrap();
        let s3 = s3(&infra_cfg);
        s3.create_bucket()
            .bucket(TRAIL_BUCKET)
            .send()
            .await
            .unwrap();
        let store = S3Store::new(s3, Sse::S3);
        let sns = aws_sdk_sns::Client::new(&infra_cfg);
        let sqs = aws_sdk_sqs::Client::new(&infra_cfg);
        let topic = sns
            .create_topic()
            .name("tw-alerts")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        let queue_url = sqs
            .create_queue()
            .queue_name("tw-alerts-inbox")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        let notifier = SnsNotifier::new(sns, topic);
        let mut settings = RemediationSettings::from_env_with(&|k: &str| {
            HashMap::from([
                ("TRAIL_BUCKET", TRAIL_BUCKET),
                ("S3_KEY_PREFIX", "audit"),
                ("TRAIL_ARN", TRAIL_ARN),
                ("RULE_RUNBOOKS", RULE_RUNBOOKS),
                ("MAX_ATTEMPTS", "2"),
                ("RETRY_WINDOW_SECONDS", "600"),
            ])
            .get(k)
            .map(|v| v.to_string())
        })
        .unwrap();
        settings.cause_lookback_days = 2;
        let cloud = trailwarden::aws::cloud(&admin, true);
        Env {
            infra,
            res,
            infra_cfg,
            admin,
            reader,
            store,
            notifier,
            queue_url,
            settings,
            cloud,
        }
    }

    /// Handles one event and returns the report read back from the SQS queue (exactly one
    /// message per handled event), checked against the in-process report.
    async fn run(&self, ev: &Value) -> Value {
        let now = Utc::now();
        let h = Remediator {
            settings: &self.settings,
            store: &self.store,
            notifier: &self.notifier,
            cloud: &self.cloud,
        }
        .handle(ev, now)
        .await;
        let Handled::Reported { report, published } = h else {
            panic!("event ignored: {h:?}")
        };
        published.expect("report published");
        let msgs = self.drain().await;
        assert_eq!(msgs.len(), 1, "one report per remediation: {msgs:?}");
        let (subject, body) = &msgs[0];
        assert_eq!(subject, &report.subject);
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["status"], report.status.as_str());
        v
    }

    /// Every message in the queue: (SNS Subject, SNS Message).
    async fn drain(&self) -> Vec<(String, String)> {
        let sqs = aws_sdk_sqs::Client::new(&self.infra_cfg);
        let mut out = Vec::new();
        loop {
            let r = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            if r.messages().is_empty() {
                break;
            }
            for m in r.messages() {
                let env: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                assert_eq!(
                    env["Type"], "Notification",
                    "the SQS body is the SNS envelope"
                );
                out.push((
                    env["Subject"].as_str().unwrap_or_default().to_string(),
                    env["Message"].as_str().unwrap().to_string(),
                ));
                sqs.delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        out
    }

    /// Switches moto's IAM enforcement on and the remediator's actuators to the read-only user.
    fn read_only_remediator(&mut self) {
        let port = self.res.port;
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "POST /moto-api/reset-auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.contains("200"), "{out}");
        self.cloud = trailwarden::aws::cloud(&self.reader, true);
    }

    /// Delivers a CloudTrail record of the change into the suite's trail (as log-delivery
    /// does), so the report can say who caused it.
    async fn record_change(
        &self,
        event_name: &str,
        source: &str,
        at: DateTime<Utc>,
        params: Value,
        who: &str,
    ) {
        let rec = json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{ACCT}:user/{who}"),
                "accountId": ACCT, "accessKeyId": "AKIAEXAMPLE", "userName": who},
            "eventTime": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "eventSource": source, "eventName": event_name,
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.77", "userAgent": "aws-cli/2.15.0",
            "requestParameters": params, "responseElements": null, "requestID": "R1", "eventID": format!("{event_name}-{who}"),
            "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCT, "eventCategory": "Management"
        });
        let cfg =
            DeliveryConfig::new(TrailLocation::new(TRAIL_BUCKET, Some("audit"), None).unwrap());
        let msg = Message {
            id: format!("m-{event_name}-{who}"),
            body: rec.to_string(),
            sent: Some(at + Duration::minutes(2)),
        };
        let rep = deliver_batch(&self.store, &cfg, &[msg], at + Duration::minutes(2)).await;
        assert_eq!(rep.files.len(), 1, "{rep:?}");
    }
}

/// GetBucketVersioning by hand (unsigned, so only while IAM enforcement is off): moto 5.2.5
/// answers with the root element GetBucketVersioningResponse, which the SDK refuses to decode.
fn versioning_status(e: &Env, bucket: &str) -> String {
    let body = http_get(e.res.port, &format!("/{bucket}?versioning")).expect("GetBucketVersioning");
    body.split_once("<Status>")
        .and_then(|(_, r)| r.split_once("</Status>"))
        .map(|(s, _)| s.to_string())
        .unwrap_or_default()
}

fn s3(cfg: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    )
}

/// The common scenario. `break_it` makes the resource non-compliant (again), `complies` reads
/// it back.
async fn scenario<B, C>(env: &mut Env, ev: Value, exempt_id: &str, break_it: B, complies: C)
where
    B: for<'a> AsyncFn(&'a Env),
    C: for<'a> AsyncFn(&'a Env) -> bool,
{
    break_it(&*env).await;
    assert!(!complies(&*env).await, "the resource starts non-compliant");

    // 1. Dry-run (global): the exact calls, nothing changed.
    env.settings.dry_run = true;
    let r = env.run(&ev).await;
    assert_eq!(r["status"], "DRY_RUN", "{r:#}");
    assert!(!r["whatWasDone"].as_array().unwrap().is_empty());
    assert!(
        r["whatWasDone"][0]
            .as_str()
            .unwrap()
            .starts_with("would call "),
        "{r:#}"
    );
    assert!(!complies(&*env).await, "dry-run changed nothing");
    env.settings.dry_run = false;

    // 2. The remediation.
    let r = env.run(&ev).await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    assert_eq!(r["verification"]["Passed"], true, "{r:#}");
    assert!(
        r["whatWasDone"][0].as_str().unwrap().starts_with("called "),
        "{r:#}"
    );
    assert!(r["subject"].as_str().unwrap().starts_with("[trailwarden] "));
    let steps = r["execution"]["StepExecutions"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["StepStatus"] == "Success"), "{r:#}");
    assert!(complies(&*env).await, "read back: compliant");

    // 3. Again: nothing to do, said so.
    let r2 = env.run(&ev).await;
    assert_eq!(r2["status"], "NOTHING_TO_DO", "{r2:#}");
    assert!(
        r2["whatWasDone"][0]
            .as_str()
            .unwrap()
            .starts_with("nothing to change: "),
        "{r2:#}"
    );

    // 4. Exempt (by id): skipped, unchanged.
    break_it(&*env).await;
    env.settings.exempt_ids.insert(exempt_id.to_string());
    let r3 = env.run(&ev).await;
    assert_eq!(r3["status"], "SKIPPED", "{r3:#}");
    assert!(!complies(&*env).await, "an exempt resource is left alone");
    env.settings.exempt_ids.clear();

    // 5. A failing call: access denied for real; attempts counted, exception after the limit.
    env.read_only_remediator();
    let f1 = env.run(&ev).await;
    assert_eq!(f1["status"], "FAILED", "{f1:#}");
    assert!(
        f1["error"].as_str().unwrap().contains("AccessDenied")
            || f1["error"]
                .as_str()
                .unwrap()
                .contains("UnauthorizedOperation")
            || f1["error"].as_str().unwrap().contains("not authorized"),
        "{f1:#}"
    );
    assert_eq!(f1["attempts"]["failedInWindow"], 1, "{f1:#}");
    assert!(f1.get("exception").is_none());
    let f2 = env.run(&ev).await;
    assert_eq!(f2["status"], "FAILED");
    assert_eq!(f2["attempts"]["failedInWindow"], 2);
    assert!(
        f2["exception"]["reason"]
            .as_str()
            .unwrap()
            .contains("2 failed attempts"),
        "{f2:#}"
    );
    let f3 = env.run(&ev).await;
    assert_eq!(f3["status"], "SKIPPED", "{f3:#}");
    assert!(
        f3["whatWasDone"][0]
            .as_str()
            .unwrap()
            .contains("remediation exception"),
        "{f3:#}"
    );
    assert!(
        f3.get("execution").is_none(),
        "no attempt once the exception is in place"
    );
    // The exception record is in the trail bucket.
    let obj = f3["attempts"]["stateObject"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("s3://{TRAIL_BUCKET}/"))
        .unwrap()
        .to_string();
    let st = s3(&env.infra_cfg)
        .get_object()
        .bucket(TRAIL_BUCKET)
        .key(&obj)
        .send()
        .await
        .unwrap();
    let st: Value = serde_json::from_slice(&st.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        st["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "Failed")
            .count(),
        2
    );
    assert!(st["exception"]["created"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_versioning_with_who_caused_it() {
    let mut env = Env::start().await;
    let ev = event("config-compliance-s3-bucket-versioning-enabled.json");
    let b = "tw-remed-versioning";
    s3(&env.admin)
        .create_bucket()
        .bucket(b)
        .send()
        .await
        .unwrap();
    env.record_change(
        "PutBucketVersioning",
        "s3.amazonaws.com",
        event_time(&ev) - Duration::minutes(3),
        json!({"bucketName": b, "VersioningConfiguration": {"Status": "Suspended"}}),
        "mallory",
    )
    .await;
    // Who caused it, in the first report (the dry-run).
    env.settings.dry_run = true;
    let r = env.run(&ev).await;
    assert_eq!(
        r["causedBy"]["principalArn"], "arn:aws:iam::123456789012:user/mallory",
        "{r:#}"
    );
    assert_eq!(r["causedBy"]["eventName"], "PutBucketVersioning");
    assert_eq!(r["causedBy"]["sourceIpAddress"], "203.0.113.77");
    assert!(r["causedBy"]["logFile"]
        .as_str()
        .unwrap()
        .starts_with("audit/AWSLogs/123456789012/CloudTrail/us-east-1/2026/05/04/"));
    assert_eq!(r["problem"], "versioning is Suspended: enable versioning");
    env.settings.dry_run = false;
    scenario(
        &mut env,
        ev,
        b,
        async |e: &Env| {
            s3(&e.admin)
                .put_bucket_versioning()
                .bucket(b)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        },
        async |e: &Env| versioning_status(e, b) == "Enabled",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_public_access_block() {
    let mut env = Env::start().await;
    let b = "tw-remed-public";
    s3(&env.admin)
        .create_bucket()
        .bucket(b)
        .send()
        .await
        .unwrap();
    scenario(
        &mut env,
        event("config-compliance-s3-bucket-level-public-access-prohibited.json"),
        b,
        async |e: &Env| {
            let _ = s3(&e.admin)
                .delete_public_access_block()
                .bucket(b)
                .send()
                .await;
        },
        async |e: &Env| match s3(&e.admin)
            .get_public_access_block()
            .bucket(b)
            .send()
            .await
        {
            Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            }),
            Err(_) => false,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_default_encryption() {
    let mut env = Env::start().await;
    let b = "tw-remed-encryption";
    s3(&env.admin)
        .create_bucket()
        .bucket(b)
        .send()
        .await
        .unwrap();
    scenario(
        &mut env,
        event("config-compliance-s3-bucket-server-side-encryption-enabled.json"),
        b,
        async |e: &Env| {
            let _ = s3(&e.admin)
                .delete_bucket_encryption()
                .bucket(b)
                .send()
                .await;
        },
        async |e: &Env| match s3(&e.admin).get_bucket_encryption().bucket(b).send().await {
            Ok(o) => o.server_side_encryption_configuration().is_some_and(|c| {
                c.rules()
                    .first()
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str())
                    == Some("AES256")
            }),
            Err(_) => false,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_tls_only_keeps_the_existing_policy() {
    let mut env = Env::start().await;
    // A bucket separate from the trail bucket: moto refuses every plain-HTTP object request to
    // it once the policy is in place.
    let b = "tw-remed-tls";
    let c = s3(&env.admin);
    c.create_bucket().bucket(b).send().await.unwrap();
    c.put_object()
        .bucket(b)
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let keep = json!({"Sid": "ReadForPartner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")});
    let keep2 = keep.clone();
    scenario(
        &mut env,
        event("config-compliance-s3-bucket-ssl-requests-only.json"),
        b,
        async move |e: &Env| {
            let policy = json!({"Version": "2012-10-17", "Statement": [keep2.clone()]}).to_string();
            s3(&e.admin)
                .put_bucket_policy()
                .bucket(b)
                .policy(policy)
                .send()
                .await
                .unwrap();
        },
        // Verified through GetBucketPolicy, which moto still answers over plain HTTP.
        async |e: &Env| {
            let p = s3(&e.admin)
                .get_bucket_policy()
                .bucket(b)
                .send()
                .await
                .unwrap();
            let doc =
                trailwarden::config::policy::PolicyDocument::parse(p.policy().unwrap()).unwrap();
            trailwarden::runbooks::s3_ssl_only::requires_tls(&doc, &format!("arn:aws:s3:::{b}"))
        },
    )
    .await;
    // Once more with the remediator allowed again and the exception cleared (deleting the
    // state object, as an operator would): the existing statement is kept, the deny added;
    // object reads over plain HTTP are then refused, another bucket on the same emulator stays writable.
    env.cloud = trailwarden::aws::cloud(&env.admin, true);
    let state = s3(&env.infra_cfg)
        .list_objects_v2()
        .bucket(TRAIL_BUCKET)
        .prefix("audit/trailwarden/remediation/")
        .send()
        .await
        .unwrap();
    for o in state.contents() {
        s3(&env.infra_cfg)
            .delete_object()
            .bucket(TRAIL_BUCKET)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap();
    }
    let r = env
        .run(&event("config-compliance-s3-bucket-ssl-requests-only.json"))
        .await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    let p = s3(&env.admin)
        .get_bucket_policy()
        .bucket(b)
        .send()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    let st = v["Statement"].as_array().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st[0], keep);
    assert_eq!(st[1]["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let refused = s3(&env.admin).get_object().bucket(b).key("k").send().await;
    assert!(
        refused.is_err(),
        "plain-HTTP GetObject is refused by the new policy"
    );
    s3(&env.admin)
        .put_object()
        .bucket(TRAIL_BUCKET)
        .key("still-writable")
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap();
}

async fn sg_with(e: &Env, name: &str, perms: Vec<aws_sdk_ec2::types::IpPermission>) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&e.admin);
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    if !perms.is_empty() {
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .unwrap();
    }
    id
}

fn perm(
    proto: &str,
    from: i32,
    to: i32,
    v4: &[&str],
    v6: &[&str],
) -> aws_sdk_ec2::types::IpPermission {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
    IpPermission::builder()
        .ip_protocol(proto)
        .from_port(from)
        .to_port(to)
        .set_ip_ranges(Some(
            v4.iter()
                .map(|c| IpRange::builder().cidr_ip(*c).build())
                .collect(),
        ))
        .set_ipv6_ranges(Some(
            v6.iter()
                .map(|c| Ipv6Range::builder().cidr_ipv6(*c).build())
                .collect(),
        ))
        .build()
}

async fn ingress(e: &Env, id: &str) -> Vec<(String, i32, String)> {
    let ec2 = aws_sdk_ec2::Client::new(&e.admin);
    let out = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            (
                r.ip_protocol().unwrap_or_default().to_string(),
                r.from_port().unwrap_or(-1),
                r.cidr_ipv4()
                    .or(r.cidr_ipv6())
                    .or(r.referenced_group_info().and_then(|g| g.group_id()))
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sg_public_ssh_rdp() {
    let mut env = Env::start().await;
    let id = sg_with(
        &env,
        "tw-web",
        vec![perm("tcp", 443, 443, &["10.0.0.0/8"], &[])],
    )
    .await;
    let ev = with_resource_id(event("config-compliance-restricted-ssh.json"), &id);
    let id2 = id.clone();
    let id3 = id.clone();
    scenario(
        &mut env,
        ev,
        &id,
        async move |e: &Env| {
            let ec2 = aws_sdk_ec2::Client::new(&e.admin);
            ec2.authorize_security_group_ingress()
                .group_id(&id2)
                .ip_permissions(perm("tcp", 22, 22, &["0.0.0.0/0"], &["::/0"]))
                .ip_permissions(perm("tcp", 3389, 3389, &["0.0.0.0/0"], &[]))
                .send()
                .await
                .unwrap();
        },
        async move |e: &Env| {
            let rules = ingress(e, &id3).await;
            // The office rule stays; nothing opens 22/3389 to the world.
            rules.contains(&("tcp".into(), 443, "10.0.0.0/8".into()))
                && !rules
                    .iter()
                    .any(|(_, p, c)| (*p == 22 || *p == 3389) && (c == "0.0.0.0/0" || c == "::/0"))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sg_unrestricted_ingress() {
    let mut env = Env::start().await;
    let id = sg_with(
        &env,
        "tw-db",
        vec![perm("tcp", 5432, 5432, &["10.1.0.0/16"], &[])],
    )
    .await;
    let ev = with_resource_id(event("config-compliance-restricted-common-ports.json"), &id);
    let (a, b) = (id.clone(), id.clone());
    scenario(
        &mut env,
        ev,
        &id,
        async move |e: &Env| {
            aws_sdk_ec2::Client::new(&e.admin)
                .authorize_security_group_ingress()
                .group_id(&a)
                .ip_permissions(perm("tcp", 3306, 3306, &["0.0.0.0/0"], &[]))
                .ip_permissions(perm("tcp", 5432, 5432, &[], &["::/0"]))
                .send()
                .await
                .unwrap();
        },
        async move |e: &Env| {
            let rules = ingress(e, &b).await;
            rules == vec![("tcp".into(), 5432, "10.1.0.0/16".into())]
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sg_default_group_closed() {
    let mut env = Env::start().await;
    let ec2 = aws_sdk_ec2::Client::new(&env.admin);
    let g = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = g.security_groups()[0].group_id().unwrap().to_string();
    let ev = with_resource_id(
        event("config-compliance-vpc-default-security-group-closed.json"),
        &id,
    );
    let (a, b) = (id.clone(), id.clone());
    scenario(
        &mut env,
        ev,
        &id,
        async move |e: &Env| {
            let ec2 = aws_sdk_ec2::Client::new(&e.admin);
            // The self-referencing ingress rule AWS creates (moto does not) and the egress rule.
            let _ = ec2
                .authorize_security_group_ingress()
                .group_id(&a)
                .ip_permissions(
                    aws_sdk_ec2::types::IpPermission::builder()
                        .ip_protocol("-1")
                        .user_id_group_pairs(
                            aws_sdk_ec2::types::UserIdGroupPair::builder()
                                .group_id(&a)
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await;
            let _ = ec2
                .authorize_security_group_egress()
                .group_id(&a)
                .ip_permissions(perm("-1", -1, -1, &["0.0.0.0/0"], &[]))
                .send()
                .await;
        },
        async move |e: &Env| {
            let out = aws_sdk_ec2::Client::new(&e.admin)
                .describe_security_group_rules()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("group-id")
                        .values(&b)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            out.security_group_rules().is_empty()
        },
    )
    .await;
    // A group that is not a default group is refused, with a clear report.
    let env = Env::start().await;
    let other = sg_with(
        &env,
        "not-default",
        vec![perm("tcp", 22, 22, &["0.0.0.0/0"], &[])],
    )
    .await;
    let r = env
        .run(&with_resource_id(
            event("config-compliance-vpc-default-security-group-closed.json"),
            &other,
        ))
        .await;
    assert_eq!(r["status"], "FAILED");
    assert!(
        r["error"].as_str().unwrap().contains("not \"default\""),
        "{r:#}"
    );
}

async fn trail_client(e: &Env) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::new(&e.admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_log_file_validation() {
    let mut env = Env::start().await;
    let ct = trail_client(&env).await;
    ct.create_trail()
        .name("tw-remed-validation")
        .s3_bucket_name(TRAIL_BUCKET)
        .send()
        .await
        .unwrap();
    scenario(
        &mut env,
        event("config-compliance-cloud-trail-log-file-validation-enabled.json"),
        "tw-remed-validation",
        async |e: &Env| {
            trail_client(e)
                .await
                .update_trail()
                .name("tw-remed-validation")
                .enable_log_file_validation(false)
                .send()
                .await
                .unwrap();
        },
        async |e: &Env| {
            let t = trail_client(e)
                .await
                .get_trail()
                .name("tw-remed-validation")
                .send()
                .await
                .unwrap();
            t.trail().and_then(|t| t.log_file_validation_enabled()) == Some(true)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_start_logging_account_rule() {
    let mut env = Env::start().await;
    let ct = trail_client(&env).await;
    ct.create_trail()
        .name("tw-remed-logging")
        .s3_bucket_name(TRAIL_BUCKET)
        .send()
        .await
        .unwrap();
    scenario(
        &mut env,
        event("config-compliance-cloudtrail-enabled-account.json"),
        ACCT,
        async |e: &Env| {
            trail_client(e)
                .await
                .stop_logging()
                .name("tw-remed-logging")
                .send()
                .await
                .unwrap();
        },
        async |e: &Env| {
            trail_client(e)
                .await
                .get_trail_status()
                .name("tw-remed-logging")
                .send()
                .await
                .unwrap()
                .is_logging()
                == Some(true)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebs_encryption_by_default() {
    let mut env = Env::start().await;
    scenario(
        &mut env,
        event("config-compliance-ec2-ebs-encryption-by-default-account.json"),
        ACCT,
        async |e: &Env| {
            aws_sdk_ec2::Client::new(&e.admin)
                .disable_ebs_encryption_by_default()
                .send()
                .await
                .unwrap();
        },
        async |e: &Env| {
            aws_sdk_ec2::Client::new(&e.admin)
                .get_ebs_encryption_by_default()
                .send()
                .await
                .unwrap()
                .ebs_encryption_by_default()
                == Some(true)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_tags_s3_ec2_rds() {
    // S3: PutBucketTagging merged with the existing tags (kept with their values).
    let mut env = Env::start().await;
    let b = "tw-remed-tags";
    s3(&env.admin)
        .create_bucket()
        .bucket(b)
        .send()
        .await
        .unwrap();
    let tagging = |kv: &[(&str, &str)]| {
        aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(
                kv.iter()
                    .map(|(k, v)| {
                        aws_sdk_s3::types::Tag::builder()
                            .key(*k)
                            .value(*v)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .build()
            .unwrap()
    };
    let t1 = tagging(&[("Owner", "alice"), ("Team", "data")]);
    scenario(
        &mut env,
        event("config-compliance-required-tags-s3.json"),
        b,
        async move |e: &Env| {
            s3(&e.admin)
                .put_bucket_tagging()
                .bucket(b)
                .tagging(t1.clone())
                .send()
                .await
                .unwrap();
        },
        async |e: &Env| {
            let t = s3(&e.admin)
                .get_bucket_tagging()
                .bucket(b)
                .send()
                .await
                .unwrap();
            let m: HashMap<&str, &str> = t.tag_set().iter().map(|t| (t.key(), t.value())).collect();
            m.get("CostCenter") == Some(&"unassigned")
                && m.get("Owner") == Some(&"alice")
                && m.get("Team") == Some(&"data")
        },
    )
    .await;

    // EC2 instance: CreateTags with the missing keys only.
    let mut env = Env::start().await;
    let ec2 = aws_sdk_ec2::Client::new(&env.admin);
    let ami = ec2.describe_images().send().await.unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let run = ec2
        .run_instances()
        .image_id(ami)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let iid = run.instances()[0].instance_id().unwrap().to_string();
    let ev = with_resource_id(
        event("config-compliance-required-tags-ec2-instance.json"),
        &iid,
    );
    let (a, c) = (iid.clone(), iid.clone());
    scenario(
        &mut env,
        ev,
        &iid,
        async move |e: &Env| {
            let ec2 = aws_sdk_ec2::Client::new(&e.admin);
            ec2.delete_tags()
                .resources(&a)
                .tags(aws_sdk_ec2::types::Tag::builder().key("CostCenter").build())
                .send()
                .await
                .unwrap();
            ec2.create_tags()
                .resources(&a)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Owner")
                        .value("bob")
                        .build(),
                )
                .send()
                .await
                .unwrap();
        },
        async move |e: &Env| {
            let t = aws_sdk_ec2::Client::new(&e.admin)
                .describe_tags()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("resource-id")
                        .values(&c)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let m: HashMap<String, String> = t
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect();
            m.get("CostCenter").map(String::as_str) == Some("unassigned")
                && m.get("Owner").map(String::as_str) == Some("bob")
        },
    )
    .await;

    // RDS: Config reports the DbiResourceId; AddTagsToResource on the instance's ARN.
    let mut env = Env::start().await;
    let rds = aws_sdk_rds::Client::new(&env.admin);
    let db = rds
        .create_db_instance()
        .db_instance_identifier("tw-remed-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin1")
        .master_user_password("not-a-real-password-1")
        .allocated_storage(20)
        .send()
        .await
        .unwrap();
    let rid = db
        .db_instance()
        .unwrap()
        .dbi_resource_id()
        .unwrap()
        .to_string();
    let arn = db
        .db_instance()
        .unwrap()
        .db_instance_arn()
        .unwrap()
        .to_string();
    let ev = with_resource_id(event("config-compliance-required-tags-rds.json"), &rid);
    let (a, c) = (arn.clone(), arn.clone());
    scenario(
        &mut env,
        ev,
        &rid,
        async move |e: &Env| {
            aws_sdk_rds::Client::new(&e.admin)
                .remove_tags_from_resource()
                .resource_name(&a)
                .tag_keys("CostCenter")
                .tag_keys("Owner")
                .send()
                .await
                .unwrap();
        },
        async move |e: &Env| {
            let t = aws_sdk_rds::Client::new(&e.admin)
                .list_tags_for_resource()
                .resource_name(&c)
                .send()
                .await
                .unwrap();
            let keys: Vec<&str> = t.tag_list().iter().filter_map(|t| t.key()).collect();
            keys.contains(&"CostCenter") && keys.contains(&"Owner")
        },
    )
    .await;
}

/// The suite's own trail, as the template creates it.
async fn suite_trail(e: &Env) {
    let ct = trail_client(e).await;
    ct.create_trail()
        .name("trailwarden")
        .s3_bucket_name(TRAIL_BUCKET)
        .s3_key_prefix("audit")
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("trailwarden").send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_tampering_restored_and_alerted() {
    let env = Env::start().await;
    suite_trail(&env).await;
    let ct = trail_client(&env).await;
    s3(&env.admin)
        .create_bucket()
        .bucket("exfil-logs-123")
        .send()
        .await
        .unwrap();

    // StopLogging (the event names the trail by ARN).
    ct.stop_logging().name("trailwarden").send().await.unwrap();
    let r = env
        .run(&event("cloudtrail-StopLogging-suite-trail.json"))
        .await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    assert!(
        r["subject"].as_str().unwrap().starts_with(
            "[trailwarden] ALERT REMEDIATED StopLogging on trail trailwarden by user/bert-jan"
        ),
        "{r:#}"
    );
    assert_eq!(r["causedBy"]["sourceIpAddress"], "192.168.10.20");
    assert_eq!(r["causedBy"]["eventTime"], "2026-05-04T12:01:27Z");
    assert!(ct
        .get_trail_status()
        .name("trailwarden")
        .send()
        .await
        .unwrap()
        .is_logging()
        .unwrap());

    // UpdateTrail redirecting the logs and turning validation off.
    ct.update_trail()
        .name("trailwarden")
        .s3_bucket_name("exfil-logs-123")
        .enable_log_file_validation(false)
        .send()
        .await
        .unwrap();
    let r = env
        .run(&event("cloudtrail-UpdateTrail-suite-trail.json"))
        .await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    let t = ct.get_trail().name("trailwarden").send().await.unwrap();
    let t = t.trail().unwrap();
    assert_eq!(t.s3_bucket_name(), Some(TRAIL_BUCKET));
    assert_eq!(t.log_file_validation_enabled(), Some(true));
    assert_eq!(t.s3_key_prefix(), Some("audit"));

    // PutEventSelectors dropping management events.
    ct.put_event_selectors()
        .trail_name("trailwarden")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::ReadOnly)
                .include_management_events(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = env
        .run(&event("cloudtrail-PutEventSelectors-suite-trail.json"))
        .await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    let sel = ct
        .get_event_selectors()
        .trail_name("trailwarden")
        .send()
        .await
        .unwrap();
    let s = &sel.event_selectors()[0];
    assert_eq!(s.include_management_events(), Some(true));
    assert_eq!(
        s.read_write_type(),
        Some(&aws_sdk_cloudtrail::types::ReadWriteType::All)
    );

    // DeleteTrail: recreated and logging.
    ct.delete_trail().name("trailwarden").send().await.unwrap();
    let r = env
        .run(&event("cloudtrail-DeleteTrail-suite-trail.json"))
        .await;
    assert_eq!(r["status"], "REMEDIATED", "{r:#}");
    assert!(ct
        .get_trail_status()
        .name("trailwarden")
        .send()
        .await
        .unwrap()
        .is_logging()
        .unwrap());

    // Again: nothing to restore; another trail: ignored (no report).
    let r = env
        .run(&event("cloudtrail-StopLogging-suite-trail.json"))
        .await;
    assert_eq!(r["status"], "NOTHING_TO_DO");
    let h = Remediator {
        settings: &env.settings,
        store: &env.store,
        notifier: &env.notifier,
        cloud: &env.cloud,
    }
    .handle(
        &event("cloudtrail-StopLogging-other-trail.json"),
        Utc::now(),
    )
    .await;
    assert!(matches!(h, Handled::Ignored { .. }), "{h:?}");
    assert!(env.drain().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_exemption_and_bad_input() {
    let env = Env::start().await;
    // Exempt by tag.
    let b = "tw-remed-versioning";
    let c = s3(&env.admin);
    c.create_bucket().bucket(b).send().await.unwrap();
    c.put_bucket_tagging()
        .bucket(b)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("trailwarden:exempt")
                        .value("true")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let r = env
        .run(&event(
            "config-compliance-s3-bucket-versioning-enabled.json",
        ))
        .await;
    assert_eq!(r["status"], "SKIPPED", "{r:#}");
    assert!(r["whatWasDone"][0]
        .as_str()
        .unwrap()
        .contains("trailwarden:exempt=true"));
    assert_eq!(versioning_status(&env, b), "", "never versioned");

    // Unknown rule: a clear report, nothing done.
    let r = env.run(&event("config-compliance-unknown-rule.json")).await;
    assert_eq!(r["status"], "REJECTED");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("no runbook is mapped to Config rule"),
        "{r:#}"
    );

    // Malformed event.
    let r = env
        .run(&event("malformed-compliance-no-resource.json"))
        .await;
    assert_eq!(r["status"], "REJECTED");
    assert!(
        r["error"].as_str().unwrap().contains("has no resourceType"),
        "{r:#}"
    );

    // Missing resource: failed, clear, counted (no retry storm: one report, no error to Lambda).
    let r = env
        .run(&event(
            "config-compliance-s3-bucket-server-side-encryption-enabled.json",
        ))
        .await;
    assert_eq!(r["status"], "FAILED");
    assert!(
        r["error"].as_str().unwrap().contains("NoSuchBucket"),
        "{r:#}"
    );
    assert_eq!(r["attempts"]["failedInWindow"], 1);

    // COMPLIANT: ignored, no report.
    let h = Remediator {
        settings: &env.settings,
        store: &env.store,
        notifier: &env.notifier,
        cloud: &env.cloud,
    }
    .handle(
        &event("config-compliance-s3-bucket-versioning-enabled-COMPLIANT.json"),
        Utc::now(),
    )
    .await;
    assert!(matches!(h, Handled::Ignored { .. }));
    assert!(env.drain().await.is_empty());
    // The emulator is still up (sanity for the harness).
    assert!(http_get(env.infra.port, "/moto-api/").is_some());
}
