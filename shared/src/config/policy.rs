//! IAM policy documents (bucket policies) and the questions S3 rules ask of them.
//!
//! This is a syntactic analysis, not Zelkova: it recognises the patterns the managed rules are
//! about.
//!
//! * **Public**: an `Allow` whose principal is `*` or `{"AWS": "*"}` (or that uses
//!   `NotPrincipal`), unless one of its conditions pins it to fixed values, as S3 defines
//!   "public": `StringEquals`/`StringLike`/`ArnEquals`/`ArnLike` (optionally `ForAnyValue:`) on
//!   `aws:SourceArn`, `aws:SourceVpc`, `aws:SourceVpce`, `aws:SourceOwner`,
//!   `aws:SourceAccount`, `aws:PrincipalOrgID`, `aws:PrincipalAccount`, `aws:PrincipalArn`,
//!   `aws:userid`, `s3:x-amz-server-side-encryption-aws-kms-key-id`,
//!   `s3:DataAccessPointAccount`/`Arn`, or `IpAddress` on `aws:SourceIp`, with values free of
//!   wildcards and policy variables (and, for `aws:SourceIp`, no `/0` block). `...IfExists` and
//!   `ForAllValues:` operators never pin (they pass when the key is absent).
//! * A public grant of an action is cancelled by a `Deny` for everyone (`*`) of that action
//!   that is unconditional or conditioned on the negation of a pin (`NotIpAddress aws:SourceIp`,
//!   `StringNotEquals aws:SourceVpce`, ...): together they only let fixed callers in.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cidr::Cidr;
use super::value;

/// Statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// A `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`.
    Anyone,
    /// `{"AWS": [...], "Service": [...], ...}`.
    Map(BTreeMap<String, Vec<String>>),
}

impl Principal {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) if s == "*" => Some(Self::Anyone),
            Value::String(s) => Some(Self::Map(BTreeMap::from([(
                "AWS".to_string(),
                vec![s.clone()],
            )]))),
            Value::Object(m) => Some(Self::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), value::strings(Some(v))))
                    .collect(),
            )),
            _ => None,
        }
    }

    /// `*`, or `{"AWS": "*"}` (also inside a list).
    pub fn is_everyone(&self) -> bool {
        match self {
            Self::Anyone => true,
            Self::Map(m) => m
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("AWS") && v.iter().any(|p| p == "*")),
        }
    }
}

/// One condition: `{"Operator": {"key": values}}` flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// e.g. `StringEquals`, `ForAnyValue:StringLike`, `BoolIfExists`.
    pub operator: String,
    /// e.g. `aws:SourceVpce` (as written).
    pub key: String,
    /// The values as text (booleans and numbers rendered).
    pub values: Vec<String>,
}

const FIXED_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

impl Condition {
    fn base_operator(&self) -> Option<&str> {
        let op = self.operator.as_str();
        if op.to_ascii_lowercase().ends_with("ifexists") {
            return None;
        }
        if let Some((set, rest)) = op.split_once(':') {
            if set.eq_ignore_ascii_case("ForAnyValue") {
                return Some(rest);
            }
            return None;
        }
        Some(op)
    }

    fn values_fixed(&self) -> bool {
        !self.values.is_empty()
            && self
                .values
                .iter()
                .all(|v| !v.is_empty() && !v.contains('*') && !v.contains('?') && !v.contains("${"))
    }

    /// Whether this condition restricts access to fixed values (see the module doc).
    pub fn pins(&self) -> bool {
        let Some(op) = self.base_operator() else {
            return false;
        };
        let key = self.key.to_ascii_lowercase();
        if key == "aws:sourceip" {
            return op.eq_ignore_ascii_case("IpAddress")
                && !self.values.is_empty()
                && self
                    .values
                    .iter()
                    .all(|v| v.parse::<Cidr>().map(|c| !c.covers_all()).unwrap_or(false));
        }
        let op_ok = [
            "StringEquals",
            "StringEqualsIgnoreCase",
            "StringLike",
            "ArnEquals",
            "ArnLike",
        ]
        .iter()
        .any(|o| o.eq_ignore_ascii_case(op));
        op_ok && FIXED_KEYS.contains(&key.as_str()) && self.values_fixed()
    }

