//! The Lambda event AWS Config sends to a custom rule.
//!
//! The top level carries `invokingEvent` and `ruleParameters` as JSON **strings**; the decoded
//! form (objects, as in the `*.decoded.json` samples and some test tools) is accepted too.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::error::ConfigError;
use super::item::{ConfigurationItem, ItemSummary};
use super::scan;
use super::value;

/// `invokingEvent.messageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MessageType {
    /// A configuration item changed; the item is in the event.
    ConfigurationItemChangeNotification,
    /// A change whose item was too large for the event; only a summary is included.
    OversizedConfigurationItemChangeNotification,
    /// A periodic run.
    ScheduledNotification,
    /// A configuration snapshot was delivered.
    ConfigurationSnapshotDeliveryCompleted,
}

impl MessageType {
    /// Parses the message type, or errors naming the unknown value.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        Ok(match s {
            "ConfigurationItemChangeNotification" => Self::ConfigurationItemChangeNotification,
            "OversizedConfigurationItemChangeNotification" => {
                Self::OversizedConfigurationItemChangeNotification
            }
            "ScheduledNotification" => Self::ScheduledNotification,
            "ConfigurationSnapshotDeliveryCompleted" => {
                Self::ConfigurationSnapshotDeliveryCompleted
            }
            other => return Err(ConfigError::UnknownMessageType(other.to_string())),
        })
    }

    /// The message type as Config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigurationItemChangeNotification => "ConfigurationItemChangeNotification",
            Self::OversizedConfigurationItemChangeNotification => {
                "OversizedConfigurationItemChangeNotification"
            }
            Self::ScheduledNotification => "ScheduledNotification",
            Self::ConfigurationSnapshotDeliveryCompleted => {
                "ConfigurationSnapshotDeliveryCompleted"
            }
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decoded `invokingEvent`.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokingEvent {
    /// `ConfigurationItemChangeNotification`.
    Change {
        /// The changed item.
        item: Box<ConfigurationItem>,
        /// `configurationItemDiff`, raw.
        diff: Option<Value>,
        /// `notificationCreationTime`.
        notification_creation_time: Option<DateTime<Utc>>,
        /// `recordVersion`.
        record_version: Option<String>,
    },
    /// `OversizedConfigurationItemChangeNotification`: fetch the item with
    /// `GetResourceConfigHistory`.
    Oversized {
        /// `configurationItemSummary`.
        summary: ItemSummary,
        /// `notificationCreationTime`.
        notification_creation_time: Option<DateTime<Utc>>,
        /// `recordVersion`.
        record_version: Option<String>,
    },
    /// `ScheduledNotification`.
    Scheduled {
        /// `awsAccountId`.
        account_id: Option<String>,
        /// `notificationCreationTime`.
        notification_creation_time: Option<DateTime<Utc>>,
        /// `recordVersion`.
        record_version: Option<String>,
    },
    /// `ConfigurationSnapshotDeliveryCompleted`.
    SnapshotDelivered {
        /// `configSnapshotId`.
        snapshot_id: Option<String>,
        /// `s3Bucket`.
        s3_bucket: Option<String>,
        /// `s3ObjectKey`.
        s3_object_key: Option<String>,
        /// `notificationCreationTime`.
        notification_creation_time: Option<DateTime<Utc>>,
    },
}

