//! The orchestrator: one Config rule event in, evaluations sent through the port.
//!
//! * `ConfigurationItemChangeNotification`: evaluate the item (deleted / not recorded items and
//!   `eventLeftScope` give `NOT_APPLICABLE`; so do resource types the rule does not evaluate).
//!   Account rules re-evaluate the account.
//! * `OversizedConfigurationItemChangeNotification`: fetch the item with
//!   `GetResourceConfigHistory(laterTime = captureTime)`, then as above.
//! * `ScheduledNotification`: resource rules list every resource of their types, fetch them in
//!   batches of 100 and evaluate each; account rules fetch the account data they declare.
//!   Resources Config holds an evaluation for that this run did not see are marked
//!   `NOT_APPLICABLE` (RDK's "clean up old evaluations"); if that lookup fails, the run's own
//!   evaluations are still sent and the failure is a warning in the [`Report`].
//! * `ConfigurationSnapshotDeliveryCompleted`: acknowledged, nothing evaluated or sent.
//!
//! Evaluations go out in `PutEvaluations` calls of at most 100, with `TestMode` when the result
//! token is `TESTMODE`. Throttled port calls are retried with exponential backoff.
//!
//! A rule's declared [`Trigger`](crate::rules::Trigger) is informational (what to configure in
//! Config); every message type is handled for every rule, so a change-triggered rule invoked on
//! a schedule evaluates all its resources, and an account rule invoked by a change re-evaluates
//! the account.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::account::{AccountData, AccountDataKind};
use super::error::{ConfigError, ParamError, PortError};
use super::evaluation::{ComplianceType, Evaluation, Outcome};
use super::event::{ConfigRuleEvent, InvokingEvent, MessageType};
use super::item::ConfigurationItem;
use super::params::Params;
use super::port::{
    op, ConfigClient, ResourceKey, MAX_BATCH_GET_KEYS, MAX_EVALUATIONS_PER_PUT, TEST_MODE_TOKEN,
};
use crate::rules::{self, Rule, RuleExt};

/// Retry settings for throttled port calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatorOptions {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled after each.
    pub base_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The rule evaluated, e.g. `restricted-ssh`.
    pub rule: &'static str,
    /// `configRuleName` of the event.
    pub config_rule_name: Option<String>,
    /// The event's message type.
    pub message_type: MessageType,
    /// Every evaluation sent, in order (stale clean-ups included).
    pub evaluations: Vec<Evaluation>,
    /// `FailedEvaluations` returned by `PutEvaluations`.
    pub failed_evaluations: Vec<Evaluation>,
    /// Number of `PutEvaluations` calls made.
    pub put_calls: usize,
    /// Whether `TestMode` was used.
    pub test_mode: bool,
    /// How many of the evaluations mark stale resources `NOT_APPLICABLE`.
    pub stale_cleaned: usize,
    /// Non-fatal remarks (unknown parameters, missing timestamps, ...).
    pub warnings: Vec<String>,
}

/// Evaluates a Config rule Lambda event (JSON text) with default retry settings.
pub async fn evaluate_event(
    event_json: &str,
    client: &dyn ConfigClient,
) -> Result<Report, ConfigError> {
    evaluate_event_with(event_json, client, &EvaluatorOptions::default()).await
}

/// Evaluates a Config rule Lambda event (JSON text).
pub async fn evaluate_event_with(
    event_json: &str,
    client: &dyn ConfigClient,
    options: &EvaluatorOptions,
) -> Result<Report, ConfigError> {
    let event = ConfigRuleEvent::from_json(event_json)?;
    evaluate_rule_event(&event, client, options).await
}

/// Splits the `rule` key off the raw parameters.
pub(crate) fn split_rule_param(
    raw: &BTreeMap<String, Value>,
) -> Result<(Option<String>, BTreeMap<String, Value>), ConfigError> {
    let mut rest = raw.clone();
    let rule = match rest.remove("rule") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            return Err(ParamError::new("rule", "must be a rule name (a string)").into());
        }
    };
    Ok((rule, rest))
}

/// Evaluates one item the way every message type does: `NOT_APPLICABLE` when the event left
/// scope, the item is deleted / not recorded, or the rule does not evaluate its type.
pub(crate) fn evaluate_item(
    rule: &dyn Rule,
    item: &ConfigurationItem,
    params: &Params,
    left_scope: bool,
    ordering: DateTime<Utc>,
) -> Evaluation {
    let outcome = if left_scope {
        Outcome::not_applicable("the resource is no longer in the rule's scope")
    } else if item.status.is_gone() {
        Outcome::not_applicable(format!(
            "the resource is not recorded any more (status {})",
            item.status.as_str()
        ))
    } else if !rule.applies_to(&item.resource_type) {
        Outcome::not_applicable(format!(
            "{} does not evaluate {} resources",
            rule.name(),
            item.resource_type
        ))
    } else {
        rule.evaluate(item, params)
    };
    Evaluation::from_outcome(outcome, &item.resource_type, &item.resource_id, ordering)
}

