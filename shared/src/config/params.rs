//! Typed rule parameters, validated once per invocation.
//!
//! Config passes `ruleParameters` as a JSON object whose values are strings. Each rule declares
//! its parameters as [`ParamSpec`]s; [`Params::parse`] checks every value against its kind and
//! fills in defaults, so rules read typed values and never see bad input.
//!
//! Choices where Config's documentation is loose:
//! * an empty string is "not set" (the console sends `""` for blank optional parameters) and
//!   the default applies;
//! * booleans are case-sensitive as Config documents them: `true` and `false` only; `True`,
//!   `TRUE` ... are read as `false` (Config: "if `true` is not provided in lowercase, it will be
//!   treated as `false`") with a warning; anything else (`yes`, `1`) is an error;
//! * a parameter name that matches a declared one only case-insensitively is accepted with a
//!   warning; unknown parameters are ignored with a warning (Config rules often carry extra
//!   keys, e.g. for remediation).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::error::ParamError;

/// The type of a parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// An integer within `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A TCP/UDP port number, 0-65535.
    Port,
    /// `true` or `false` (lowercase).
    Bool,
    /// Free text.
    String,
    /// A comma-separated list of non-empty values (surrounding blanks are trimmed).
    Csv,
    /// A comma-separated list of port numbers.
    PortList,
    /// One of a fixed set of values (matched case-insensitively, stored in canonical case).
    OneOf(&'static [&'static str]),
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int { min, max } => write!(f, "int ({min}-{max})"),
            Self::Port => f.write_str("port"),
            Self::Bool => f.write_str("boolean"),
            Self::String => f.write_str("string"),
            Self::Csv => f.write_str("CSV"),
            Self::PortList => f.write_str("CSV of ports"),
            Self::OneOf(v) => write!(f, "one of {}", v.join(", ")),
        }
    }
}

/// A parameter a rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The parameter's name in `ruleParameters` (case-sensitive, as in the managed rule).
    pub name: &'static str,
    /// Its type.
    pub kind: ParamKind,
    /// Default value, written as Config would pass it.
    pub default: Option<&'static str>,
    /// Whether a value (or default) is required.
    pub required: bool,
    /// One line for `trailwarden rules`.
    pub description: &'static str,
}

impl ParamSpec {
    /// An optional parameter without default.
    pub const fn optional(name: &'static str, kind: ParamKind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            default: None,
            required: false,
            description,
        }
    }

    /// An optional parameter with a default.
    pub const fn with_default(
        name: &'static str,
        kind: ParamKind,
        default: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            default: Some(default),
            required: false,
            description,
        }
    }
}

/// A validated parameter value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// `Int` and `Port` parameters.
    Int(i64),
    /// `Bool` parameters.
    Bool(bool),
    /// `String` and `OneOf` parameters.
    Str(String),
    /// `Csv` parameters.
    List(Vec<String>),
    /// `PortList` parameters.
    Ports(Vec<u16>),
}

/// The validated parameters of one invocation: declared parameters only, defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<&'static str, ParamValue>,
    explicit: Vec<&'static str>,
    warnings: Vec<String>,
}

impl Params {
    /// Validates `raw` against `specs`. The first invalid value is the error.
    pub fn parse(specs: &[ParamSpec], raw: &BTreeMap<String, Value>) -> Result<Self, ParamError> {
        let mut out = Params::default();
        let mut used = vec![false; raw.len()];
        let keys: Vec<&String> = raw.keys().collect();
        for spec in specs {
            let exact = keys.iter().position(|k| k.as_str() == spec.name);
            let loose =
                exact.or_else(|| keys.iter().position(|k| k.eq_ignore_ascii_case(spec.name)));
            let mut given: Option<String> = None;
            if let Some(i) = loose {
                used[i] = true;
                if exact.is_none() {
                    out.warnings.push(format!(
                        "parameter '{}' read as '{}' (parameter names are case-sensitive)",
                        keys[i], spec.name
                    ));
                }
                given = raw_text(spec.name, &raw[keys[i]])?;
            }
            let (text, explicit) = match given {
                Some(t) => (Some(t), true),
                None => (spec.default.map(str::to_string), false),
            };
            match text {
                Some(t) => {
                    let v = parse_value(spec, &t, &mut out.warnings)?;
                    out.values.insert(spec.name, v);
                    if explicit {
                        out.explicit.push(spec.name);
                    }
                }
                None if spec.required => {
                    return Err(ParamError::new(spec.name, "is required"));
                }
                None => {}
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if !used[i] {
                let accepted: Vec<&str> = specs.iter().map(|s| s.name).collect();
                out.warnings.push(if accepted.is_empty() {
                    format!("unknown parameter '{k}' ignored (the rule takes no parameters)")
                } else {
                    format!(
                        "unknown parameter '{k}' ignored (accepted: {})",
                        accepted.join(", ")
                    )
                });
            }
        }
        Ok(out)
    }

    /// An `Int` or `Port` value.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name)? {
            ParamValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A `Port` value.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.int(name).and_then(|i| u16::try_from(i).ok())
    }