impl InvokingEvent {
    /// Parses the invoking event from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        if let Some(ie) = scan::invoking_event_text(text) {
            return Ok(ie);
        }
        let v: Value =
            serde_json::from_str(text).map_err(|e| ConfigError::json("invokingEvent", e))?;
        Self::from_owned(v)
    }

    /// Parses the invoking event from a decoded JSON value.
    pub fn from_value(v: &Value) -> Result<Self, ConfigError> {
        Self::parse(v, None)
    }

    /// As [`from_value`](Self::from_value), taking the value: the configuration item is moved
    /// into the normalised item, not copied.
    pub fn from_owned(mut v: Value) -> Result<Self, ConfigError> {
        let item = v
            .as_object_mut()
            .and_then(|o| o.remove("configurationItem"));
        Self::parse(&v, item)
    }

    /// `owned_item`: the `configurationItem` already taken out of `v` (owned path).
    fn parse(v: &Value, owned_item: Option<Value>) -> Result<Self, ConfigError> {
        const W: &str = "invokingEvent";
        if !v.is_object() {
            return Err(ConfigError::invalid(W, "expected a JSON object"));
        }
        let message_type = match v.get("messageType") {
            Some(Value::String(s)) => MessageType::parse(s)?,
            Some(_) => return Err(ConfigError::invalid(W, "messageType is not a string")),
            None => return Err(ConfigError::invalid(W, "missing field messageType")),
        };
        let notification_creation_time = match v.get("notificationCreationTime") {
            None => None,
            Some(t) => value::timestamp(t).map_err(|bad| {
                ConfigError::invalid(
                    W,
                    format!("notificationCreationTime: cannot read '{bad}' as a timestamp"),
                )
            })?,
        };
        let record_version = value::string(v, &["recordVersion"]);
        Ok(match message_type {
            MessageType::ConfigurationItemChangeNotification => {
                let missing = || {
                    ConfigError::invalid(
                        W,
                        "ConfigurationItemChangeNotification without configurationItem",
                    )
                };
                let item = match owned_item {
                    Some(Value::Null) => return Err(missing()),
                    Some(item) => ConfigurationItem::from_owned(item)?,
                    None => ConfigurationItem::from_value(
                        value::field(v, &["configurationItem"]).ok_or_else(missing)?,
                    )?,
                };
                Self::Change {
                    item: Box::new(item),
                    diff: value::field(v, &["configurationItemDiff"]).cloned(),
                    notification_creation_time,
                    record_version,
                }
            }
            MessageType::OversizedConfigurationItemChangeNotification => {
                let summary = value::field(v, &["configurationItemSummary"]).ok_or_else(|| {
                    ConfigError::invalid(
                        W,
                        "OversizedConfigurationItemChangeNotification without configurationItemSummary",
                    )
                })?;
                Self::Oversized {
                    summary: ItemSummary::from_value(summary)?,
                    notification_creation_time,
                    record_version,
                }
            }
            MessageType::ScheduledNotification => Self::Scheduled {
                account_id: value::string(v, &["awsAccountId", "accountId"]),
                notification_creation_time,
                record_version,
            },
            MessageType::ConfigurationSnapshotDeliveryCompleted => Self::SnapshotDelivered {
                snapshot_id: value::string(v, &["configSnapshotId"]),
                s3_bucket: value::string(v, &["s3Bucket"]),
                s3_object_key: value::string(v, &["s3ObjectKey"]),
                notification_creation_time,
            },
        })
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Change { .. } => MessageType::ConfigurationItemChangeNotification,
            Self::Oversized { .. } => MessageType::OversizedConfigurationItemChangeNotification,
            Self::Scheduled { .. } => MessageType::ScheduledNotification,
            Self::SnapshotDelivered { .. } => MessageType::ConfigurationSnapshotDeliveryCompleted,
        }
    }

    /// `notificationCreationTime`, if the event has one.
    pub fn notification_creation_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Change {
                notification_creation_time,
                ..
            }
            | Self::Oversized {
                notification_creation_time,
                ..
            }
            | Self::Scheduled {
                notification_creation_time,
                ..
            }
            | Self::SnapshotDelivered {
                notification_creation_time,
                ..
            } => *notification_creation_time,
        }
    }
}

/// The whole event a custom rule Lambda receives.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRuleEvent {
    /// The decoded `invokingEvent`.
    pub invoking_event: InvokingEvent,
    /// The decoded `ruleParameters` (empty when absent, `""` or `{}`); values are raw JSON
    /// (normally strings).
    pub rule_parameters: BTreeMap<String, Value>,
    /// `resultToken` for `PutEvaluations` (`TESTMODE` in tests).
    pub result_token: Option<String>,
    /// `eventLeftScope`: the resource is no longer in the rule's scope.
    pub event_left_scope: bool,
    /// `executionRoleArn`.
    pub execution_role_arn: Option<String>,
    /// `configRuleArn`.
    pub config_rule_arn: Option<String>,
    /// `configRuleName`.
    pub config_rule_name: Option<String>,
    /// `configRuleId`.
    pub config_rule_id: Option<String>,
    /// `accountId`.
    pub account_id: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `evaluationMode` (`DETECTIVE`, `PROACTIVE`).
    pub evaluation_mode: Option<String>,
}

