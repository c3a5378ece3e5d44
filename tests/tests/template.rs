//! `template.yaml` against the code: function names, binaries and handlers, environment
//! variables, event sources (`trailwarden::functions`, which the functions' config readers use),
//! the Config rules (`trailwarden::rules`), the remediator's rule map (`RULE_RUNBOOKS` as the
//! remediator parses it) and the CIS alarms (`trailwarden::filter::cis`).
//!
//! CloudFormation's short-form intrinsics (`!Ref`, `!Sub`, `!GetAtt`, `!If`) parse as tagged
//! values; values the test must read (rule parameters, the rule map) are resolved with the
//! parameters' defaults.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use trailwarden::filter::cis::{AlarmSettings, CIS_FILTERS, DEFAULT_NAMESPACE};
use trailwarden::functions::{self, Need, Trigger};
use trailwarden::rules::{self, RuleExt, Trigger as RuleTrigger};
use trailwarden_tests::repo_root;

struct Template {
    root: Value,
}

impl Template {
    fn load() -> Self {
        let p = repo_root().join("template.yaml");
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        Self {
            root: serde_yaml::from_str(&text).expect("template.yaml parses as YAML"),
        }
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root["Resources"]
            .as_mapping()
            .expect("Resources")
            .iter()
            .map(|(k, v)| (k.as_str().unwrap(), v))
    }

    fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources().filter(move |(_, r)| r["Type"] == ty)
    }

    fn resource(&self, id: &str) -> &Value {
        let r = &self.root["Resources"][id];
        assert!(!r.is_null(), "no resource {id}");
        r
    }

    /// A parameter's default, as text.
    fn default(&self, param: &str) -> String {
        let d = &self.root["Parameters"][param]["Default"];
        scalar(d).unwrap_or_else(|| panic!("parameter {param} has no scalar default: {d:?}"))
    }

    fn globals(&self) -> &Value {
        &self.root["Globals"]["Function"]
    }

    /// A function property, the function's own or the global one.
    fn prop<'a>(&'a self, f: &'a Value, name: &str) -> &'a Value {
        let own = &f["Properties"][name];
        if own.is_null() {
            &self.globals()[name]
        } else {
            own
        }
    }

    /// Resolves `!Ref Parameter` and plain scalars to text (parameter defaults).
    fn resolve(&self, v: &Value) -> Option<String> {
        match intrinsic(v) {
            Some((tag, Value::String(p)))
                if tag == "!Ref" && self.root["Parameters"][p.as_str()].is_mapping() =>
            {
                Some(self.default(p))
            }
            Some(_) => None,
            None => scalar(v),
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `(tag, value)` of a short-form intrinsic, e.g. `("!GetAtt", "X.Arn")`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string(), &t.value)),
        _ => None,
    }
}

fn intrinsic_is(v: &Value, tag: &str) -> Option<String> {
    match intrinsic(v) {
        Some((t, inner)) if t == tag => scalar(inner),
        _ => None,
    }
}

/// `log-delivery` -> `LogDelivery`.
fn camel(binary: &str) -> String {
    binary
        .split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Every `!Ref`/`!GetAtt` target inside a value (`!GetAtt X.Arn` -> `X`; `${X}` and
/// `${X.Arn}` inside `!Sub` strings too).
fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match (tag.as_str(), &t.value) {
                ("!Ref", Value::String(s)) => {
                    out.insert(s.clone());
                }
                ("!GetAtt", Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap().to_string());
                }
                ("!Sub", Value::String(s)) => sub_refs(s, out),
                ("!Sub", Value::Sequence(seq)) => {
                    if let Some(Value::String(s)) = seq.first() {
                        sub_refs(s, out);
                    }
                    for x in seq.iter().skip(1) {
                        references(x, out);
                    }
                }
                (_, inner) => references(inner, out),
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| references(x, out)),
        Value::Mapping(m) => m.values().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn sub_refs(s: &str, out: &mut BTreeSet<String>) {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') {
            out.insert(name.split('.').next().unwrap().to_string());
        }
        rest = &rest[end..];
    }
}

