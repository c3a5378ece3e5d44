//! Offline evaluation for the CLI (`trailwarden evaluate-rule`): no AWS access.
//!
//! Accepted documents:
//! * a configuration item in either encoding, a list of items, or an API answer holding
//!   `configurationItems` (`GetResourceConfigHistory`) / `baseConfigurationItems`
//!   (`BatchGetResourceConfig`);
//! * a whole Config rule event (change notifications are evaluated; snapshot deliveries give no
//!   evaluations; oversized and scheduled notifications need AWS access and are refused with a
//!   clear error);
//! * an invoking event (`{"configurationItem": ..., "messageType": ...}`) or an EventBridge
//!   "Config Configuration Item Change" event (`detail.configurationItem`);
//! * for account rules, an [`AccountData`] document (`{"accountId": ..., "trails": [...],
//!   "passwordPolicy": ..., "root": ..., "iamUsers": [...]}`).
//!
//! The rule comes from `rule`, else from the event's `rule` parameter or Config rule name.
//! `parameters` (JSON text) override the event's `ruleParameters` key by key.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::Value;

use super::account::{AccountData, AccountDataKind};
use super::error::ConfigError;
use super::evaluation::Evaluation;
use super::evaluator::{account_evaluations, evaluate_item, split_rule_param};
use super::event::{parse_rule_parameters, ConfigRuleEvent, InvokingEvent};
use super::item::ConfigurationItem;
use crate::rules::{self, Rule, RuleExt};

enum Input {
    Items(Vec<(ConfigurationItem, bool, Option<chrono::DateTime<Utc>>)>),
    Account(AccountData),
    Nothing,
}

/// Evaluates `document` with the rule `rule` (or the one the document names) and
/// `parameters` (a JSON object as text). See the module documentation for the accepted
/// documents.
pub fn evaluate_document(
    rule: Option<&str>,
    parameters: Option<&str>,
    document: &str,
) -> Result<Vec<Evaluation>, ConfigError> {
    let doc: Value =
        serde_json::from_str(document).map_err(|e| ConfigError::json("the document", e))?;
    let cli_params = match parameters {
        Some(p) => parse_rule_parameters(Some(&Value::String(p.to_string())))?,
        None => BTreeMap::new(),
    };
    let mut raw = BTreeMap::new();
    let mut config_rule_name = None;
    let input = if doc.get("invokingEvent").is_some() {
        let event = ConfigRuleEvent::from_value(&doc)?;
        raw = event.rule_parameters.clone();
        config_rule_name = event.config_rule_name.clone();
        match event.invoking_event {
            InvokingEvent::Change {
                item,
                notification_creation_time,
                ..
            } => Input::Items(vec![(*item, event.event_left_scope, notification_creation_time)]),
            InvokingEvent::SnapshotDelivered { .. } => Input::Nothing,
            InvokingEvent::Oversized { summary, .. } => {
                return Err(ConfigError::Unsupported(format!(
                    "an OversizedConfigurationItemChangeNotification carries no configuration item; \
                     fetch {} {} (GetResourceConfigHistory) and evaluate that item",
                    summary.resource_type, summary.resource_id
                )))
            }
            InvokingEvent::Scheduled { .. } => {
                return Err(ConfigError::Unsupported(
                    "a ScheduledNotification needs AWS access to list resources; evaluate \
                     configuration items, or an account-data document for account rules"
                        .into(),
                ))
            }
        }
    } else {
        classify(&doc)?
    };
    raw.extend(cli_params);
    let (requested, raw) = split_rule_param(&raw)?;
    let rule = rules::select(rule.or(requested.as_deref()), config_rule_name.as_deref())?;
    let params = rule.parse_params(&raw)?;
    match input {
        Input::Nothing => Ok(Vec::new()),
        Input::Items(items) => {
            if rule.is_account_rule() {
                return Err(ConfigError::Unsupported(format!(
                    "{} is evaluated from account data ({}), not from configuration items; \
                     give an account-data document",
                    rule.name(),
                    data_keys(rule)
                )));
            }
            Ok(items
                .iter()
                .map(|(item, left, nct)| {
                    let t = item.capture_time.or(*nct).unwrap_or_else(Utc::now);
                    evaluate_item(rule, item, &params, *left, t)
                })
                .collect())
        }
        Input::Account(account) => {
            if !rule.is_account_rule() {
                return Err(ConfigError::Unsupported(format!(
                    "{} evaluates configuration items ({}), not account data",
                    rule.name(),
                    rule.resource_types().join(", ")
                )));
            }
            account_evaluations(rule, &account, &params, Utc::now())
        }
    }
}

fn data_keys(rule: &dyn Rule) -> String {
    rule.account_data()
        .iter()
        .map(|k| k.json_key())
        .collect::<Vec<_>>()
        .join(", ")
}

fn classify(doc: &Value) -> Result<Input, ConfigError> {
    let items_of = |list: &[Value]| -> Result<Input, ConfigError> {
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                ConfigurationItem::from_value(v)
                    .map(|item| (item, false, None))
                    .map_err(|e| ConfigError::invalid(format!("item #{}", i + 1), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Input::Items)
    };
    match doc {
        Value::Array(list) => items_of(list),
        Value::Object(obj) => {
            if let Some(Value::Array(list)) = obj
                .get("configurationItems")
                .or_else(|| obj.get("baseConfigurationItems"))
            {
                return items_of(list);
            }
            let envelope = obj
                .get("detail")
                .filter(|d| d.get("configurationItem").is_some())
                .unwrap_or(doc);
            if let Some(ci) = envelope.get("configurationItem") {
                if envelope.get("messageType").is_some() {
                    if let InvokingEvent::Change {
                        item,
                        notification_creation_time,
                        ..
                    } = InvokingEvent::from_value(envelope)?
                    {
                        return Ok(Input::Items(vec![(
                            *item,
                            false,
                            notification_creation_time,
                        )]));
                    }
                }
                return Ok(Input::Items(vec![(
                    ConfigurationItem::from_value(ci)?,
                    false,
                    None,
                )]));
            }
            if obj.contains_key("resourceType") {
                return Ok(Input::Items(vec![(
                    ConfigurationItem::from_value(doc)?,
                    false,
                    None,
                )]));
            }
            let account_keys = [
                AccountDataKind::Trails,
                AccountDataKind::PasswordPolicy,
                AccountDataKind::RootAccount,
                AccountDataKind::IamUsers,
            ];
            if account_keys.iter().any(|k| obj.contains_key(k.json_key())) {
                let account: AccountData = serde_json::from_value(doc.clone())
                    .map_err(|e| ConfigError::invalid("account data", e.to_string()))?;
                return Ok(Input::Account(account));
            }
            Err(ConfigError::Unsupported(
                "the document is neither a Config rule event, a configuration item, nor account data"
                    .into(),
            ))
        }
        _ => Err(ConfigError::Unsupported(
            "the document is neither a Config rule event, a configuration item, nor account data"
                .into(),
        )),
    }
}

/// The CLI's JSON rendering of evaluations: an array of
/// `{"complianceType","annotation","resourceType","resourceId"}`.
pub fn render_evaluations(evaluations: &[Evaluation]) -> Value {
    Value::Array(evaluations.iter().map(Evaluation::to_cli_json).collect())
}
