//! One normalised configuration item, read from either encoding.
//!
//! * Notification form (in rule events): `awsAccountId`, `ARN`, `configurationItemVersion`,
//!   `configurationStateMd5Hash`, `relationships[].name`, `configuration` as an object,
//!   `supplementaryConfiguration` values as objects (except the S3 `AccessControlList`, a JSON
//!   string).
//! * API form (`GetResourceConfigHistory`, `BatchGetResourceConfig`): `accountId`, `arn`,
//!   `version`, `configurationItemMD5Hash`, `relationships[].relationshipName`, and
//!   `configuration` plus every supplementary value as JSON strings; the capture time may be
//!   epoch seconds.
//!
//! Each field is read from whichever name is present, and every JSON string in `configuration`
//! and `supplementaryConfiguration` is decoded, so rules see the same [`ConfigurationItem`]
//! whatever the source. Items mixing both styles (as some RDK samples do) are accepted.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::error::ConfigError;
use super::scan::{RawConfig, Reader};
use super::value;

/// `configurationItemStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ItemStatus {
    /// `OK`: the resource changed.
    Ok,
    /// `ResourceDiscovered`: first recording.
    ResourceDiscovered,
    /// `ResourceNotRecorded`: the resource type is no longer recorded.
    ResourceNotRecorded,
    /// `ResourceDeleted`.
    ResourceDeleted,
    /// `ResourceDeletedNotRecorded`.
    ResourceDeletedNotRecorded,
    /// Any other value, kept verbatim (evaluated like `OK`).
    Other(String),
}

impl ItemStatus {
    /// Parses Config's status text. A missing status is treated as `OK`.
    pub fn parse(s: &str) -> Self {
        match s {
            "OK" => Self::Ok,
            "ResourceDiscovered" => Self::ResourceDiscovered,
            "ResourceNotRecorded" => Self::ResourceNotRecorded,
            "ResourceDeleted" => Self::ResourceDeleted,
            "ResourceDeletedNotRecorded" => Self::ResourceDeletedNotRecorded,
            other => Self::Other(other.to_string()),
        }
    }

    /// The status as Config writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ok => "OK",
            Self::ResourceDiscovered => "ResourceDiscovered",
            Self::ResourceNotRecorded => "ResourceNotRecorded",
            Self::ResourceDeleted => "ResourceDeleted",
            Self::ResourceDeletedNotRecorded => "ResourceDeletedNotRecorded",
            Self::Other(s) => s,
        }
    }

    /// Deleted or not recorded: the rule answers `NOT_APPLICABLE` without evaluating.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::ResourceDeleted | Self::ResourceDeletedNotRecorded | Self::ResourceNotRecorded
        )
    }
}

/// A relationship of the item to another resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// Related resource type.
    pub resource_type: Option<String>,
    /// Related resource id.
    pub resource_id: Option<String>,
    /// Related resource name.
    pub resource_name: Option<String>,
    /// `name` (notification form) or `relationshipName` (API form).
    pub name: Option<String>,
}

/// A configuration item, normalised from either encoding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem {
    /// `configurationItemVersion` / `version`.
    pub version: Option<String>,
    /// `awsAccountId` / `accountId`.
    pub account_id: Option<String>,
    /// `configurationItemCaptureTime` (RFC 3339 or epoch seconds in the source).
    pub capture_time: Option<DateTime<Utc>>,
    /// `configurationItemStatus` (missing = `OK`).
    pub status: ItemStatus,
    /// `configurationStateId` (a number or a string in the source).
    pub configuration_state_id: Option<String>,
    /// `configurationStateMd5Hash` / `configurationItemMD5Hash`.
    pub md5_hash: Option<String>,
    /// `ARN` / `arn`.
    pub arn: Option<String>,
    /// `resourceType`, e.g. `AWS::EC2::SecurityGroup`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `resourceName`.
    pub resource_name: Option<String>,
    /// `awsRegion`.
    pub aws_region: Option<String>,
    /// `availabilityZone`.
    pub availability_zone: Option<String>,
    /// `resourceCreationTime`.
    pub resource_creation_time: Option<DateTime<Utc>>,
    /// `tags` (a map in both encodings; when empty, read from `configuration.tags` or
    /// `supplementaryConfiguration.Tags` lists of `{key, value}`).
    pub tags: BTreeMap<String, String>,
    /// `relatedEvents` (CloudTrail event ids).
    pub related_events: Vec<String>,
    /// `relationships`.
    pub relationships: Vec<Relationship>,
    /// `configuration`, decoded (an object; `Null` when absent). Reads as a [`Value`]
    /// (`Deref`); from a notification it is kept as its JSON text and decoded on first use.
    pub configuration: Configuration,
    /// `supplementaryConfiguration`, every value decoded from its JSON string if it was one.
    pub supplementary_configuration: BTreeMap<String, Value>,
}