/// The functions, by binary.
fn functions(t: &Template) -> BTreeMap<String, (&str, &Value)> {
    let mut out = BTreeMap::new();
    for (id, f) in t.of_type("AWS::Serverless::Function") {
        assert_eq!(
            f["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}: BuildMethod"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: Metadata.BuildProperties.Binary"))
            .to_string();
        assert!(
            out.insert(binary.clone(), (id, f)).is_none(),
            "{binary} is built twice"
        );
    }
    out
}

#[test]
fn every_function_is_in_the_template_and_built_from_its_crate() {
    let t = Template::load();
    let fns = functions(&t);
    let expected: BTreeSet<&str> = functions::ALL.iter().map(|f| f.binary).collect();
    let got: BTreeSet<&str> = fns.keys().map(String::as_str).collect();
    assert_eq!(
        got, expected,
        "functions in template.yaml vs trailwarden::functions::ALL"
    );

    let workspace = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    for (binary, (id, f)) in &fns {
        assert_eq!(
            *id,
            format!("{}Function", camel(binary)),
            "logical id of {binary}"
        );
        // The crate exists, is a workspace member, and builds a binary of that name.
        assert!(
            workspace.contains(&format!("\"functions/{binary}\"")),
            "{binary} is not a workspace member"
        );
        let dir = repo_root().join("functions").join(binary);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "functions/{binary}/Cargo.toml names another package"
        );
        assert!(
            dir.join("src/main.rs").is_file(),
            "{binary}: no src/main.rs"
        );
        // The Lambda shape: the custom runtime's `bootstrap` on Graviton, built from the
        // workspace root (cargo lambda picks the binary).
        assert_eq!(t.prop(f, "Runtime"), "provided.al2023", "{binary}");
        assert_eq!(
            t.prop(f, "Architectures"),
            &serde_yaml::from_str::<Value>("[arm64]").unwrap(),
            "{binary}"
        );
        assert_eq!(t.prop(f, "Handler"), "bootstrap", "{binary}");
        assert_eq!(t.prop(f, "CodeUri"), ".", "{binary}");
    }
}

#[test]
fn every_function_has_its_own_role_sizes_logs_and_a_failure_destination() {
    let t = Template::load();
    let mut roles = BTreeSet::new();
    for (binary, (_, f)) in functions(&t) {
        let memory = t.prop(f, "MemorySize").as_u64().expect("MemorySize");
        assert!(
            (128..=10_240).contains(&memory),
            "{binary}: MemorySize {memory}"
        );
        let timeout = t.prop(f, "Timeout").as_u64().expect("Timeout");
        assert!((1..=900).contains(&timeout), "{binary}: Timeout {timeout}");

        let role = intrinsic_is(&f["Properties"]["Role"], "!GetAtt")
            .unwrap_or_else(|| panic!("{binary}: Role must be !GetAtt <role>.Arn"));
        let role = role.strip_suffix(".Arn").expect("role .Arn").to_string();
        assert_eq!(role, format!("{}Role", camel(&binary)));
        assert_eq!(t.resource(&role)["Type"], "AWS::IAM::Role", "{role}");
        assert!(roles.insert(role.clone()), "{role} is shared");
        let doc = &t.resource(&role)["Properties"]["AssumeRolePolicyDocument"];
        assert_eq!(
            doc["Statement"][0]["Principal"]["Service"], "lambda.amazonaws.com",
            "{role}"
        );

        let logging = &f["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{binary}: JSON logs");
        let group = intrinsic_is(&logging["LogGroup"], "!Ref").expect("LoggingConfig.LogGroup");
        let group = t.resource(&group);
        assert_eq!(group["Type"], "AWS::Logs::LogGroup");
        assert!(
            !group["Properties"]["RetentionInDays"].is_null(),
            "{binary}: log retention"
        );
        // The role may write to its own log group only.
        let mut refs = BTreeSet::new();
        references(&t.resource(&role)["Properties"]["Policies"], &mut refs);
        assert!(
            refs.contains(&format!("{}LogGroup", camel(&binary))),
            "{role}"
        );
        for other in functions::ALL.iter().filter(|o| o.binary != binary) {
            assert!(
                !refs.contains(&format!("{}LogGroup", camel(other.binary))),
                "{role} can write to {}'s logs",
                other.binary
            );
        }

        // Failed asynchronous invocations land in a queue.
        let dlq = t.prop(f, "DeadLetterQueue");
        assert_eq!(dlq["Type"], "SQS", "{binary}: DeadLetterQueue");
        let q = intrinsic_is(&dlq["TargetArn"], "!GetAtt").expect("DLQ TargetArn");
        assert_eq!(
            t.resource(q.strip_suffix(".Arn").unwrap())["Type"],
            "AWS::SQS::Queue"
        );
        assert!(
            refs.contains(q.strip_suffix(".Arn").unwrap()),
            "{role}: DLQ"
        );
    }
}

/// The environment a function gets: the globals, then its own.
fn environment<'a>(t: &'a Template, f: &'a Value) -> BTreeMap<String, &'a Value> {
    let mut env = BTreeMap::new();
    for src in [
        &t.globals()["Environment"]["Variables"],
        &f["Properties"]["Environment"]["Variables"],
    ] {
        if let Some(m) = src.as_mapping() {
            for (k, v) in m {
                env.insert(k.as_str().unwrap().to_string(), v);
            }
        }
    }
    env
}

fn is_set(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Null => false,
        // An intrinsic: a name, ARN or parameter the deployment fills in.
        _ => true,
    }
}