    /// A `Bool` value.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name)? {
            ParamValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A `String` or `OneOf` value.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A `Csv` value (empty when not set).
    pub fn list(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(ParamValue::List(l)) => l,
            _ => &[],
        }
    }

    /// A `PortList` value (empty when not set).
    pub fn ports(&self, name: &str) -> &[u16] {
        match self.values.get(name) {
            Some(ParamValue::Ports(p)) => p,
            _ => &[],
        }
    }

    /// Whether the parameter was given explicitly (not defaulted).
    pub fn is_explicit(&self, name: &str) -> bool {
        self.explicit.contains(&name)
    }

    /// Whether the parameter has a value (given or default).
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// All values, by name.
    pub fn values(&self) -> &BTreeMap<&'static str, ParamValue> {
        &self.values
    }

    /// Warnings (unknown parameters, case mismatches); not errors.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// The value as text, `None` when it counts as not set.
fn raw_text(name: &str, v: &Value) -> Result<Option<String>, ParamError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(a) => {
            let mut parts = Vec::with_capacity(a.len());
            for x in a {
                match x {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Number(n) => parts.push(n.to_string()),
                    _ => {
                        return Err(ParamError::new(
                            name,
                            "a list may only hold strings and numbers",
                        ))
                    }
                }
            }
            Ok(Some(parts.join(",")))
        }
        Value::Object(_) => Err(ParamError::new(
            name,
            "expected a string value, got an object",
        )),
    }
}

fn parse_value(
    spec: &ParamSpec,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<ParamValue, ParamError> {
    let name = spec.name;
    match spec.kind {
        ParamKind::Int { min, max } => {
            let i: i64 = text
                .parse()
                .map_err(|_| ParamError::new(name, format!("'{text}' is not an integer")))?;
            if i < min || i > max {
                return Err(ParamError::new(
                    name,
                    format!("{i} is out of range ({min}-{max})"),
                ));
            }
            Ok(ParamValue::Int(i))
        }
        ParamKind::Port => Ok(ParamValue::Int(i64::from(parse_port(name, text)?))),
        ParamKind::Bool => match text {
            "true" => Ok(ParamValue::Bool(true)),
            "false" => Ok(ParamValue::Bool(false)),
            t if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") => {
                warnings.push(format!(
                    "parameter '{name}' is '{t}': booleans are case-sensitive, read as false"
                ));
                Ok(ParamValue::Bool(false))
            }
            t => Err(ParamError::new(
                name,
                format!("'{t}' is not a boolean (use true or false, lowercase)"),
            )),
        },
        ParamKind::String => Ok(ParamValue::Str(text.to_string())),
        ParamKind::Csv => Ok(ParamValue::List(csv(text))),
        ParamKind::PortList => {
            let mut ports = Vec::new();
            for p in csv(text) {
                let port = parse_port(name, &p)?;
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
            Ok(ParamValue::Ports(ports))
        }
        ParamKind::OneOf(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(text))
            .map(|o| ParamValue::Str((*o).to_string()))
            .ok_or_else(|| {
                ParamError::new(
                    name,
                    format!("'{text}' is not one of {}", options.join(", ")),
                )
            }),
    }
}

fn parse_port(name: &str, text: &str) -> Result<u16, ParamError> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| ParamError::new(name, format!("'{text}' is not a port number (0-65535)")))
}