impl ConfigRuleEvent {
    /// Parses the Lambda event from its JSON text: a change notification in one pass
    /// ([`scan`]), anything else (and any error) through a JSON tree.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        if let Some(event) = scan::rule_event(text) {
            return Ok(event);
        }
        Self::from_json_tree(text)
    }

    /// [`from_json`](Self::from_json) without the one-pass reader.
    pub(crate) fn from_json_tree(text: &str) -> Result<Self, ConfigError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::json("the Config rule event", e))?;
        Self::from_owned(v)
    }

    /// As [`from_value`](Self::from_value), taking the value (what the Lambda runtime hands
    /// over): a decoded `invokingEvent` object is moved, not copied.
    pub fn from_owned(mut v: Value) -> Result<Self, ConfigError> {
        let invoking = v.as_object_mut().and_then(|o| o.remove("invokingEvent"));
        Self::parse(&v, invoking.map(Cow::Owned))
    }

    /// Parses the Lambda event from a JSON value.
    pub fn from_value(v: &Value) -> Result<Self, ConfigError> {
        Self::parse(v, v.get("invokingEvent").map(Cow::Borrowed))
    }

    /// `invoking`: the `invokingEvent` value (taken out of `v` on the owned path).
    fn parse(v: &Value, invoking: Option<Cow<'_, Value>>) -> Result<Self, ConfigError> {
        const W: &str = "Config rule event";
        if !v.is_object() {
            return Err(ConfigError::invalid(W, "expected a JSON object"));
        }
        let invoking_event = match invoking {
            Some(ie) if ie.is_string() => {
                InvokingEvent::from_json(ie.as_str().unwrap_or_default())?
            }
            Some(Cow::Owned(obj @ Value::Object(_))) => InvokingEvent::from_owned(obj)?,
            Some(Cow::Borrowed(obj @ Value::Object(_))) => InvokingEvent::from_value(obj)?,
            Some(_) => {
                return Err(ConfigError::invalid(
                    W,
                    "invokingEvent is neither a JSON string nor an object",
                ))
            }
            None => return Err(ConfigError::invalid(W, "missing field invokingEvent")),
        };
        let rule_parameters = parse_rule_parameters(v.get("ruleParameters"))?;
        let event_left_scope = match v.get("eventLeftScope") {
            None | Some(Value::Null) => false,
            Some(b) => value::truthy(b).ok_or_else(|| {
                ConfigError::invalid(W, format!("eventLeftScope is not a boolean: {b}"))
            })?,
        };
        Ok(Self {
            invoking_event,
            rule_parameters,
            result_token: value::string(v, &["resultToken"]),
            event_left_scope,
            execution_role_arn: value::string(v, &["executionRoleArn"]),
            config_rule_arn: value::string(v, &["configRuleArn"]),
            config_rule_name: value::string(v, &["configRuleName"]),
            config_rule_id: value::string(v, &["configRuleId"]),
            account_id: value::string(v, &["accountId"]),
            version: value::string(v, &["version"]),
            evaluation_mode: value::string(v, &["evaluationMode"]),
        })
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        self.invoking_event.message_type()
    }
}

/// Decodes `ruleParameters`: absent, `null`, `""` and `{}` are no parameters; a JSON string or
/// an object is read as an object.
pub fn parse_rule_parameters(v: Option<&Value>) -> Result<BTreeMap<String, Value>, ConfigError> {
    const W: &str = "ruleParameters";
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(BTreeMap::new()),
        Some(Value::String(s)) => {
            match serde_json::from_str::<Value>(s).map_err(|e| ConfigError::json(W, e))? {
                Value::Object(m) => Ok(m.into_iter().collect()),
                Value::Null => Ok(BTreeMap::new()),
                other => Err(ConfigError::invalid(
                    W,
                    format!("expected a JSON object, got {}", kind(&other)),
                )),
            }
        }
        Some(Value::Object(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Some(other) => Err(ConfigError::invalid(
            W,
            format!("expected a JSON object string, got {}", kind(other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rule_parameters_forms() {
        assert!(parse_rule_parameters(None).unwrap().is_empty());
        assert!(parse_rule_parameters(Some(&json!(""))).unwrap().is_empty());
        assert!(parse_rule_parameters(Some(&json!("{}")))
            .unwrap()
            .is_empty());
        let p = parse_rule_parameters(Some(&json!("{\"a\":\"1\"}"))).unwrap();
        assert_eq!(p.get("a"), Some(&json!("1")));
        let e = parse_rule_parameters(Some(&json!("{a"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ruleParameters is not valid JSON"),
            "{e}"
        );
        let e = parse_rule_parameters(Some(&json!("[1]"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid ruleParameters: expected a JSON object, got an array"
        );
        assert!(parse_rule_parameters(Some(&json!(3))).is_err());
    }

    #[test]
    fn message_types() {
        let e = InvokingEvent::from_value(&json!({"messageType": "ComplianceChangeNotification"}))
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("unknown messageType 'ComplianceChangeNotification'"));
        let e = InvokingEvent::from_value(&json!({})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid invokingEvent: missing field messageType"
        );
        let e = InvokingEvent::from_value(
            &json!({"messageType": "ConfigurationItemChangeNotification"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("without configurationItem"));
        for t in [
            MessageType::ConfigurationItemChangeNotification,
            MessageType::OversizedConfigurationItemChangeNotification,
            MessageType::ScheduledNotification,
            MessageType::ConfigurationSnapshotDeliveryCompleted,
        ] {
            assert_eq!(MessageType::parse(t.as_str()).unwrap(), t);
        }
    }

    #[test]
    fn event_errors() {
        let e = ConfigRuleEvent::from_json("{\"invokingEvent\": \"{oops\"}").unwrap_err();
        assert!(
            e.to_string().starts_with("invokingEvent is not valid JSON"),
            "{e}"
        );
        let e = ConfigRuleEvent::from_json("[]").unwrap_err();
        assert!(e.to_string().contains("expected a JSON object"));
        let e = ConfigRuleEvent::from_json("{}").unwrap_err();
        assert!(e.to_string().contains("missing field invokingEvent"));
        let e = ConfigRuleEvent::from_json("nope").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("the Config rule event is not valid JSON"));
    }
}