#[test]
fn environment_variables_match_what_each_function_reads() {
    let t = Template::load();
    let fns = functions(&t);
    for spec in functions::ALL {
        let (_, f) = fns[spec.binary];
        let env = environment(&t, f);
        for (name, value) in &env {
            let var = spec.var(name).unwrap_or_else(|| {
                panic!(
                    "{}: the template sets {name}, which the function does not read",
                    spec.binary
                )
            });
            assert!(
                var.deployable,
                "{}: {name} must not be set by a deployment ({:?}: {})",
                spec.binary, var.need, var.doc
            );
            assert!(var.need != Need::SetByLambda, "{name} is reserved");
            if let Value::String(s) = value {
                // A literal must be one the function accepts; checked below per variable.
                assert_eq!(s.trim(), s, "{}: {name} has blanks", spec.binary);
            }
        }
        let missing = spec.missing(&|n| {
            env.get(n)
                .filter(|v| is_set(v) && spec.var(n).is_some_and(|d| d.deployable))
                .map(|_| "set".to_string())
        });
        assert!(missing.is_empty(), "{missing:?}");
    }
}

#[test]
fn the_bucket_is_named_not_referenced_by_what_the_functions_use() {
    // The bucket notifies metric-filter-alarm, so a function, role or permission that
    // referenced the bucket resource would be a circular dependency; they all use the name.
    let t = Template::load();
    let name = &t.resource("TrailBucket")["Properties"]["BucketName"];
    let pattern = intrinsic_is(name, "!Sub").expect("BucketName is a !Sub");
    for (binary, (_, f)) in functions(&t) {
        let env = environment(&t, f);
        if let Some(v) = env.get("TRAIL_BUCKET") {
            assert_eq!(
                intrinsic_is(v, "!Sub").as_deref(),
                Some(pattern.as_str()),
                "{binary}"
            );
        }
        let mut refs = BTreeSet::new();
        references(&f["Properties"]["Environment"], &mut refs);
        references(
            &t.resource(&format!("{}Role", camel(&binary)))["Properties"],
            &mut refs,
        );
        assert!(
            !refs.contains("TrailBucket"),
            "{binary} references TrailBucket"
        );
    }
    // The roles' S3 ARNs use the same pattern.
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let arn = format!("arn:${{AWS::Partition}}:s3:::{pattern}");
    assert!(
        text.matches(&arn).count() >= 10,
        "roles name the bucket by {arn}"
    );
}