const WHAT: &str = "configuration item";

/// The members of an item object that the normalisation reads (besides `configuration` and
/// `supplementaryConfiguration`).
pub(crate) const ITEM_MEMBERS: [&str; 20] = [
    "resourceType",
    "resourceId",
    "configurationItemVersion",
    "version",
    "awsAccountId",
    "accountId",
    "configurationItemCaptureTime",
    "configurationItemStatus",
    "configurationStateId",
    "configurationStateMd5Hash",
    "configurationItemMD5Hash",
    "ARN",
    "arn",
    "resourceName",
    "awsRegion",
    "availabilityZone",
    "resourceCreationTime",
    "tags",
    "relatedEvents",
    "relationships",
];

impl ConfigurationItem {
    /// Parses an item from JSON text (either encoding).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ConfigError::json(WHAT, e))?;
        Self::from_owned(v)
    }

    /// Normalises an item from a JSON value (either encoding). Requires `resourceType` and
    /// `resourceId`; everything else is optional.
    pub fn from_value(v: &Value) -> Result<Self, ConfigError> {
        Self::build(
            v,
            v.get("configuration").cloned(),
            v.get("supplementaryConfiguration").cloned(),
        )
    }

    /// As [`from_value`](Self::from_value), taking the value: `configuration` and
    /// `supplementaryConfiguration` (most of an item) are moved, not copied.
    pub fn from_owned(mut v: Value) -> Result<Self, ConfigError> {
        let (configuration, supplementary) = match v.as_object_mut() {
            Some(o) => (
                o.remove("configuration"),
                o.remove("supplementaryConfiguration"),
            ),
            None => (None, None),
        };
        Self::build(&v, configuration, supplementary)
    }

    fn build(
        v: &Value,
        configuration: Option<Value>,
        supplementary: Option<Value>,
    ) -> Result<Self, ConfigError> {
        if !v.is_object() {
            return Err(ConfigError::invalid(WHAT, "expected a JSON object"));
        }
        Self::build_with(
            |k| v.get(k),
            configuration.map(Source::Value),
            supplementary,
        )
    }

    /// Normalises an item from its members: `get` answers those read from the item object
    /// itself (see [`ITEM_MEMBERS`]), `configuration` and `supplementary` are taken out of it.
    pub(crate) fn build_with<'v>(
        get: impl Fn(&str) -> Option<&'v Value>,
        configuration: Option<Source>,
        supplementary: Option<Value>,
    ) -> Result<Self, ConfigError> {
        // The first of `keys` present and not null, as `value::field`.
        let field = |keys: &[&str]| keys.iter().filter_map(|k| get(k)).find(|x| !x.is_null());
        let string = |keys: &[&str]| field(keys).and_then(value::scalar_text);
        let resource_type = string(&["resourceType"])
            .ok_or_else(|| ConfigError::invalid(WHAT, "missing field resourceType"))?;
        let resource_id = string(&["resourceId"]).ok_or_else(|| {
            ConfigError::invalid(WHAT, format!("missing field resourceId ({resource_type})"))
        })?;
        let time = |key: &str| -> Result<Option<DateTime<Utc>>, ConfigError> {
            match get(key) {
                None => Ok(None),
                Some(t) => value::timestamp(t).map_err(|bad| {
                    ConfigError::invalid(WHAT, format!("{key}: cannot read '{bad}' as a timestamp"))
                }),
            }
        };
        let configuration = match configuration {
            Some(Source::Raw(raw)) => Configuration::from_raw(raw),
            None | Some(Source::Value(Value::Null)) => Configuration::from(Value::Null),
            Some(Source::Value(Value::String(s))) if s.trim().is_empty() => {
                Configuration::from(Value::Null)
            }
            Some(Source::Value(Value::String(s))) => {
                Configuration::from(serde_json::from_str::<Value>(&s).map_err(|e| {
                    ConfigError::json(format!("configuration of {resource_type} {resource_id}"), e)
                })?)
            }
            Some(Source::Value(other)) => Configuration::from(other),
        };
        let supplementary_configuration = match supplementary {
            Some(Value::Object(m)) => m
                .into_iter()
                .map(|(k, x)| (k, value::decode_embedded(x)))
                .collect(),
            Some(Value::String(s)) if !s.trim().is_empty() => {
                match value::decode_embedded(Value::String(s)) {
                    Value::Object(m) => m
                        .into_iter()
                        .map(|(k, x)| (k, value::decode_embedded(x)))
                        .collect(),
                    _ => return Err(ConfigError::invalid(
                        WHAT,
                        "supplementaryConfiguration is neither an object nor a JSON object string",
                    )),
                }
            }
            _ => BTreeMap::new(),
        };
        let relationships = value::list(get("relationships"))
            .iter()
            .map(|r| Relationship {
                resource_type: value::string(r, &["resourceType"]),
                resource_id: value::string(r, &["resourceId"]),
                resource_name: value::string(r, &["resourceName"]),
                name: value::string(r, &["name", "relationshipName"]),
            })
            .collect();
        let mut item = Self {
            version: string(&["configurationItemVersion", "version"]),
            account_id: string(&["awsAccountId", "accountId"]),
            capture_time: time("configurationItemCaptureTime")?,
            status: string(&["configurationItemStatus"])
                .map(|s| ItemStatus::parse(&s))
                .unwrap_or(ItemStatus::Ok),
            configuration_state_id: string(&["configurationStateId"]),
            md5_hash: string(&["configurationStateMd5Hash", "configurationItemMD5Hash"]),
            arn: string(&["ARN", "arn"]),
            resource_type,
            resource_id,
            resource_name: string(&["resourceName"]),
            aws_region: string(&["awsRegion"]),
            availability_zone: string(&["availabilityZone"]),
            resource_creation_time: time("resourceCreationTime")?,
            tags: tag_map(field(&["tags"])),
            related_events: value::strings(get("relatedEvents")),
            relationships,
            configuration,
            supplementary_configuration,
        };
        if item.tags.is_empty() {
            item.tags = item.configuration.with_member("tags", tag_map);
        }
        if item.tags.is_empty() {
            item.tags = tag_map(item.supplementary_configuration.get("Tags"));
        }
        Ok(item)
    }

    /// A supplementary configuration value (already decoded).
    pub fn supplementary(&self, key: &str) -> Option<&Value> {
        self.supplementary_configuration
            .get(key)
            .filter(|v| !v.is_null())
    }

    /// `configuration[key]`, `None` when absent or null.
    pub fn config(&self, key: &str) -> Option<&Value> {
        self.configuration.get(key).filter(|v| !v.is_null())
    }

    /// The name to show a person: `resourceName` or else `resourceId`.
    pub fn display_name(&self) -> &str {
        self.resource_name.as_deref().unwrap_or(&self.resource_id)
    }
}

