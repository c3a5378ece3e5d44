//! The six Lambda functions as deployed: each one's environment variables (name, whether it is
//! required) and triggers, in one place.
//!
//! The functions read their settings only through [`FunctionSpec::env`], which refuses (a panic
//! in debug builds, an error log in release builds) to read a variable the spec does not
//! declare, and check the required ones with [`FunctionSpec::check_required`] at start-up. The
//! template test (`tests/tests/template.rs`) compares `template.yaml` with these specs, so the
//! template, the code and the test cannot drift apart.

use std::fmt;

/// Whether the deployed function needs a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Must be set (non-empty).
    Required,
    /// Has a default or is an optional feature.
    Optional,
    /// At least one variable of the named group must be set.
    OneOf(&'static str),
    /// Set by the Lambda runtime itself (reserved: a template must not set it).
    SetByLambda,
}

/// One environment variable a function reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub need: Need,
    /// False for variables meant for local runs only (a PEM private key): a deployment template
    /// must not set them.
    pub deployable: bool,
    /// What it is.
    pub doc: &'static str,
}

const fn required(name: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        need: Need::Required,
        deployable: true,
        doc,
    }
}

const fn optional(name: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        need: Need::Optional,
        deployable: true,
        doc,
    }
}

const fn one_of(name: &'static str, group: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        need: Need::OneOf(group),
        deployable: true,
        doc,
    }
}

const fn lambda(name: &'static str, doc: &'static str) -> EnvVar {
    EnvVar {
        name,
        need: Need::SetByLambda,
        deployable: false,
        doc,
    }
}

/// What invokes a function (the template's event sources and wiring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An SQS queue (event source mapping) with partial batch responses.
    SqsQueue,
    /// An EventBridge schedule rule (the event's `time` is read, so an EventBridge rule, not
    /// EventBridge Scheduler, which sends no `time`).
    Schedule,
    /// S3 object-created notifications of the trail bucket.
    S3ObjectCreated,
    /// A CloudWatch Logs subscription filter (optional).
    CloudWatchLogs,
    /// EventBridge events of this `detail-type`.
    EventBridge(&'static str),
    /// AWS Config custom rules (`AWS::Config::ConfigRule`, CUSTOM_LAMBDA).
    ConfigRule,
}

/// One function: its binary (crate) name, environment and triggers.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    /// The binary, as `cargo lambda build` names it and `BuildProperties: Binary` picks it.
    pub binary: &'static str,
    pub env: &'static [EnvVar],
    pub triggers: &'static [Trigger],
}

/// A required variable that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEnv {
    pub function: &'static str,
    /// The variable, or the names of a group of which none is set.
    pub names: Vec<&'static str>,
}

impl fmt::Display for MissingEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.names.as_slice() {
            [one] => write!(f, "{}: {one} is required", self.function),
            many => write!(f, "{}: set one of {}", self.function, many.join(", ")),
        }
    }
}

impl std::error::Error for MissingEnv {}