    /// Whether this condition is the negation of a pin (a `Deny` with it lets only fixed
    /// callers through).
    pub fn negated_pin(&self) -> bool {
        let Some(op) = self.base_operator() else {
            return false;
        };
        let key = self.key.to_ascii_lowercase();
        if key == "aws:sourceip" {
            return op.eq_ignore_ascii_case("NotIpAddress")
                && !self.values.is_empty()
                && self
                    .values
                    .iter()
                    .all(|v| v.parse::<Cidr>().map(|c| !c.covers_all()).unwrap_or(false));
        }
        let op_ok = [
            "StringNotEquals",
            "StringNotEqualsIgnoreCase",
            "StringNotLike",
            "ArnNotEquals",
            "ArnNotLike",
        ]
        .iter()
        .any(|o| o.eq_ignore_ascii_case(op));
        op_ok && FIXED_KEYS.contains(&key.as_str()) && self.values_fixed()
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal`.
    pub principal: Option<Principal>,
    /// `NotPrincipal`.
    pub not_principal: Option<Principal>,
    /// `Action`.
    pub actions: Vec<String>,
    /// `NotAction`.
    pub not_actions: Vec<String>,
    /// `Resource`.
    pub resources: Vec<String>,
    /// `NotResource`.
    pub not_resources: Vec<String>,
    /// `Condition`, flattened.
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// A label for annotations: `statement 'Sid'` or `statement #n`.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => format!("statement '{s}'"),
            _ => format!("statement #{}", index + 1),
        }
    }

    /// Principal `*` / `{"AWS":"*"}`, or an `Allow` with `NotPrincipal` (everyone but a few).
    pub fn applies_to_everyone(&self) -> bool {
        self.principal.as_ref().is_some_and(Principal::is_everyone)
            || (self.effect == Effect::Allow && self.not_principal.is_some())
    }

    /// Whether the statement's actions cover `action` (wildcards, case-insensitive).
    pub fn covers_action(&self, action: &str) -> bool {
        if !self.not_actions.is_empty() {
            return !self.not_actions.iter().any(|p| glob(p, action, true));
        }
        self.actions.iter().any(|p| glob(p, action, true))
    }

    /// Whether the statement covers every S3 action (`*` or `s3:*`).
    pub fn covers_all_s3_actions(&self) -> bool {
        self.not_actions.is_empty()
            && self
                .actions
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case("s3:*"))
    }

    /// Whether the statement's resources cover the ARN `arn` (wildcards; partition-agnostic).
    pub fn covers_resource(&self, arn: &str) -> bool {
        let norm = |p: &str| {
            [
                "arn:aws-cn:",
                "arn:aws-us-gov:",
                "arn:aws-iso:",
                "arn:aws-iso-b:",
            ]
            .iter()
            .find_map(|pre| p.strip_prefix(pre).map(|rest| format!("arn:aws:{rest}")))
            .unwrap_or_else(|| p.to_string())
        };
        if !self.not_resources.is_empty() {
            return !self
                .not_resources
                .iter()
                .any(|p| glob(&norm(p), arn, false));
        }
        self.resources.iter().any(|p| glob(&norm(p), arn, false))
    }

    /// Whether any condition pins the statement to fixed values.
    pub fn is_pinned(&self) -> bool {
        self.conditions.iter().any(Condition::pins)
    }

    /// The condition values of `operator` (case-insensitive) on `key` (case-insensitive).
    pub fn condition_values(&self, operators: &[&str], key: &str) -> Vec<&str> {
        self.conditions
            .iter()
            .filter(|c| {
                operators
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&c.operator))
                    && c.key.eq_ignore_ascii_case(key)
            })
            .flat_map(|c| c.values.iter().map(String::as_str))
            .collect()
    }
}

/// A policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bucket policy is not a valid policy document: {0}")]
pub struct PolicyError(pub String);

impl PolicyDocument {
    /// Parses a policy from JSON text (as `policyText` holds it).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let v: Value = serde_json::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        Self::from_value(&v)
    }

    /// Reads a policy from a JSON value; a JSON string holding the policy is decoded.
    pub fn from_value(v: &Value) -> Result<Self, PolicyError> {
        let v = value::decode_embedded(v.clone());
        let statements = match v.get("Statement") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(one @ Value::Object(_)) => std::slice::from_ref(one),
            Some(_) => return Err(PolicyError("Statement is not a list or object".into())),
            None => return Err(PolicyError("missing Statement".into())),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(i, s))
            .collect::<Result<_, _>>()?;
        Ok(Self { statements })
    }

    /// Statements that grant any of `actions` to everyone without a pinning condition and are
    /// not cancelled by a `Deny`, with the actions they grant: `(label, actions)`.
    pub fn public_grants(&self, actions: &[&str]) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (i, s) in self.statements.iter().enumerate() {
            if s.effect != Effect::Allow || !s.applies_to_everyone() || s.is_pinned() {
                continue;
            }
            let granted: Vec<String> = actions
                .iter()
                .filter(|a| s.covers_action(a) && !self.denied_to_everyone(a))
                .map(|a| (*a).to_string())
                .collect();
            if !granted.is_empty() {
                out.push((s.label(i), granted));
            }
        }
        out
    }

    fn denied_to_everyone(&self, action: &str) -> bool {
        self.statements.iter().any(|d| {
            d.effect == Effect::Deny
                && d.principal.as_ref().is_some_and(Principal::is_everyone)
                && d.covers_action(action)
                && (d.conditions.is_empty() || d.conditions.iter().all(Condition::negated_pin))
        })
    }
}