/// What a function's triggers are in the template.
fn triggers(t: &Template, id: &str, f: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(events) = f["Properties"]["Events"].as_mapping() {
        for (name, e) in events {
            let p = &e["Properties"];
            match e["Type"].as_str().unwrap() {
                "SQS" => {
                    let q = intrinsic_is(&p["Queue"], "!GetAtt").unwrap();
                    let q = t.resource(q.strip_suffix(".Arn").unwrap());
                    assert!(
                        !q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"].is_null(),
                        "{id}: the queue needs a dead-letter queue"
                    );
                    assert_eq!(p["MaximumBatchingWindowInSeconds"], 300, "{id}");
                    assert_eq!(
                        p["FunctionResponseTypes"],
                        serde_yaml::from_str::<Value>("[ReportBatchItemFailures]").unwrap(),
                        "{id}: partial batch responses"
                    );
                    // The visibility timeout covers six function timeouts plus the window.
                    let vis = q["Properties"]["VisibilityTimeout"].as_u64().unwrap();
                    let timeout = t.prop(f, "Timeout").as_u64().unwrap();
                    assert!(vis >= 6 * timeout + 300, "{id}: VisibilityTimeout {vis}");
                    out.insert(format!("{:?}", Trigger::SqsQueue));
                }
                "Schedule" => {
                    assert!(p["Schedule"].as_str().unwrap().starts_with("cron("));
                    assert!(!p["DeadLetterConfig"].is_null(), "{id}.{name:?}: DLQ");
                    out.insert(format!("{:?}", Trigger::Schedule));
                }
                "S3" => {
                    assert_eq!(
                        intrinsic_is(&p["Bucket"], "!Ref").as_deref(),
                        Some("TrailBucket")
                    );
                    assert_eq!(p["Events"], "s3:ObjectCreated:*");
                    out.insert(format!("{:?}", Trigger::S3ObjectCreated));
                }
                "EventBridgeRule" => {
                    assert!(!p["DeadLetterConfig"].is_null(), "{id}.{name:?}: DLQ");
                    for dt in p["Pattern"]["detail-type"].as_sequence().unwrap() {
                        // As `Trigger::EventBridge(dt)` prints.
                        out.insert(format!("EventBridge({:?})", dt.as_str().unwrap()));
                    }
                }
                other => panic!("{id}: unexpected event type {other}"),
            }
        }
    }
    let target = format!("{id}.Arn");
    for (sid, s) in t.of_type("AWS::Logs::SubscriptionFilter") {
        if intrinsic_is(&s["Properties"]["DestinationArn"], "!GetAtt").as_deref() == Some(&target) {
            assert!(
                permission(t, id, "logs.amazonaws.com"),
                "{sid}: no invoke permission"
            );
            out.insert(format!("{:?}", Trigger::CloudWatchLogs));
        }
    }
    for (rid, r) in t.of_type("AWS::Config::ConfigRule") {
        if intrinsic_is(&r["Properties"]["Source"]["SourceIdentifier"], "!GetAtt").as_deref()
            == Some(&target)
        {
            assert!(
                permission(t, id, "config.amazonaws.com"),
                "{rid}: no invoke permission"
            );
            out.insert(format!("{:?}", Trigger::ConfigRule));
        }
    }
    out
}

fn permission(t: &Template, function: &str, principal: &str) -> bool {
    let target = format!("{function}.Arn");
    t.of_type("AWS::Lambda::Permission").any(|(_, p)| {
        p["Properties"]["Principal"] == principal
            && intrinsic_is(&p["Properties"]["FunctionName"], "!GetAtt").as_deref()
                == Some(target.as_str())
    })
}