impl FunctionSpec {
    /// The declaration of `name`, if the function reads it.
    pub fn var(&self, name: &str) -> Option<&'static EnvVar> {
        self.env.iter().find(|v| v.name == name)
    }

    /// Reads a variable through `get`, but only one this spec declares: reading an undeclared
    /// variable is a bug (the template test would not know the function needs it), so it
    /// panics in debug builds (every test) and is logged in release builds.
    pub fn read(&self, get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
        if self.var(name).is_none() {
            debug_assert!(
                false,
                "{} reads {name}, which trailwarden::functions does not declare for it",
                self.binary
            );
            tracing::error!(
                function = self.binary,
                variable = name,
                "environment variable not declared in trailwarden::functions"
            );
        }
        get(name)
    }

    /// The process environment, restricted to the declared variables (see [`read`](Self::read)).
    pub fn env(&self, name: &str) -> Option<String> {
        self.read(&crate::telemetry::env, name)
    }

    /// The required variables (and groups) that `get` does not provide (empty values count as
    /// unset).
    pub fn missing(&self, get: &dyn Fn(&str) -> Option<String>) -> Vec<MissingEnv> {
        let set = |n: &str| get(n).is_some_and(|v| !v.trim().is_empty());
        let mut out = Vec::new();
        for v in self.env {
            match v.need {
                Need::Required if !set(v.name) => out.push(MissingEnv {
                    function: self.binary,
                    names: vec![v.name],
                }),
                Need::OneOf(group) => {
                    let members: Vec<&'static str> = self
                        .env
                        .iter()
                        .filter(|m| m.need == Need::OneOf(group))
                        .map(|m| m.name)
                        .collect();
                    let first = members.first() == Some(&v.name);
                    if first && !members.iter().any(|m| set(m)) {
                        out.push(MissingEnv {
                            function: self.binary,
                            names: members,
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Fails with the first missing required variable of the process environment.
    pub fn check_required(&self) -> Result<(), MissingEnv> {
        match self.missing(&crate::telemetry::env).into_iter().next() {
            Some(m) => Err(m),
            None => Ok(()),
        }
    }
}

const RUST_LOG: EnvVar = optional("RUST_LOG", "log level filter (default info)");
const TRAIL_BUCKET: EnvVar = required("TRAIL_BUCKET", "the trail bucket");
const S3_KEY_PREFIX: EnvVar = optional("S3_KEY_PREFIX", "the trail's key prefix");
const ORGANIZATION_ID: EnvVar = optional(
    "ORGANIZATION_ID",
    "organization layout AWSLogs/<o-id>/<account>/...",
);
const SSE_KMS_KEY_ID: EnvVar = optional(
    "SSE_KMS_KEY_ID",
    "KMS key for SSE-KMS on writes (default SSE-S3)",
);
const TRAIL_ARN: EnvVar = required(
    "TRAIL_ARN",
    "the trail whose digests these are (name and home region go into digest keys)",
);

/// `log-delivery`.
pub const LOG_DELIVERY: FunctionSpec = FunctionSpec {
    binary: "log-delivery",
    env: &[
        TRAIL_BUCKET,
        S3_KEY_PREFIX,
        ORGANIZATION_ID,
        SSE_KMS_KEY_ID,
        optional("GZIP_LEVEL", "1-9, default 6"),
        optional(
            "READ_WRITE_TYPE",
            "All, ReadOnly or WriteOnly (default All)",
        ),
        optional("INCLUDE_MANAGEMENT_EVENTS", "default true"),
        optional("INCLUDE_DATA_EVENTS", "default true"),
        optional("INCLUDE_INSIGHT_EVENTS", "default true"),
        optional("INCLUDE_NETWORK_ACTIVITY_EVENTS", "default true"),
        optional(
            "EXCLUDE_MANAGEMENT_EVENT_SOURCES",
            "comma-separated event sources not delivered",
        ),
        RUST_LOG,
    ],
    triggers: &[Trigger::SqsQueue],
};

/// `digest-signer`.
pub const DIGEST_SIGNER: FunctionSpec = FunctionSpec {
    binary: "digest-signer",
    env: &[
        TRAIL_BUCKET,
        TRAIL_ARN,
        S3_KEY_PREFIX,
        ORGANIZATION_ID,
        SSE_KMS_KEY_ID,
        one_of(
            "SIGNING_KEY_ID",
            "signing key",
            "KMS RSA_2048 SIGN_VERIFY key",
        ),
        EnvVar {
            name: "SIGNING_PRIVATE_KEY_PEM",
            need: Need::OneOf("signing key"),
            deployable: false,
            doc: "PEM private key, local runs only",
        },
        RUST_LOG,
    ],
    triggers: &[Trigger::Schedule],
};

/// `log-validator`.
pub const LOG_VALIDATOR: FunctionSpec = FunctionSpec {
    binary: "log-validator",
    env: &[
        TRAIL_BUCKET,
        TRAIL_ARN,
        S3_KEY_PREFIX,
        ORGANIZATION_ID,
        optional(
            "VALIDATION_WINDOW_HOURS",
            "hours validated per run (default 24)",
        ),
        one_of(
            "SIGNING_KEY_ID",
            "public key",
            "the KMS signing key (its public key)",
        ),
        EnvVar {
            name: "SIGNING_PRIVATE_KEY_PEM",
            need: Need::OneOf("public key"),
            deployable: false,
            doc: "PEM private key, local runs only",
        },
        one_of(
            "PUBLIC_KEYS_JSON",
            "public key",
            "extra public keys (CloudTrail ListPublicKeys JSON)",
        ),
        optional(
            "ALERT_TOPIC_ARN",
            "SNS topic for integrity alerts (unset: logged only)",
        ),
        RUST_LOG,
    ],
    triggers: &[Trigger::Schedule],
};

/// `metric-filter-alarm`.
pub const METRIC_FILTER_ALARM: FunctionSpec = FunctionSpec {
    binary: "metric-filter-alarm",
    env: &[
        TRAIL_BUCKET,
        lambda("AWS_REGION", "the region, used in alarm ARNs and messages"),
        lambda("AWS_DEFAULT_REGION", "fallback for AWS_REGION"),
        optional(
            "ALERT_TOPIC_ARN",
            "SNS topic for the alarms (unset: evaluated and logged only)",
        ),
        optional(
            "METRIC_NAMESPACE",
            "namespace of the CIS metrics (default CISBenchmark)",
        ),
        optional(
            "FILTERS_FILE",
            "YAML or JSON file of user filters and alarms",
        ),
        optional("ENABLE_CIS_FILTERS", "true (default) or false"),
        optional(
            "STATE_PREFIX",
            "key prefix of the alarm states (default trailwarden-state/alarms)",
        ),
        optional(
            "MAX_DECOMPRESSED_BYTES",
            "largest decompressed log file accepted (default 512 MiB)",
        ),
        SSE_KMS_KEY_ID,
        RUST_LOG,
    ],
    triggers: &[Trigger::S3ObjectCreated, Trigger::CloudWatchLogs],
};

/// `config-rule-evaluator`: no settings of its own (the rule comes from the event).
pub const CONFIG_RULE_EVALUATOR: FunctionSpec = FunctionSpec {
    binary: "config-rule-evaluator",
    env: &[RUST_LOG],
    triggers: &[Trigger::ConfigRule],
};

/// `remediator`.
pub const REMEDIATOR: FunctionSpec = FunctionSpec {
    binary: "remediator",
    env: &[
        TRAIL_BUCKET,
        S3_KEY_PREFIX,
        required("ALERT_TOPIC_ARN", "SNS topic the remediation reports go to"),
        optional(
            "TRAIL_ARN",
            "the suite's own trail (for the tampering trigger)",
        ),
        optional(
            "RULE_RUNBOOKS",
            "JSON: Config rule name -> runbook (or {runbook, parameters, dryRun})",
        ),
        optional("DRY_RUN", "true: only report the calls that would be made"),
        optional(
            "EXEMPT_RESOURCE_IDS",
            "comma-separated resource ids never remediated",
        ),
        optional(
            "MAX_ATTEMPTS",
            "attempts per resource in the window (1-25, default 5)",
        ),
        optional("RETRY_WINDOW_SECONDS", "default 60"),
        optional("CAUSE_LOOKBACK_DAYS", "default 7"),
        optional("CAUSE_MAX_FILES", "default 500"),
        RUST_LOG,
    ],
    triggers: &[
        Trigger::EventBridge("Config Rules Compliance Change"),
        Trigger::EventBridge("AWS API Call via CloudTrail"),
    ],
};

/// Every function.
pub const ALL: [FunctionSpec; 6] = [
    LOG_DELIVERY,
    DIGEST_SIGNER,
    LOG_VALIDATOR,
    METRIC_FILTER_ALARM,
    CONFIG_RULE_EVALUATOR,
    REMEDIATOR,
];

/// The function whose binary is `binary`.
pub fn find(binary: &str) -> Option<&'static FunctionSpec> {
    ALL.iter().find(|f| f.binary == binary)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// A getter over `vars` that records every name read.
    struct Recorder {
        vars: BTreeMap<&'static str, String>,
        read: RefCell<BTreeSet<String>>,
    }

    impl Recorder {
        fn new(vars: &[(&'static str, &str)]) -> Self {
            Self {
                vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                read: RefCell::default(),
            }
        }
        fn get(&self, name: &str) -> Option<String> {
            self.read.borrow_mut().insert(name.to_string());
            self.vars.get(name).cloned()
        }
        fn read(&self) -> BTreeSet<String> {
            self.read.borrow().clone()
        }
    }

    fn names(spec: &FunctionSpec) -> BTreeSet<String> {
        spec.env.iter().map(|v| v.name.to_string()).collect()
    }

    const BUCKET: (&str, &str) = ("TRAIL_BUCKET", "b");
    const ARN: (&str, &str) = (
        "TRAIL_ARN",
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/trailwarden",
    );

    #[test]
    fn every_variable_the_shared_readers_read_is_declared() {
        // log-delivery: DeliveryConfig reads the location, SSE, gzip and selection variables.
        let r = Recorder::new(&[BUCKET]);
        crate::delivery::DeliveryConfig::from_env_with(&|n| r.get(n)).unwrap();
        let declared = names(&LOG_DELIVERY);
        assert!(r.read().is_subset(&declared), "{:?}", r.read());
        // Every declared variable but RUST_LOG (read by the log filter) is read by it.
        let mut expected = declared.clone();
        expected.remove("RUST_LOG");
        assert_eq!(r.read(), expected);

        // digest-signer / log-validator: the trail's location and ARN.
        for spec in [&DIGEST_SIGNER, &LOG_VALIDATOR] {
            let r = Recorder::new(&[BUCKET, ARN]);
            crate::delivery::trail_from_env(&|n| r.get(n)).unwrap();
            assert!(r.read().is_subset(&names(spec)), "{:?}", r.read());
        }

        // metric-filter-alarm: AlertingConfig.
        let r = Recorder::new(&[BUCKET, ("AWS_REGION", "eu-west-1")]);
        crate::alerting::AlertingConfig::from_env_with(&|n| r.get(n)).unwrap();
        let declared = names(&METRIC_FILTER_ALARM);
        assert!(r.read().is_subset(&declared), "{:?}", r.read());
        let r = Recorder::new(&[BUCKET, ("AWS_DEFAULT_REGION", "eu-west-1")]);
        crate::alerting::AlertingConfig::from_env_with(&|n| r.get(n)).unwrap();
        assert!(r.read().contains("AWS_DEFAULT_REGION"));
        assert!(r.read().is_subset(&declared), "{:?}", r.read());

        // remediator: RemediationSettings (ALERT_TOPIC_ARN is read by main).
        let r = Recorder::new(&[BUCKET]);
        crate::remediation::RemediationSettings::from_env_with(&|n| r.get(n)).unwrap();
        let declared = names(&REMEDIATOR);
        assert!(r.read().is_subset(&declared), "{:?}", r.read());
        let mut expected = declared.clone();
        expected.remove("RUST_LOG");
        expected.remove("ALERT_TOPIC_ARN");
        assert_eq!(r.read(), expected);
    }

    #[test]
    fn missing_reports_required_variables_and_groups() {
        let none = |_: &str| None;
        let m = DIGEST_SIGNER.missing(&none);
        assert_eq!(
            m.iter().map(|m| m.names.clone()).collect::<Vec<_>>(),
            vec![
                vec!["TRAIL_BUCKET"],
                vec!["TRAIL_ARN"],
                vec!["SIGNING_KEY_ID", "SIGNING_PRIVATE_KEY_PEM"],
            ]
        );
        assert_eq!(
            m[2].to_string(),
            "digest-signer: set one of SIGNING_KEY_ID, SIGNING_PRIVATE_KEY_PEM"
        );
        let some = |n: &str| match n {
            "TRAIL_BUCKET" | "TRAIL_ARN" | "SIGNING_PRIVATE_KEY_PEM" => Some("x".to_string()),
            "SIGNING_KEY_ID" => Some("  ".to_string()),
            _ => None,
        };
        assert!(DIGEST_SIGNER.missing(&some).is_empty());
        let v = LOG_VALIDATOR.missing(&|n| (n == "PUBLIC_KEYS_JSON").then(|| "[]".into()));
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            REMEDIATOR.missing(&none)[1].to_string(),
            "remediator: ALERT_TOPIC_ARN is required"
        );
        assert!(CONFIG_RULE_EVALUATOR.missing(&none).is_empty());
    }

    #[test]
    fn specs_are_consistent() {
        let mut binaries = BTreeSet::new();
        for f in ALL {
            assert!(binaries.insert(f.binary), "{} twice", f.binary);
            assert_eq!(find(f.binary).map(|s| s.binary), Some(f.binary));
            let mut seen = BTreeSet::new();
            for v in f.env {
                assert!(seen.insert(v.name), "{}: {} twice", f.binary, v.name);
                if v.need == Need::SetByLambda {
                    assert!(!v.deployable);
                }
            }
            assert!(!f.triggers.is_empty());
        }
        assert!(find("cli").is_none());
    }

    #[test]
    fn reads_the_declared_variables() {
        let get = |n: &str| (n == "TRAIL_BUCKET").then(|| "b".to_string());
        assert_eq!(
            LOG_DELIVERY.read(&get, "TRAIL_BUCKET").as_deref(),
            Some("b")
        );
        assert_eq!(LOG_DELIVERY.read(&get, "GZIP_LEVEL"), None);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "log-delivery reads TRAIL_ARN")]
    fn reading_an_undeclared_variable_is_a_bug() {
        LOG_DELIVERY.read(&|_| None, "TRAIL_ARN");
    }
}
