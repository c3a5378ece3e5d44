//! Config rule handler benchmark.
//!
//! Run (from the repository root; the reference kit is found at `../shared` or
//! `$TRAILWARDEN_KIT`, Python 3 as `python3` or `$PYTHON`):
//!
//! ```text
//! cargo bench -p trailwarden-shared --bench config_rules
//! cargo bench -p trailwarden-shared --bench config_rules -- --items 100000 --per-rule 20000
//! ```
//!
//! Three parts, all in one run:
//! 1. **Per rule**: the whole handler path the Lambda runs ([`evaluate_event`]: parse the event
//!    JSON and its `invokingEvent` string, normalise the configuration item, validate the rule
//!    parameters, evaluate, build the evaluation and hand it to `PutEvaluations`) for each of the
//!    19 rules, on the reference kit's real configuration items of the types the rule evaluates
//!    (account rules: a `ScheduledNotification` with account data from the port). The port is
//!    an in-process stub that discards the evaluations (no network).
//! 2. **Rust vs Python** on the same 100,000 security-group change events: items are generated
//!    with a seeded generator from the shapes of the kit's real security-group items (both CIDR
//!    encodings, IPv6, every protocol kind, port ranges, group references), written as NDJSON
//!    to a temporary directory, and handled by restricted-ssh in Rust and by the RDK-style
//!    Python handler `scripts/bench/rdk_restricted_ssh.py` (json.loads of the event and of
//!    `invokingEvent`, the same logic). Each round runs each side in a fresh process; both
//!    time only the handling loop over lines already in memory, as CPU time (Rust: the thread's; Python: `time.process_time()`), and
//!    their compliance counts must agree.
//! 3. **Peak RSS** of handling one oversized item: a child process (this binary with
//!    `--rss-child`) handles an `OversizedConfigurationItemChangeNotification` whose item (a
//!    1 MB security group in the API encoding, `configuration` as a JSON string) the port
//!    parses from the `GetResourceConfigHistory` answer text, and reports `VmHWM` from
//!    `/proc/self/status` before and after.
//!
//! The binary uses mimalloc, as the config-rule-evaluator function does (the path allocates a
//! JSON tree per event; glibc's malloc made it about twice as slow). `-- --phases` prints
//! where the time of one event goes instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use trailwarden::config::{
    evaluate_event, list_rules, BatchGetResult, ConfigClient, ConfigurationItem, Evaluation,
    IamUserSummary, PasswordPolicy, PortError, PreviousEvaluation, ResourceKey, RootAccount,
    TrailDescription,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ---------------------------------------------------------------------------------------------
// The port stub.

#[derive(Default)]
struct BenchClient {
    /// A `GetResourceConfigHistory` answer (API encoding), parsed on every call.
    history_answer: Option<String>,
}