/// The account rule's evaluations for `account` (which must hold the declared data).
pub(crate) fn account_evaluations(
    rule: &dyn Rule,
    account: &AccountData,
    params: &Params,
    ordering: DateTime<Utc>,
) -> Result<Vec<Evaluation>, ConfigError> {
    if let Some(missing) = rule.account_data().iter().find(|k| !account.has(**k)) {
        return Err(ConfigError::Unsupported(format!(
            "{} needs account data '{}', which the input does not have",
            rule.name(),
            missing.json_key()
        )));
    }
    Ok(rule
        .evaluate_account(account, params)
        .into_iter()
        .map(|o| Evaluation::from_outcome(o.outcome, o.resource_type, o.resource_id, ordering))
        .collect())
}

fn now_with_warning(warnings: &mut Vec<String>, what: &str) -> DateTime<Utc> {
    warnings.push(format!(
        "{what}: no timestamp in the event, used the current time"
    ));
    Utc::now()
}

/// Evaluates a parsed Config rule event and sends the evaluations.
pub async fn evaluate_rule_event(
    event: &ConfigRuleEvent,
    client: &dyn ConfigClient,
    options: &EvaluatorOptions,
) -> Result<Report, ConfigError> {
    let (requested, raw) = split_rule_param(&event.rule_parameters)?;
    let rule = rules::select(requested.as_deref(), event.config_rule_name.as_deref())?;
    let params = rule.parse_params(&raw)?;
    let mut report = Report {
        rule: rule.name(),
        config_rule_name: event.config_rule_name.clone(),
        message_type: event.message_type(),
        evaluations: Vec::new(),
        failed_evaluations: Vec::new(),
        put_calls: 0,
        test_mode: false,
        stale_cleaned: 0,
        warnings: params.warnings().to_vec(),
    };
    let run = Run {
        rule,
        params: &params,
        client,
        options,
    };
    match &event.invoking_event {
        InvokingEvent::SnapshotDelivered { .. } => {
            tracing::info!(
                rule = rule.name(),
                "configuration snapshot delivered: nothing to evaluate"
            );
            return Ok(report);
        }
        InvokingEvent::Change {
            item,
            notification_creation_time,
            ..
        } => {
            let ordering = match item.capture_time.or(*notification_creation_time) {
                Some(t) => t,
                None => now_with_warning(&mut report.warnings, "OrderingTimestamp"),
            };
            if rule.is_account_rule() && !event.event_left_scope && !item.status.is_gone() {
                let account_id = account_id(event, item.account_id.as_deref())?;
                let account = run.fetch_account(account_id).await?;
                report.evaluations = account_evaluations(rule, &account, &params, ordering)?;
            } else {
                report.evaluations = vec![evaluate_item(
                    rule,
                    item,
                    &params,
                    event.event_left_scope,
                    ordering,
                )];
            }
        }
        InvokingEvent::Oversized {
            summary,
            notification_creation_time,
            ..
        } => {
            let ordering = match summary.capture_time.or(*notification_creation_time) {
                Some(t) => t,
                None => now_with_warning(&mut report.warnings, "OrderingTimestamp"),
            };
            let na = |why: String| {
                Evaluation::from_outcome(
                    Outcome::not_applicable(why),
                    &summary.resource_type,
                    &summary.resource_id,
                    ordering,
                )
            };
            report.evaluations = if event.event_left_scope {
                vec![na("the resource is no longer in the rule's scope".into())]
            } else if summary.status.is_gone() {
                vec![na(format!(
                    "the resource is not recorded any more (status {})",
                    summary.status.as_str()
                ))]
            } else if rule.is_account_rule() {
                let account_id = account_id(event, summary.account_id.as_deref())?;
                let account = run.fetch_account(account_id).await?;
                account_evaluations(rule, &account, &params, ordering)?
            } else if !rule.applies_to(&summary.resource_type) {
                vec![na(format!(
                    "{} does not evaluate {} resources",
                    rule.name(),
                    summary.resource_type
                ))]
            } else {
                let fetched = retry(options, op::GET_RESOURCE_CONFIG_HISTORY, || {
                    client.get_resource_config_history(
                        &summary.resource_type,
                        &summary.resource_id,
                        summary.capture_time,
                    )
                })
                .await;
                match fetched {
                    Ok(item) => {
                        let t = item.capture_time.unwrap_or(ordering);
                        vec![evaluate_item(rule, &item, &params, false, t)]
                    }
                    Err(ConfigError::Port {
                        source: PortError::NotFound(why),
                        ..
                    }) => vec![na(format!("the resource is not recorded any more ({why})"))],
                    Err(e) => return Err(e),
                }
            };
        }
        InvokingEvent::Scheduled {
            account_id: scheduled_account,
            notification_creation_time,
            ..
        } => {
            let ordering = match notification_creation_time {
                Some(t) => *t,
                None => now_with_warning(&mut report.warnings, "OrderingTimestamp"),
            };
            let mut seen = BTreeSet::new();
            if rule.is_account_rule() {
                let account_id = account_id(event, scheduled_account.as_deref())?;
                let account = run.fetch_account(account_id).await?;
                report.evaluations = account_evaluations(rule, &account, &params, ordering)?;
                seen.extend(
                    report
                        .evaluations
                        .iter()
                        .map(|e| ResourceKey::new(e.resource_type.clone(), e.resource_id.clone())),
                );
            } else {
                report.evaluations = run
                    .evaluate_all_resources(ordering, &mut seen, &mut report.warnings)
                    .await?;
            }
            match event.config_rule_name.as_deref() {
                // A failed lookup must not cost the run its evaluations: report it instead.
                Some(name) => match run.stale_evaluations(name, &seen, ordering).await {
                    Ok(stale) => {
                        report.stale_cleaned = stale.len();
                        report.evaluations.extend(stale);
                    }
                    Err(e) => report
                        .warnings
                        .push(format!("old evaluations not cleaned up: {e}")),
                },
                None => report
                    .warnings
                    .push("no configRuleName in the event: old evaluations not cleaned up".into()),
            }
        }
    }
    for w in &report.warnings {
        tracing::warn!(rule = rule.name(), "{w}");
    }
    if report.evaluations.is_empty() {
        return Ok(report);
    }
    let token = event
        .result_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ConfigError::invalid("Config rule event", "missing field resultToken"))?;
    report.test_mode = token == TEST_MODE_TOKEN;
    for chunk in report.evaluations.chunks(MAX_EVALUATIONS_PER_PUT) {
        let failed = retry(options, op::PUT_EVALUATIONS, || {
            client.put_evaluations(chunk, token, report.test_mode)
        })
        .await?;
        report.put_calls += 1;
        for f in &failed {
            tracing::warn!(
                resource_type = %f.resource_type,
                resource_id = %f.resource_id,
                "PutEvaluations reported a failed evaluation"
            );
        }
        report.failed_evaluations.extend(failed);
    }
    tracing::info!(
        rule = rule.name(),
        evaluations = report.evaluations.len(),
        put_calls = report.put_calls,
        non_compliant = report
            .evaluations
            .iter()
            .filter(|e| e.compliance_type == ComplianceType::NonCompliant)
            .count(),
        "evaluated"
    );
    Ok(report)
}