#[test]
fn event_sources_match_each_function() {
    let t = Template::load();
    let fns = functions(&t);
    for spec in functions::ALL {
        let (id, f) = fns[spec.binary];
        let expected: BTreeSet<String> = spec.triggers.iter().map(|x| format!("{x:?}")).collect();
        assert_eq!(triggers(&t, id, f), expected, "{}", spec.binary);
    }
    // The delivery queue is fed by EventBridge with every CloudTrail API call and sign-in.
    let rule = &t.resource("CloudTrailEventsRule")["Properties"];
    assert_eq!(
        rule["EventPattern"]["detail-type"],
        serde_yaml::from_str::<Value>(
            "[AWS API Call via CloudTrail, AWS Console Sign In via CloudTrail]"
        )
        .unwrap()
    );
    assert_eq!(
        intrinsic_is(&rule["Targets"][0]["Arn"], "!GetAtt").as_deref(),
        Some("DeliveryQueue.Arn")
    );
    // The remediator hears exactly the trail calls it handles.
    let tamper = &fns["remediator"].1["Properties"]["Events"]["TrailTampering"]["Properties"];
    let names: Vec<&str> = tamper["Pattern"]["detail"]["eventName"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, trailwarden::remediation::TAMPER_EVENTS);
}

#[test]
fn every_config_rule_is_deployed_with_its_trigger_and_scope() {
    let t = Template::load();
    let prefix = t.default("ConfigRuleNamePrefix");
    let mut deployed: BTreeMap<String, &Value> = BTreeMap::new();
    for (id, r) in t.of_type("AWS::Config::ConfigRule") {
        assert_eq!(r["Condition"], "CreateConfigRules", "{id}: switchable");
        let p = &r["Properties"];
        let name = p["InputParameters"]["rule"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: InputParameters.rule"));
        assert!(
            deployed.insert(name.to_string(), r).is_none(),
            "{name} twice"
        );
        assert_eq!(
            intrinsic_is(&p["ConfigRuleName"], "!Sub").as_deref(),
            Some(format!("${{ConfigRuleNamePrefix}}{name}").as_str()),
            "{id}"
        );
        assert_eq!(p["Source"]["Owner"], "CUSTOM_LAMBDA");
    }
    let all: BTreeSet<&str> = rules::all().iter().map(|r| r.name()).collect();
    assert_eq!(all.len(), 19);
    assert_eq!(
        deployed.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        all,
        "Config rules in template.yaml vs trailwarden::rules"
    );

    for rule in rules::all() {
        let p = &deployed[rule.name()]["Properties"];
        let kinds: BTreeSet<&str> = p["Source"]["SourceDetails"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                assert_eq!(d["EventSource"], "aws.config");
                d["MessageType"].as_str().unwrap()
            })
            .collect();
        let change = matches!(
            rule.trigger(),
            RuleTrigger::ConfigurationChange | RuleTrigger::ConfigurationChangeAndPeriodic
        );
        let periodic = matches!(
            rule.trigger(),
            RuleTrigger::Periodic | RuleTrigger::ConfigurationChangeAndPeriodic
        );
        let mut expected = BTreeSet::new();
        if change {
            expected.insert("ConfigurationItemChangeNotification");
            expected.insert("OversizedConfigurationItemChangeNotification");
        }
        if periodic {
            expected.insert("ScheduledNotification");
        }
        assert_eq!(kinds, expected, "{}: triggers", rule.name());

        let scope: Option<BTreeSet<&str>> = p["Scope"]["ComplianceResourceTypes"]
            .as_sequence()
            .map(|s| s.iter().map(|v| v.as_str().unwrap()).collect());
        if change {
            let types: BTreeSet<&str> = rule.resource_types().iter().copied().collect();
            assert_eq!(scope, Some(types), "{}: scope", rule.name());
        } else {
            assert_eq!(scope, None, "{}: a periodic rule has no scope", rule.name());
        }

        // The other parameters are valid for the rule, as the evaluator parses them.
        let mut raw = BTreeMap::new();
        for (k, v) in p["InputParameters"].as_mapping().unwrap() {
            let k = k.as_str().unwrap();
            if k != "rule" {
                assert!(
                    rule.parameters().iter().any(|p| p.name == k),
                    "{}: the rule has no parameter {k}",
                    rule.name()
                );
                let v = t
                    .resolve(v)
                    .unwrap_or_else(|| panic!("{}: {k}", rule.name()));
                raw.insert(k.to_string(), serde_json::Value::String(v));
            }
        }
        rule.parse_params(&raw)
            .unwrap_or_else(|e| panic!("{}: parameters {raw:?}: {e}", rule.name()));
        // The name resolves to the rule too (the evaluator's fallback without `rule`).
        let full = format!("{prefix}{}", rule.name());
        assert_eq!(
            rules::select(None, Some(&full)).map(|r| r.name()).ok(),
            Some(rule.name())
        );
    }
}