fn parse_statement(i: usize, s: &Value) -> Result<Statement, PolicyError> {
    if !s.is_object() {
        return Err(PolicyError(format!(
            "statement #{} is not an object",
            i + 1
        )));
    }
    let effect = match value::str_of(s, "Effect") {
        Some(e) if e.eq_ignore_ascii_case("Allow") => Effect::Allow,
        Some(e) if e.eq_ignore_ascii_case("Deny") => Effect::Deny,
        Some(e) => return Err(PolicyError(format!("statement #{}: Effect '{e}'", i + 1))),
        None => return Err(PolicyError(format!("statement #{} has no Effect", i + 1))),
    };
    let mut conditions = Vec::new();
    if let Some(Value::Object(ops)) = s.get("Condition") {
        for (op, keys) in ops {
            if let Value::Object(keys) = keys {
                for (k, vals) in keys {
                    conditions.push(Condition {
                        operator: op.clone(),
                        key: k.clone(),
                        values: value::strings(Some(vals)),
                    });
                }
            }
        }
    }
    Ok(Statement {
        sid: value::string(s, &["Sid"]),
        effect,
        principal: s.get("Principal").and_then(Principal::from_value),
        not_principal: s.get("NotPrincipal").and_then(Principal::from_value),
        actions: value::strings(s.get("Action")),
        not_actions: value::strings(s.get("NotAction")),
        resources: value::strings(s.get("Resource")),
        not_resources: value::strings(s.get("NotResource")),
        conditions,
    })
}

/// Wildcard match (`*` any run, `?` one character) of `pattern` against `text`.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let p = norm(pattern);
    let t = norm(text);
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("s3:Get*", "s3:GetObject", true));
        assert!(glob("S3:*", "s3:PutObject", true));
        assert!(glob("*", "anything", false));
        assert!(glob("s3:Get?bject", "s3:GetObject", true));
        assert!(!glob("s3:Get*", "s3:PutObject", true));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/*", false));
        assert!(!glob("arn:aws:s3:::b", "arn:aws:s3:::b/*", false));
        assert!(glob("arn:aws:s3:::b*", "arn:aws:s3:::b/*", false));
        assert!(glob("a*b*c", "axxbyyc", false));
        assert!(!glob("a*b*c", "axxbyy", false));
    }

    #[test]
    fn public_and_pinned() {
        let p = PolicyDocument::parse(
            r#"{"Statement":[
                {"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
                {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*",
                 "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}},
                {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"]},"Action":"s3:*","Resource":"*"}
            ]}"#,
        )
        .unwrap();
        let g = p.public_grants(&["s3:GetObject", "s3:PutObject"]);
        assert_eq!(
            g,
            vec![(
                "statement 'Pub'".to_string(),
                vec!["s3:GetObject".to_string()]
            )]
        );
    }

    #[test]
    fn conditions_that_do_not_pin() {
        for cond in [
            r#"{"StringLike":{"aws:SourceVpce":"vpce-*"}}"#,
            r#"{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}"#,
            r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#,
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
            r#"{"StringEquals":{"aws:Referer":"example.com"}}"#,
            r#"{"ForAllValues:StringEquals":{"aws:SourceVpce":["vpce-1"]}}"#,
        ] {
            let text = format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{cond}}}}}"#
            );
            let p = PolicyDocument::parse(&text).unwrap();
            assert_eq!(p.public_grants(&["s3:GetObject"]).len(), 1, "{cond}");
        }
        for cond in [
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.1/32"]}}"#,
            r#"{"ForAnyValue:StringEquals":{"aws:SourceAccount":"111122223333"}}"#,
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:cloudfront::1:distribution/E1"}}"#,
            r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}"#,
        ] {
            let text = format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{cond}}}}}"#
            );
            let p = PolicyDocument::parse(&text).unwrap();
            assert!(p.public_grants(&["s3:GetObject"]).is_empty(), "{cond}");
        }
    }

    #[test]
    fn deny_cancels() {
        let p = PolicyDocument::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
                {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
                 "Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}
            ]}"#,
        )
        .unwrap();
        assert!(p.public_grants(&["s3:GetObject"]).is_empty());
        let p = PolicyDocument::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
                {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
                 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(p.public_grants(&["s3:GetObject"]).len(), 1);
    }

    #[test]
    fn not_action_and_not_principal() {
        let p = PolicyDocument::parse(
            r#"{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"NotAction":"s3:Delete*","Resource":"*"}}"#,
        )
        .unwrap();
        let g = p.public_grants(&["s3:GetObject", "s3:DeleteObject"]);
        assert_eq!(g[0].1, vec!["s3:GetObject".to_string()]);
    }

    #[test]
    fn bad_documents() {
        assert!(PolicyDocument::parse("{").is_err());
        assert!(PolicyDocument::parse("{}").is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":3}"#).is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe"}]}"#).is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":[{}]}"#).is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":[1]}"#).is_err());
        let e = PolicyDocument::parse("{").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("bucket policy is not a valid policy document"));
    }
}