fn account_id(event: &ConfigRuleEvent, preferred: Option<&str>) -> Result<String, ConfigError> {
    preferred
        .or(event.account_id.as_deref())
        .map(str::to_string)
        .ok_or_else(|| {
            ConfigError::invalid(
                "Config rule event",
                "no account id (accountId / awsAccountId)",
            )
        })
}

struct Run<'a> {
    rule: &'static dyn Rule,
    params: &'a Params,
    client: &'a dyn ConfigClient,
    options: &'a EvaluatorOptions,
}

impl Run<'_> {
    async fn fetch_account(&self, account_id: String) -> Result<AccountData, ConfigError> {
        let (client, opts) = (self.client, self.options);
        let mut a = AccountData {
            account_id,
            ..AccountData::default()
        };
        for kind in self.rule.account_data() {
            match kind {
                AccountDataKind::Trails => {
                    a.trails =
                        Some(retry(opts, op::DESCRIBE_TRAILS, || client.describe_trails()).await?);
                }
                AccountDataKind::PasswordPolicy => {
                    a.password_policy = Some(
                        retry(opts, op::GET_ACCOUNT_PASSWORD_POLICY, || {
                            client.get_account_password_policy()
                        })
                        .await?,
                    );
                }
                AccountDataKind::RootAccount => {
                    a.root = Some(
                        retry(opts, op::GET_ACCOUNT_SUMMARY, || client.get_root_account()).await?,
                    );
                }
                AccountDataKind::IamUsers => {
                    a.iam_users =
                        Some(retry(opts, op::LIST_USERS, || client.list_iam_users()).await?);
                }
            }
        }
        Ok(a)
    }

    async fn evaluate_all_resources(
        &self,
        ordering: DateTime<Utc>,
        seen: &mut BTreeSet<ResourceKey>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Evaluation>, ConfigError> {
        let (client, opts) = (self.client, self.options);
        let mut out = Vec::new();
        for rt in self.rule.resource_types() {
            if *rt == "AWS::::Account" {
                continue;
            }
            let ids = retry(opts, op::LIST_DISCOVERED_RESOURCES, || {
                client.list_discovered_resources(rt)
            })
            .await?;
            let keys: Vec<ResourceKey> = ids
                .into_iter()
                .map(|id| ResourceKey::new(*rt, id))
                .collect();
            seen.extend(keys.iter().cloned());
            for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
                for item in self.batch_get(chunk, warnings).await? {
                    out.push(evaluate_item(
                        self.rule,
                        &item,
                        self.params,
                        false,
                        ordering,
                    ));
                }
            }
        }
        Ok(out)
    }

    /// One batch, asking again for unprocessed keys (bounded).
    async fn batch_get(
        &self,
        keys: &[ResourceKey],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<ConfigurationItem>, ConfigError> {
        let (client, opts) = (self.client, self.options);
        let mut items = Vec::new();
        let mut pending = keys.to_vec();
        let mut delay = opts.base_delay;
        for attempt in 1..=opts.max_attempts.max(1) {
            let res = retry(opts, op::BATCH_GET_RESOURCE_CONFIG, || {
                client.batch_get_resource_config(&pending)
            })
            .await?;
            items.extend(res.items);
            pending = res.unprocessed;
            if pending.is_empty() {
                return Ok(items);
            }
            if attempt < opts.max_attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2).min(opts.max_delay);
            }
        }
        warnings.push(format!(
            "{} resources stayed unprocessed by BatchGetResourceConfig and were not evaluated: {}",
            pending.len(),
            pending
                .iter()
                .map(|k| k.resource_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(items)
    }

    async fn stale_evaluations(
        &self,
        config_rule_name: &str,
        seen: &BTreeSet<ResourceKey>,
        ordering: DateTime<Utc>,
    ) -> Result<Vec<Evaluation>, ConfigError> {
        let client = self.client;
        let previous = retry(
            self.options,
            op::GET_COMPLIANCE_DETAILS_BY_CONFIG_RULE,
            || client.get_compliance_details_by_config_rule(config_rule_name),
        )
        .await?;
        let mut done = BTreeSet::new();
        Ok(previous
            .into_iter()
            .filter(|p| p.compliance_type != Some(ComplianceType::NotApplicable))
            .filter(|p| !seen.contains(&p.key) && done.insert(p.key.clone()))
            .map(|p| {
                Evaluation::from_outcome(
                    Outcome::not_applicable(
                        "the resource was not found by the latest periodic evaluation (deleted or no longer recorded)",
                    ),
                    p.key.resource_type,
                    p.key.resource_id,
                    ordering,
                )
            })
            .collect())
    }
}

/// Calls `f`, retrying [`PortError::Throttled`] and [`PortError::Transient`] with exponential
/// backoff up to `options.max_attempts` attempts in all.
pub(crate) async fn retry<T, F, Fut>(
    options: &EvaluatorOptions,
    operation: &'static str,
    mut f: F,
) -> Result<T, ConfigError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PortError>>,
{
    let mut attempt = 1;
    let mut delay = options.base_delay;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(PortError::Throttled(msg) | PortError::Transient(msg))
                if attempt < options.max_attempts =>
            {
                tracing::warn!(operation, attempt, ?delay, "retrying: {msg}");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2).min(options.max_delay);
                attempt += 1;
            }
            Err(source) => return Err(ConfigError::Port { operation, source }),
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick(max_attempts: u32) -> EvaluatorOptions {
        EvaluatorOptions {
            max_attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_then_succeed() {
        let calls = AtomicU32::new(0);
        let out = retry(&quick(5), "PutEvaluations", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(PortError::Transient("connection reset".into())),
                1 => Err(PortError::Throttled("Rate exceeded".into())),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_and_service_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let err = retry(&quick(3), "PutEvaluations", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(PortError::Transient("HTTP503: down".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(err.to_string().contains("HTTP503"), "{err}");

        let calls = AtomicU32::new(0);
        retry(&quick(3), "PutEvaluations", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(PortError::Service {
                code: "InvalidResultTokenException".into(),
                message: "bad token".into(),
            })
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