#[test]
fn the_remediators_rule_map_parses_and_names_deployed_rules() {
    let t = Template::load();
    let fns = functions(&t);
    let f = fns["remediator"].1;
    let v = &f["Properties"]["Environment"]["Variables"]["RULE_RUNBOOKS"];
    let (tag, inner) = intrinsic(v).expect("RULE_RUNBOOKS is a !Sub");
    assert_eq!(tag, "!Sub");
    let seq = inner.as_sequence().unwrap();
    let mut text = seq[0].as_str().unwrap().to_string();
    for (k, val) in seq[1].as_mapping().unwrap() {
        let value = t.resolve(val).unwrap();
        text = text.replace(&format!("${{{}}}", k.as_str().unwrap()), &value);
    }
    let map = trailwarden::remediation::parse_rule_runbooks(&text)
        .unwrap_or_else(|e| panic!("RULE_RUNBOOKS: {e}\n{text}"));
    assert!(map.len() >= 8, "{map:?}");
    let prefix = t.default("ConfigRuleNamePrefix");
    let names: BTreeSet<String> = rules::all()
        .iter()
        .map(|r| format!("{prefix}{}", r.name()))
        .collect();
    for rule in map.keys() {
        assert!(
            names.contains(rule),
            "RULE_RUNBOOKS maps {rule}, which is not deployed"
        );
    }
    // The compliance-change rule only passes this stack's rules.
    let pattern = &f["Properties"]["Events"]["ComplianceChange"]["Properties"]["Pattern"];
    assert_eq!(
        intrinsic_is(&pattern["detail"]["configRuleName"][0]["prefix"], "!Ref").as_deref(),
        Some("ConfigRuleNamePrefix")
    );
    assert_eq!(
        pattern["detail"]["newEvaluationResult"]["complianceType"][0],
        "NON_COMPLIANT"
    );
}

#[test]
fn native_alarms_watch_every_cis_metric_with_the_cis_settings() {
    let t = Template::load();
    assert_eq!(t.default("MetricNamespace"), DEFAULT_NAMESPACE);
    let d = AlarmSettings::default();
    let mut seen = BTreeSet::new();
    for (id, a) in t.of_type("AWS::CloudWatch::Alarm") {
        assert_eq!(a["Condition"], "CreateNativeAlarms", "{id}");
        let p = &a["Properties"];
        let metric = p["MetricName"].as_str().unwrap();
        assert!(seen.insert(metric.to_string()), "{metric} twice");
        assert_eq!(
            intrinsic_is(&p["Namespace"], "!Ref").as_deref(),
            Some("MetricNamespace")
        );
        assert_eq!(p["Statistic"], d.statistic.as_str(), "{id}");
        assert_eq!(p["Period"].as_u64(), Some(u64::from(d.period)), "{id}");
        assert_eq!(p["Threshold"].as_f64(), Some(d.threshold), "{id}");
        assert_eq!(
            p["ComparisonOperator"],
            d.comparison_operator.as_str(),
            "{id}"
        );
        assert_eq!(
            p["EvaluationPeriods"].as_u64(),
            Some(u64::from(d.evaluation_periods))
        );
        assert_eq!(
            p["DatapointsToAlarm"].as_u64(),
            Some(u64::from(d.datapoints_to_alarm))
        );
        assert_eq!(p["TreatMissingData"], d.treat_missing_data.as_str(), "{id}");
        assert_eq!(
            intrinsic_is(&p["AlarmActions"][0], "!Ref").as_deref(),
            Some("AlertTopic")
        );
    }
    let cis: BTreeSet<String> = CIS_FILTERS.iter().map(|f| f.name.to_string()).collect();
    assert_eq!(seen, cis);
}