#[async_trait]
impl ConfigClient for BenchClient {
    async fn get_resource_config_history(
        &self,
        _resource_type: &str,
        _resource_id: &str,
        _later_time: Option<DateTime<Utc>>,
    ) -> Result<ConfigurationItem, PortError> {
        let text = self
            .history_answer
            .as_deref()
            .ok_or_else(|| PortError::NotFound("no history".into()))?;
        let mut answer: Value =
            serde_json::from_str(text).map_err(|e| PortError::Other(e.to_string()))?;
        ConfigurationItem::from_owned(answer["configurationItems"][0].take())
            .map_err(|e| PortError::Other(e.to_string()))
    }
    async fn list_discovered_resources(&self, _: &str) -> Result<Vec<String>, PortError> {
        Ok(Vec::new())
    }
    async fn batch_get_resource_config(
        &self,
        _: &[ResourceKey],
    ) -> Result<BatchGetResult, PortError> {
        Ok(BatchGetResult::default())
    }
    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        _token: &str,
        _test_mode: bool,
    ) -> Result<Vec<Evaluation>, PortError> {
        std::hint::black_box(evaluations);
        Ok(Vec::new())
    }
    async fn get_compliance_details_by_config_rule(
        &self,
        _: &str,
    ) -> Result<Vec<PreviousEvaluation>, PortError> {
        Ok(Vec::new())
    }
    async fn describe_trails(&self) -> Result<Vec<TrailDescription>, PortError> {
        Ok(vec![
            TrailDescription {
                name: "org-trail".into(),
                arn: Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail".into()),
                home_region: Some("us-east-1".into()),
                is_multi_region_trail: true,
                is_logging: true,
                s3_bucket_name: Some("org-trail-logs".into()),
                log_file_validation_enabled: true,
                include_global_service_events: true,
                ..TrailDescription::default()
            },
            TrailDescription {
                name: "legacy".into(),
                arn: Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/legacy".into()),
                home_region: Some("us-east-1".into()),
                s3_bucket_name: Some("legacy-logs".into()),
                ..TrailDescription::default()
            },
        ])
    }
    async fn get_account_password_policy(&self) -> Result<Option<PasswordPolicy>, PortError> {
        Ok(Some(PasswordPolicy {
            minimum_password_length: Some(12),
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: false,
            max_password_age: Some(90),
            password_reuse_prevention: Some(24),
            ..PasswordPolicy::default()
        }))
    }
    async fn get_root_account(&self) -> Result<RootAccount, PortError> {
        Ok(RootAccount {
            mfa_enabled: true,
            access_keys_present: Some(false),
        })
    }
    async fn list_iam_users(&self) -> Result<Vec<IamUserSummary>, PortError> {
        Ok((0..25)
            .map(|i| IamUserSummary {
                user_name: format!("user-{i}"),
                user_id: format!("AIDA{i:016}"),
                arn: Some(format!("arn:aws:iam::123456789012:user/user-{i}")),
                mfa_enabled: i % 3 != 0,
                password_enabled: Some(true),
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs.

fn kit() -> PathBuf {
    std::env::var_os("TRAILWARDEN_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// The kit's real configuration items (both encodings).
fn kit_items() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(kit().join("data/config/items"))
        .expect("the reference kit (set TRAILWARDEN_KIT)")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.push(kit().join("data/config/rdk-example-ci/AWS_EC2_VPC.json"));
    files.sort();
    let mut items = Vec::new();
    for f in files {
        let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&f).unwrap_or_default())
        else {
            continue;
        };
        let list = match v {
            Value::Object(ref o) if o.contains_key("configurationItems") => o["configurationItems"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            Value::Array(a) => a,
            other => vec![other],
        };
        items.extend(list.into_iter().filter(|i| i.get("resourceType").is_some()));
    }
    items
}

fn change_event(item: &Value, config_rule_name: &str, params: &str) -> String {
    let invoking = json!({
        "configurationItem": item,
        "notificationCreationTime": "2024-05-01T10:00:00.000Z",
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    });
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": params,
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
        "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc123",
        "configRuleName": config_rule_name,
        "configRuleId": "config-rule-abc123",
        "accountId": "123456789012",
        "version": "1.0",
    })
    .to_string()
}

fn scheduled_event(config_rule_name: &str) -> String {
    let invoking = json!({
        "awsAccountId": "123456789012",
        "notificationCreationTime": "2024-05-01T10:00:00.000Z",
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": "{}",
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "configRuleName": config_rule_name,
        "accountId": "123456789012",
        "version": "1.0",
    })
    .to_string()
}

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// One ingress/egress permission in the shapes real items have.
fn permission(rng: &mut Rng, egress: bool) -> Value {
    const CIDRS: &[&str] = &[
        "0.0.0.0/0",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.1.0/24",
        "203.0.113.7/32",
        "198.51.100.0/24",
    ];
    const V6: &[&str] = &["::/0", "2001:db8::/32", "2001:db8:1234::/48"];
    const TCP_PORTS: &[(i64, i64)] = &[
        (22, 22),
        (80, 80),
        (443, 443),
        (3389, 3389),
        (3306, 3306),
        (8080, 8080),
        (0, 65535),
        (20, 23),
        (1024, 65535),
        (5432, 5432),
    ];
    let mut p = serde_json::Map::new();
    let kind = if egress { 0 } else { rng.below(20) };
    match kind {
        0 | 1 => {
            p.insert("ipProtocol".into(), json!("-1"));
        }
        2..=4 => {
            let (f, t) = *rng.pick(&[(53, 53), (123, 123), (0, 65535), (500, 500)]);
            p.insert("ipProtocol".into(), json!("udp"));
            p.insert("fromPort".into(), json!(f));
            p.insert("toPort".into(), json!(t));
        }
        5 | 6 => {
            p.insert("ipProtocol".into(), json!("icmp"));
            p.insert("fromPort".into(), json!(-1));
            p.insert("toPort".into(), json!(-1));
        }
        _ => {
            let (f, t) = *rng.pick(TCP_PORTS);
            p.insert("ipProtocol".into(), json!("tcp"));
            p.insert("fromPort".into(), json!(f));
            p.insert("toPort".into(), json!(t));
        }
    }
    let n = 1 + rng.below(3) as usize;
    let v4: Vec<&str> = (0..n).map(|_| *rng.pick(CIDRS)).collect();
    p.insert("userIdGroupPairs".into(), json!([]));
    p.insert("prefixListIds".into(), json!([]));
    if rng.below(3) == 0 {
        // Older items: ipRanges as strings only.
        p.insert("ipRanges".into(), json!(v4));
    } else {
        p.insert("ipRanges".into(), json!(v4));
        p.insert(
            "ipv4Ranges".into(),
            Value::Array(v4.iter().map(|c| json!({ "cidrIp": c })).collect()),
        );
        let v6: Vec<Value> = if rng.below(4) == 0 {
            vec![json!({ "cidrIpv6": rng.pick(V6) })]
        } else {
            Vec::new()
        };
        p.insert("ipv6Ranges".into(), Value::Array(v6));
    }
    if rng.below(6) == 0 {
        p.insert(
            "userIdGroupPairs".into(),
            json!([{ "groupId": format!("sg-{:08x}", rng.next() as u32), "userId": "123456789012" }]),
        );
    }
    Value::Object(p)
}

/// A security-group item in the notification encoding, shaped like the kit's real ones.
fn security_group(rng: &mut Rng, i: usize) -> Value {
    let id = format!("sg-{:017x}", rng.next() >> 4);
    let vpc = format!("vpc-{:08x}", rng.below(64) as u32 * 2_654_435_761u32);
    let name = if rng.below(10) == 0 {
        "default".to_string()
    } else {
        format!("sg-app-{i}")
    };
    let ingress: Vec<Value> = (0..rng.below(7)).map(|_| permission(rng, false)).collect();
    let egress: Vec<Value> = (0..1 + rng.below(2))
        .map(|_| permission(rng, true))
        .collect();
    let tags: Vec<Value> = if rng.below(2) == 0 {
        vec![
            json!({"key": "Name", "value": name}),
            json!({"key": "CostCenter", "value": "1234"}),
        ]
    } else {
        Vec::new()
    };
    let tag_map: serde_json::Map<String, Value> = tags
        .iter()
        .map(|t| (t["key"].as_str().unwrap().to_string(), t["value"].clone()))
        .collect();
    json!({
        "relatedEvents": [],
        "relationships": [{"resourceId": vpc, "resourceName": null, "resourceType": "AWS::EC2::VPC", "name": "Is contained in Vpc"}],
        "configuration": {
            "description": format!("{name} created by the benchmark"),
            "groupName": name,
            "ipPermissions": ingress,
            "ownerId": "123456789012",
            "groupId": id,
            "ipPermissionsEgress": egress,
            "tags": tags,
            "vpcId": vpc,
        },
        "supplementaryConfiguration": {},
        "tags": tag_map,
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": format!("2024-05-01T{:02}:{:02}:{:02}.{:03}Z", rng.below(24), rng.below(60), rng.below(60), rng.below(1000)),
        "configurationStateId": 1_714_521_600_000u64 + i as u64,
        "awsAccountId": "123456789012",
        "configurationItemStatus": if rng.below(50) == 0 { "ResourceDiscovered" } else { "OK" },
        "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": id,
        "resourceName": name,
        "ARN": format!("arn:aws:ec2:us-east-1:123456789012:security-group/{id}"),
        "awsRegion": "us-east-1",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": "",
        "resourceCreationTime": null,
    })
}

// ---------------------------------------------------------------------------------------------
// Runs.

fn run_events(
    rt: &tokio::runtime::Runtime,
    client: &BenchClient,
    events: &[String],
    n: usize,
) -> (f64, BTreeMap<String, usize>) {
    let mut counts = BTreeMap::new();
    let start = thread_cpu();
    rt.block_on(async {
        for i in 0..n {
            let report = evaluate_event(&events[i % events.len()], client)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            for e in &report.evaluations {
                *counts
                    .entry(e.compliance_type.as_str().to_string())
                    .or_insert(0) += 1;
            }
        }
    });
    (thread_cpu() - start, counts)
}

/// CPU time of this thread in seconds (`CLOCK_THREAD_CPUTIME_ID`; the current-thread runtime
/// runs the handler on this thread). The machine may be shared: CPU time is the stable figure.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the one we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn per_rule(rt: &tokio::runtime::Runtime, n: usize) {
    let items = kit_items();
    let client = BenchClient::default();
    println!("1. whole handler path per rule ({n} invocations each, kit items, single thread)");
    println!(
        "{:<42} {:>6} {:>12} {:>10}",
        "rule", "items", "items/s", "µs/item"
    );
    for rule in list_rules() {
        let events: Vec<String> = if !rule.account_data.is_empty() {
            vec![scheduled_event(rule.name)]
        } else {
            items
                .iter()
                .filter(|i| {
                    rule.resource_types
                        .contains(&i["resourceType"].as_str().unwrap_or_default())
                })
                .map(|i| change_event(i, rule.name, "{}"))
                .collect()
        };
        assert!(!events.is_empty(), "no kit item for {}", rule.name);
        let (secs, _) = run_events(rt, &client, &events, n);
        println!(
            "{:<42} {:>6} {:>12.0} {:>10.2}",
            rule.name,
            events.len(),
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
    }
}

/// Rounds of the Rust/Python comparison.
const ROUNDS: usize = 5;

/// Part 2's events: `n` security-group change events for restricted-ssh (seeded), one per line.
fn write_sg_events(path: &std::path::Path, n: usize) {
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(
            f,
            "{}",
            change_event(&security_group(&mut rng, i), "restricted-ssh", "{}")
        )
        .unwrap();
    }
    f.flush().unwrap();
}

fn rust_vs_python(n: usize) {
    let dir = std::env::temp_dir().join(format!("trailwarden-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sg-events.ndjson");
    write_sg_events(&path, n);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "\n2. restricted-ssh on {n} generated security-group events ({:.1} MB NDJSON, seed 0x5eedc0de12345678), {ROUNDS} alternating rounds",
        bytes as f64 / 1e6
    );
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench/rdk_restricted_ssh.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    // Alternate the two sides and keep each one's best round, so that a burst of load from
    // other processes does not decide the ratio.
    let (mut rust_best, mut py_best) = (f64::MAX, f64::MAX);
    let mut counts = BTreeMap::new();
    let mut py = Value::Null;
    for round in 1..=ROUNDS {
        // Each side runs in a fresh process of its own (a process that already ran other
        // rules was measured up to 3x slower on this path, allocator state), timing only its
        // handling loop over lines already in memory.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--rust-child")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let secs = r["seconds"].as_f64().unwrap();
        rust_best = rust_best.min(secs);
        counts = r["counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
            .collect();
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p: Value = serde_json::from_slice(&out.stdout).unwrap();
        let psecs = p["seconds"].as_f64().unwrap();
        py_best = py_best.min(psecs);
        println!(
            "   round {round}: Rust {:>9.0} items/s, Python {:>9.0} items/s",
            n as f64 / secs,
            n as f64 / psecs
        );
        py = p;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let rust_rate = n as f64 / rust_best;
    let py_rate = n as f64 / py_best;
    println!(
        "   best: Rust (trailwarden, release, mimalloc) {rust_rate:>9.0} items/s ({:.2} µs/item)  {counts:?}",
        rust_best * 1e6 / n as f64
    );
    println!(
        "   best: Python {} (RDK-style)           {py_rate:>9.0} items/s ({:.2} µs/item)  {}",
        py["python"].as_str().unwrap_or("?"),
        py_best * 1e6 / n as f64,
        py["counts"]
    );
    println!("   ratio Rust/Python: {:.1}x", rust_rate / py_rate);
    for (k, v) in &counts {
        assert_eq!(
            py["counts"][k].as_u64(),
            Some(*v as u64),
            "Rust and Python disagree on {k}"
        );
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The oversized case's input: the `GetResourceConfigHistory` answer (a 1 MB security group in
/// the API encoding, `configuration` as a JSON string) and the notification pointing at it.
fn oversized_input() -> (String, String, usize) {
    let mut rng = Rng(42);
    let mut perms = Vec::new();
    let mut size = 0;
    while size < 1_000_000 {
        let p = permission(&mut rng, false);
        size += p.to_string().len() + 1;
        perms.push(p);
    }
    let mut item = security_group(&mut rng, 0);
    item["configuration"]["ipPermissions"] = Value::Array(perms);
    let config_text = item["configuration"].to_string();
    let api_item = json!({
        "version": "1.3", "accountId": "123456789012",
        "configurationItemCaptureTime": 1_714_521_600.5,
        "configurationItemStatus": "OK", "configurationStateId": "1714521600000",
        "arn": item["ARN"], "resourceType": "AWS::EC2::SecurityGroup", "resourceId": item["resourceId"],
        "resourceName": item["resourceName"], "awsRegion": "us-east-1", "availabilityZone": "Not Applicable",
        "tags": {}, "relatedEvents": [], "relationships": [],
        "configuration": config_text, "supplementaryConfiguration": {},
    });
    let answer = json!({ "configurationItems": [api_item] }).to_string();
    let event = json!({
        "invokingEvent": json!({
            "configurationItemSummary": {
                "changeType": "UPDATE", "configurationItemVersion": "1.3",
                "configurationItemCaptureTime": "2024-05-01T00:00:00.500Z",
                "awsAccountId": "123456789012", "configurationItemStatus": "OK",
                "resourceType": "AWS::EC2::SecurityGroup", "resourceId": item["resourceId"],
                "awsRegion": "us-east-1",
            },
            "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": "2024-05-01T00:00:01.000Z",
            "recordVersion": "1.0",
        }).to_string(),
        "ruleParameters": "{}", "resultToken": "TESTMODE", "eventLeftScope": false,
        "configRuleName": "restricted-ssh", "accountId": "123456789012", "version": "1.0",
    })
    .to_string();
    (answer, event, config_text.len())
}

/// The child (`--rss-child ANSWER EVENT`): reads the two files, handles the event once (the
/// port parses the answer as the adapter would) and prints VmHWM before and after.
fn rss_child(answer_path: &str, event_path: &str) {
    let answer = std::fs::read_to_string(answer_path).unwrap();
    let event = std::fs::read_to_string(event_path).unwrap();
    let client = BenchClient {
        history_answer: Some(answer),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = vm_hwm_kib();
    let start = Instant::now();
    let report = rt.block_on(evaluate_event(&event, &client)).unwrap();
    let took = start.elapsed();
    let after = vm_hwm_kib();
    println!(
        "{}",
        json!({
            "vm_hwm_before_kib": before,
            "vm_hwm_after_kib": after,
            "ms": took.as_secs_f64() * 1e3,
            "compliance": report.evaluations[0].compliance_type.as_str(),
        })
    );
}

fn peak_rss() {
    let (answer, event, config_len) = oversized_input();
    let dir = std::env::temp_dir().join(format!("trailwarden-bench-rss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (answer_path, event_path) = (dir.join("answer.json"), dir.join("event.json"));
    std::fs::write(&answer_path, &answer).unwrap();
    std::fs::write(&event_path, &event).unwrap();
    let exe = std::env::current_exe().unwrap();
    // Under /usr/bin/time -v when it is there, for the kernel's own maximum RSS.
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.arg("-v").arg(&exe);
        c
    } else {
        std::process::Command::new(&exe)
    };
    let out = cmd
        .arg("--rss-child")
        .arg(&answer_path)
        .arg(&event_path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kib = |k: &str| v[k].as_u64().unwrap_or(0);
    println!(
        "\n3. one oversized item ({:.2} MB configuration, {:.2} MB GetResourceConfigHistory answer), restricted-ssh, {}:",
        config_len as f64 / 1e6,
        answer.len() as f64 / 1e6,
        v["compliance"].as_str().unwrap_or("?")
    );
    println!(
        "   peak RSS (VmHWM) {:.1} MiB; {:.1} MiB before handling (process + the 1.2 MB input); handling added {:.1} MiB; took {:.1} ms",
        kib("vm_hwm_after_kib") as f64 / 1024.0,
        kib("vm_hwm_before_kib") as f64 / 1024.0,
        (kib("vm_hwm_after_kib") - kib("vm_hwm_before_kib")) as f64 / 1024.0,
        v["ms"].as_f64().unwrap_or(0.0)
    );
    if let Some(max) = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
    {
        println!(
            "   /usr/bin/time -v: maximum resident set size {:.1} MiB",
            max.trim().parse::<f64>().unwrap_or(0.0) / 1024.0
        );
    }
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--phases") {
        phases();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--rust-child") {
        // One Rust round of part 2 in a fresh process: the restricted-ssh events of the NDJSON
        // file, read into memory first; prints the CPU seconds of the loop and the counts.
        let text = std::fs::read_to_string(&args[i + 1]).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        drop(text);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // An optional count after the path: handle that many events, cycling over the file
        // (for profiling the loop without the cost of loading a large file).
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(lines.len());
        let (secs, counts) = run_events(&rt, &BenchClient::default(), &lines, n);
        println!("{}", json!({"seconds": secs, "counts": counts}));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--write-events") {
        // Writes part 2's NDJSON (`--items` events) to the given path and stops: for profiling
        // the handler on it with `--rust-child PATH` under perf.
        let n = arg(&args, "--items", 100_000);
        write_sg_events(std::path::Path::new(&args[i + 1]), n);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        rss_child(&args[i + 1], &args[i + 2]);
        return;
    }
    // `cargo test --benches` runs bench targets with no `--bench`: keep that quick.
    let quick = !args.iter().any(|a| a == "--bench");
    let items = arg(&args, "--items", if quick { 2_000 } else { 100_000 });
    let per = arg(&args, "--per-rule", if quick { 200 } else { 20_000 });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    per_rule(&rt, per);
    rust_vs_python(items);
    peak_rss();
}

/// `--phases`: where the CPU time of one change event goes (20,000 generated security groups).
fn phases() {
    let n = 20_000;
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let events: Vec<String> = (0..n)
        .map(|i| change_event(&security_group(&mut rng, i), "restricted-ssh", "{}"))
        .collect();
    let inner: Vec<String> = events
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(e).unwrap();
            v["invokingEvent"].as_str().unwrap().to_string()
        })
        .collect();
    let items: Vec<String> = inner
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(e).unwrap();
            v["configurationItem"].to_string()
        })
        .collect();
    let per = |t: f64| (thread_cpu() - t) * 1e6 / n as f64;
    let t = thread_cpu();
    for e in &events {
        std::hint::black_box(serde_json::from_str::<serde::de::IgnoredAny>(e).unwrap());
    }
    println!("scan the event (IgnoredAny):             {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &inner {
        std::hint::black_box(serde_json::from_str::<serde::de::IgnoredAny>(e).unwrap());
    }
    println!("scan invokingEvent (IgnoredAny):         {:6.2} µs", per(t));
    #[derive(serde::Deserialize)]
    struct OnlyIe {
        #[serde(rename = "invokingEvent")]
        _ie: String,
    }
    let t = thread_cpu();
    for e in &events {
        std::hint::black_box(serde_json::from_str::<OnlyIe>(e).unwrap());
    }
    println!("the event, invokingEvent unescaped only: {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &events {
        std::hint::black_box(serde_json::from_str::<Value>(e).unwrap());
    }
    println!("parse the event to a Value:              {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &inner {
        std::hint::black_box(serde_json::from_str::<Value>(e).unwrap());
    }
    println!("parse invokingEvent to a Value:          {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &items {
        std::hint::black_box(trailwarden::config::ConfigurationItem::from_json(e).unwrap());
    }
    println!("ConfigurationItem::from_json:            {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &inner {
        std::hint::black_box(trailwarden::config::InvokingEvent::from_json(e).unwrap());
    }
    println!("InvokingEvent::from_json:                {:6.2} µs", per(t));
    let t = thread_cpu();
    for e in &events {
        std::hint::black_box(trailwarden::config::ConfigRuleEvent::from_json(e).unwrap());
    }
    println!("ConfigRuleEvent::from_json (both):       {:6.2} µs", per(t));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = BenchClient::default();
    let t = thread_cpu();
    rt.block_on(async {
        for e in &events {
            std::hint::black_box(evaluate_event(e, &client).await.unwrap());
        }
    });
    println!("evaluate_event (whole handler path):     {:6.2} µs", per(t));
}