/// Tags as a map, from `{"k":"v"}` or `[{"key":"k","value":"v"}]` (`Key`/`Value` too).
fn tag_map(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, x)| (k.clone(), value::scalar_text(x).unwrap_or_default()))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| {
                let k = value::string(t, &["key", "Key"])?;
                Some((k, value::string(t, &["value", "Value"]).unwrap_or_default()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Where `configuration` comes from.
pub(crate) enum Source {
    /// Decoded (or a JSON string still to decode).
    Value(Value),
    /// An object as the event's text, indexed by member (see [`super::scan`]).
    Raw(RawConfig),
}

/// An item's `configuration`: a decoded [`Value`] (read it through `Deref`), possibly kept as
/// JSON text until first read. Equality, `Debug` and serialization are those of the value.
pub struct Configuration {
    raw: Option<Box<RawConfig>>,
    value: OnceLock<Value>,
}

impl Configuration {
    fn from_raw(raw: RawConfig) -> Self {
        Self {
            raw: Some(Box::new(raw)),
            value: OnceLock::new(),
        }
    }

    /// The decoded configuration.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            // The text was read as JSON when the event was; the `Value` path would have
            // failed on the same event otherwise.
            self.raw
                .as_ref()
                .and_then(|r| r.decode())
                .unwrap_or(Value::Null)
        })
    }

    /// `f(self.get(key))`, decoding only that member when the configuration is still text
    /// (the last of duplicate members, as in a decoded object).
    pub fn with_member<T>(&self, key: &str, f: impl FnOnce(Option<&Value>) -> T) -> T {
        if let (None, Some(raw)) = (self.value.get(), &self.raw) {
            if let Some(member) = raw.member(key) {
                return f(member.as_ref());
            }
        }
        f(self.value().get(key))
    }

    /// `f` on a reader of the member `key` (`None` when there is none) while the
    /// configuration is still text; `None` when it is not (or `f` fails): read the decoded
    /// value then.
    pub(crate) fn scan_member<T>(
        &self,
        key: &str,
        f: impl FnOnce(Option<&mut Reader<'_>>) -> Option<T>,
    ) -> Option<T> {
        match (self.value.get(), &self.raw) {
            (None, Some(raw)) => raw.read_member(key, f),
            _ => None,
        }
    }
}

impl std::ops::Deref for Configuration {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Configuration {
    fn from(v: Value) -> Self {
        Self {
            raw: None,
            value: OnceLock::from(v),
        }
    }
}

impl Clone for Configuration {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            value: self.value.clone(),
        }
    }
}