fn csv(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::with_default("blockedPort1", ParamKind::Port, "20", "p"),
        ParamSpec::optional("blockedPorts", ParamKind::PortList, "ps"),
        ParamSpec::with_default("RequireSymbols", ParamKind::Bool, "true", "b"),
        ParamSpec::with_default(
            "MinimumPasswordLength",
            ParamKind::Int { min: 6, max: 128 },
            "14",
            "i",
        ),
        ParamSpec::optional("excluded", ParamKind::Csv, "c"),
        ParamSpec::optional(
            "readWriteType",
            ParamKind::OneOf(&["ReadOnly", "WriteOnly", "ALL"]),
            "o",
        ),
    ];

    fn raw(v: Value) -> BTreeMap<String, Value> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn defaults_apply() {
        let p = Params::parse(SPECS, &BTreeMap::new()).unwrap();
        assert_eq!(p.port("blockedPort1"), Some(20));
        assert_eq!(p.bool("RequireSymbols"), Some(true));
        assert_eq!(p.int("MinimumPasswordLength"), Some(14));
        assert!(p.ports("blockedPorts").is_empty());
        assert!(!p.is_explicit("blockedPort1"));
        assert!(p.warnings().is_empty());
    }

    #[test]
    fn typed_values() {
        let p = Params::parse(
            SPECS,
            &raw(json!({"blockedPort1": "22", "blockedPorts": "80, 443,80", "RequireSymbols": "false",
                        "MinimumPasswordLength": 20, "excluded": " a ,b,, ", "readWriteType": "all"})),
        )
        .unwrap();
        assert_eq!(p.port("blockedPort1"), Some(22));
        assert_eq!(p.ports("blockedPorts"), &[80, 443]);
        assert_eq!(p.bool("RequireSymbols"), Some(false));
        assert_eq!(p.int("MinimumPasswordLength"), Some(20));
        assert_eq!(p.list("excluded"), &["a".to_string(), "b".to_string()]);
        assert_eq!(p.str("readWriteType"), Some("ALL"));
        assert!(p.is_explicit("blockedPort1"));
    }

    #[test]
    fn invalid_values_name_the_parameter() {
        let cases = [
            (json!({"blockedPort1": "ssh"}), "InvalidParameterValueException: blockedPort1: 'ssh' is not a port number (0-65535)"),
            (json!({"blockedPort1": "70000"}), "InvalidParameterValueException: blockedPort1: '70000' is not a port number (0-65535)"),
            (json!({"blockedPorts": "22,x"}), "InvalidParameterValueException: blockedPorts: 'x' is not a port number (0-65535)"),
            (json!({"RequireSymbols": "yes"}), "InvalidParameterValueException: RequireSymbols: 'yes' is not a boolean (use true or false, lowercase)"),
            (json!({"MinimumPasswordLength": "3"}), "InvalidParameterValueException: MinimumPasswordLength: 3 is out of range (6-128)"),
            (json!({"MinimumPasswordLength": "1.5"}), "InvalidParameterValueException: MinimumPasswordLength: '1.5' is not an integer"),
            (json!({"readWriteType": "Both"}), "InvalidParameterValueException: readWriteType: 'Both' is not one of ReadOnly, WriteOnly, ALL"),
            (json!({"excluded": {"a": 1}}), "InvalidParameterValueException: excluded: expected a string value, got an object"),
        ];
        for (input, expected) in cases {
            let e = Params::parse(SPECS, &raw(input)).unwrap_err();
            assert_eq!(e.to_string(), expected);
        }
    }

    #[test]
    fn booleans_are_case_sensitive() {
        let p = Params::parse(SPECS, &raw(json!({"RequireSymbols": "True"}))).unwrap();
        assert_eq!(p.bool("RequireSymbols"), Some(false));
        assert!(p.warnings()[0].contains("case-sensitive"));
        let p = Params::parse(SPECS, &raw(json!({"RequireSymbols": true}))).unwrap();
        assert_eq!(p.bool("RequireSymbols"), Some(true));
    }

    #[test]
    fn blanks_unknowns_and_case() {
        let p = Params::parse(
            SPECS,
            &raw(json!({"blockedPort1": "", "myParameterKey": "x", "blockedports": "8080"})),
        )
        .unwrap();
        assert_eq!(p.port("blockedPort1"), Some(20));
        assert_eq!(p.ports("blockedPorts"), &[8080]);
        assert_eq!(p.warnings().len(), 2);
        assert!(p
            .warnings()
            .iter()
            .any(|w| w.contains("unknown parameter 'myParameterKey'")));
    }

    #[test]
    fn required() {
        const REQ: &[ParamSpec] = &[ParamSpec {
            name: "x",
            kind: ParamKind::String,
            default: None,
            required: true,
            description: "",
        }];
        let e = Params::parse(REQ, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "InvalidParameterValueException: x: is required"
        );
    }
}