#[test]
fn keys_bucket_and_glue_table_are_set_up_as_documented() {
    let t = Template::load();
    // Only the digest signer's role may sign.
    let key = &t.resource("SigningKey")["Properties"];
    assert_eq!(key["KeySpec"], "RSA_2048");
    assert_eq!(key["KeyUsage"], "SIGN_VERIFY");
    let statements = key["KeyPolicy"]["Statement"].as_sequence().unwrap();
    for s in statements {
        let actions: Vec<String> = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Sequence(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            other => panic!("{other:?}"),
        };
        let signs = actions.iter().any(|a| a == "kms:Sign" || a == "kms:*");
        if s["Effect"] == "Allow" && signs {
            assert_eq!(
                intrinsic_is(&s["Principal"]["AWS"], "!GetAtt").as_deref(),
                Some("DigestSignerRole.Arn"),
                "{s:?}"
            );
        }
    }
    assert!(statements.iter().any(|s| s["Effect"] == "Deny"
        && s["Action"] == "kms:Sign"
        && intrinsic_is(
            &s["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
            "!GetAtt"
        )
        .as_deref()
            == Some("DigestSignerRole.Arn")));

    // The trail bucket.
    let b = &t.resource("TrailBucket")["Properties"];
    assert_eq!(b["VersioningConfiguration"]["Status"], "Enabled");
    let sse = &b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    let lc = &b["LifecycleConfiguration"]["Rules"][0];
    let days = |i: usize| intrinsic_is(&lc["Transitions"][i]["TransitionInDays"], "!Ref");
    assert_eq!(lc["Transitions"][0]["StorageClass"], "GLACIER");
    assert_eq!(days(0).as_deref(), Some("GlacierTransitionDays"));
    assert_eq!(lc["Transitions"][1]["StorageClass"], "DEEP_ARCHIVE");
    assert_eq!(days(1).as_deref(), Some("DeepArchiveTransitionDays"));
    assert_eq!(t.default("GlacierTransitionDays"), "90");
    assert_eq!(t.default("DeepArchiveTransitionDays"), "365");
    assert_eq!(t.default("ExpirationDays"), "2557");
    let policy = serde_yaml::to_string(&t.resource("TrailBucketPolicy")["Properties"]).unwrap();
    assert!(policy.contains("aws:SecureTransport"), "TLS only");
    assert!(policy.contains("s3:DeleteObjectVersion"), "deny delete");
    let lock = serde_yaml::to_string(&b["ObjectLockConfiguration"]).unwrap();
    assert!(lock.contains("COMPLIANCE") && lock.contains("ObjectLockRetentionDays"));

    // The Glue table projects account, region and day over the delivered layout.
    let table = &t.resource("TrailTable")["Properties"]["TableInput"];
    let keys: Vec<&str> = table["PartitionKeys"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k["Name"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["account", "region", "day"]);
    assert_eq!(table["Parameters"]["projection.enabled"], "true");
    let template =
        serde_yaml::to_string(&table["Parameters"]["storage.location.template"]).unwrap();
    assert!(
        template.contains("AWSLogs/${O}${!account}/CloudTrail/${!region}/${!day}"),
        "{template}"
    );
}

/// An EventBridge pattern (the subset the template uses: exact values, `prefix`, nesting,
/// `$or`) against an event; intrinsics resolve with the parameters' defaults and the sample
/// events' account and region.
fn pattern_matches(t: &Template, pattern: &Value, event: &serde_json::Value) -> bool {
    let Some(m) = pattern.as_mapping() else {
        panic!("pattern {pattern:?}")
    };
    m.iter().all(|(k, pv)| {
        let k = k.as_str().unwrap();
        if k == "$or" {
            return pv
                .as_sequence()
                .unwrap()
                .iter()
                .any(|alt| pattern_matches(t, alt, event));
        }
        let ev = &event[k];
        match pv {
            Value::Mapping(_) => ev.is_object() && pattern_matches(t, pv, ev),
            Value::Sequence(alternatives) => alternatives.iter().any(|a| {
                let values: Vec<&str> = match ev {
                    serde_json::Value::Array(xs) => xs.iter().filter_map(|x| x.as_str()).collect(),
                    x => x.as_str().into_iter().collect(),
                };
                match a {
                    Value::Mapping(op) => {
                        let prefix = resolve_sample(t, &op[&Value::from("prefix")]);
                        values.iter().any(|v| v.starts_with(&prefix))
                    }
                    other => {
                        let want = resolve_sample(t, other);
                        values.contains(&want.as_str())
                    }
                }
            }),
            other => panic!("pattern value {other:?}"),
        }
    })
}

fn resolve_sample(t: &Template, v: &Value) -> String {
    if let Some(s) = t.resolve(v) {
        return s;
    }
    let text = intrinsic_is(v, "!Sub").unwrap_or_else(|| panic!("cannot resolve {v:?}"));
    let mut out = text
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::AccountId}", "123456789012");
    let mut names = BTreeSet::new();
    sub_refs(&text, &mut names);
    for n in names.iter().filter(|n| !n.starts_with("AWS::")) {
        out = out.replace(&format!("${{{n}}}"), &t.default(n));
    }
    out
}

fn sample(path: &str) -> serde_json::Value {
    let p = repo_root().join("events").join(path);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn the_event_patterns_match_the_sample_events() {
    let t = Template::load();
    let fns = functions(&t);
    let events = &fns["remediator"].1["Properties"]["Events"];

    // Tampering with the suite's trail (by name or ARN, `name` or `trailName`), not another's.
    let tamper = &events["TrailTampering"]["Properties"]["Pattern"];
    for call in [
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
    ] {
        let ev = sample(&format!("remediator/cloudtrail-{call}-suite-trail.json"));
        assert!(pattern_matches(&t, tamper, &ev), "{call}");
    }
    let other = sample("remediator/cloudtrail-StopLogging-other-trail.json");
    assert!(!pattern_matches(&t, tamper, &other));

    // NON_COMPLIANT changes of this stack's rules (the samples' rule names get the prefix).
    let compliance = &events["ComplianceChange"]["Properties"]["Pattern"];
    let prefix = t.default("ConfigRuleNamePrefix");
    let prefixed = |name: &str| {
        let mut ev = sample(name);
        let rule = ev["detail"]["configRuleName"].as_str().unwrap().to_string();
        ev["detail"]["configRuleName"] = serde_json::json!(format!("{prefix}{rule}"));
        ev
    };
    let ssh = "remediator/config-compliance-restricted-ssh.json";
    assert!(
        !pattern_matches(&t, compliance, &sample(ssh)),
        "another stack's rule"
    );
    assert!(pattern_matches(&t, compliance, &prefixed(ssh)));
    let compliant = "remediator/config-compliance-s3-bucket-versioning-enabled-COMPLIANT.json";
    assert!(!pattern_matches(&t, compliance, &prefixed(compliant)));

    // Every EventBridge envelope in the delivery sample goes to the delivery queue.
    let rule = &t.resource("CloudTrailEventsRule")["Properties"]["EventPattern"];
    let batch = sample("log-delivery/sqs-batch.json");
    let mut envelopes = 0;
    for m in batch["Records"].as_array().unwrap() {
        let body: serde_json::Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
        if body.get("detail-type").is_some() {
            assert!(pattern_matches(&t, rule, &body), "{body}");
            envelopes += 1;
        }
    }
    assert!(envelopes >= 2);
    assert!(!pattern_matches(
        &t,
        rule,
        &sample("digest-signer/scheduled-hourly.json")
    ));
}