impl PartialEq for Configuration {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl std::fmt::Debug for Configuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

impl Serialize for Configuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

/// `configurationItemSummary` of an oversized change notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    /// `changeType` (`CREATE`, `UPDATE`, `DELETE`).
    pub change_type: Option<String>,
    /// `configurationItemVersion`.
    pub version: Option<String>,
    /// `configurationItemCaptureTime`.
    pub capture_time: Option<DateTime<Utc>>,
    /// `awsAccountId` / `accountId`.
    pub account_id: Option<String>,
    /// `configurationItemStatus`.
    pub status: ItemStatus,
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `resourceName`.
    pub resource_name: Option<String>,
    /// `ARN` / `arn`.
    pub arn: Option<String>,
    /// `awsRegion`.
    pub aws_region: Option<String>,
}

impl ItemSummary {
    /// Reads a `configurationItemSummary`.
    pub fn from_value(v: &Value) -> Result<Self, ConfigError> {
        const W: &str = "configurationItemSummary";
        if !v.is_object() {
            return Err(ConfigError::invalid(W, "expected a JSON object"));
        }
        let capture_time = match v.get("configurationItemCaptureTime") {
            None => None,
            Some(t) => value::timestamp(t).map_err(|bad| {
                ConfigError::invalid(
                    W,
                    format!("configurationItemCaptureTime: cannot read '{bad}' as a timestamp"),
                )
            })?,
        };
        Ok(Self {
            change_type: value::string(v, &["changeType"]),
            version: value::string(v, &["configurationItemVersion", "version"]),
            capture_time,
            account_id: value::string(v, &["awsAccountId", "accountId"]),
            status: value::string(v, &["configurationItemStatus"])
                .map(|s| ItemStatus::parse(&s))
                .unwrap_or(ItemStatus::Ok),
            resource_type: value::string(v, &["resourceType"])
                .ok_or_else(|| ConfigError::invalid(W, "missing field resourceType"))?,
            resource_id: value::string(v, &["resourceId"])
                .ok_or_else(|| ConfigError::invalid(W, "missing field resourceId"))?,
            resource_name: value::string(v, &["resourceName"]),
            arn: value::string(v, &["ARN", "arn"]),
            aws_region: value::string(v, &["awsRegion"]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notification() -> Value {
        json!({
            "configurationItemVersion": "1.3",
            "awsAccountId": "123456789012",
            "configurationItemCaptureTime": "2014-10-30T22:35:29.922Z",
            "configurationItemStatus": "OK",
            "configurationStateId": 1536298470560u64,
            "configurationStateMd5Hash": "abc",
            "ARN": "arn:aws:s3:::b",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "b",
            "relationships": [{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1", "name": "Is contained in Vpc"}],
            "tags": {"a": "1"},
            "configuration": {"name": "b"},
            "supplementaryConfiguration": {
                "AccessControlList": "{\"grantList\":[]}",
                "BucketPolicy": {"policyText": null},
                "IsRequesterPaysEnabled": false
            }
        })
    }

    fn api() -> Value {
        json!({
            "version": "1.3",
            "accountId": "123456789012",
            "configurationItemCaptureTime": 1414708529.922,
            "configurationItemStatus": "OK",
            "configurationStateId": "1536298470560",
            "configurationItemMD5Hash": "abc",
            "arn": "arn:aws:s3:::b",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "b",
            "relationships": [{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1", "relationshipName": "Is contained in Vpc"}],
            "tags": {"a": "1"},
            "configuration": "{\"name\":\"b\"}",
            "supplementaryConfiguration": {
                "AccessControlList": "\"{\\\"grantList\\\":[]}\"",
                "BucketPolicy": "{\"policyText\":null}",
                "IsRequesterPaysEnabled": "false"
            }
        })
    }

    #[test]
    fn both_encodings_normalise_alike() {
        let a = ConfigurationItem::from_value(&notification()).unwrap();
        let b = ConfigurationItem::from_value(&api()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.supplementary("AccessControlList"),
            Some(&json!({"grantList": []}))
        );
        assert_eq!(
            a.relationships[0].name.as_deref(),
            Some("Is contained in Vpc")
        );
        assert_eq!(a.configuration_state_id.as_deref(), Some("1536298470560"));
    }

    #[test]
    fn clear_errors() {
        let e = ConfigurationItem::from_value(&json!({"resourceId": "x"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration item: missing field resourceType"
        );
        let mut v = api();
        v["configuration"] = json!("{not json");
        let e = ConfigurationItem::from_value(&v).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("configuration of AWS::S3::Bucket b is not valid JSON"),
            "{e}"
        );
        let mut v = api();
        v["configurationItemCaptureTime"] = json!("soon");
        let e = ConfigurationItem::from_value(&v).unwrap_err();
        assert!(e.to_string().contains("cannot read 'soon'"), "{e}");
        assert!(ConfigurationItem::from_value(&json!([])).is_err());
        assert!(ConfigurationItem::from_json("{").is_err());
    }

    #[test]
    fn tags_from_lists() {
        let mut v = api();
        v["tags"] = json!({});
        v["supplementaryConfiguration"] = json!({"Tags": "[{\"key\":\"env\",\"value\":\"prod\"}]"});
        let item = ConfigurationItem::from_value(&v).unwrap();
        assert_eq!(item.tags.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn status() {
        assert!(ItemStatus::parse("ResourceDeleted").is_gone());
        assert!(ItemStatus::parse("ResourceNotRecorded").is_gone());
        assert!(!ItemStatus::parse("OK").is_gone());
        assert_eq!(ItemStatus::parse("Weird").as_str(), "Weird");
    }
}
