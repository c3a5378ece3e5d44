//! Security-group permissions as configuration items carry them:
//! `configuration.ipPermissions[]` / `ipPermissionsEgress[]` with `ipProtocol`, `fromPort`,
//! `toPort` and CIDRs in `ipRanges` (strings, older items), `ipv4Ranges[].cidrIp` and
//! `ipv6Ranges[].cidrIpv6`.

use serde_json::Value;

use crate::config::cidr::is_open_to_world;
use crate::config::value;
use crate::config::ConfigurationItem;

/// Normalised protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `-1` / `all`: every protocol and port.
    All,
    /// `tcp` / `6`.
    Tcp,
    /// `udp` / `17`.
    Udp,
    /// Anything else (`icmp`, `icmpv6`, numbers), kept as written.
    Other(String),
}

/// One permission (ingress or egress rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Permission {
    pub protocol: Protocol,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    /// IPv4 and IPv6 CIDRs, deduplicated, in the order found.
    pub cidrs: Vec<String>,
}

fn cidr_text(v: &Value, keys: &[&str]) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => keys
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string)),
        _ => None,
    }
}

impl Permission {
    /// The members [`from_value`](Self::from_value) reads.
    const FIELDS: [&'static str; 6] = [
        "ipProtocol",
        "fromPort",
        "toPort",
        "ipRanges",
        "ipv4Ranges",
        "ipv6Ranges",
    ];

    fn from_value(v: &Value) -> Self {
        let proto = v
            .get("ipProtocol")
            .and_then(value::scalar_text)
            .unwrap_or_else(|| "-1".to_string())
            .to_ascii_lowercase();
        let protocol = match proto.as_str() {
            "-1" | "all" => Protocol::All,
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            other => Protocol::Other(other.to_string()),
        };
        let mut cidrs: Vec<String> = Vec::new();
        let mut add = |c: Option<String>| {
            if let Some(c) = c.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) {
                if !cidrs.contains(&c) {
                    cidrs.push(c);
                }
            }
        };
        for key in ["ipRanges", "ipv4Ranges"] {
            for r in value::list_of(v, key) {
                add(cidr_text(r, &["cidrIp", "CidrIp"]));
            }
        }
        for r in value::list_of(v, "ipv6Ranges") {
            add(cidr_text(r, &["cidrIpv6", "CidrIpv6"]));
        }
        Self {
            protocol,
            from_port: value::int_of(v, "fromPort"),
            to_port: value::int_of(v, "toPort"),
            cidrs,
        }
    }

    /// Whether the permission lets TCP traffic reach `port`.
    pub fn covers_tcp_port(&self, port: u16) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Tcp => self.covers_port(port),
            _ => false,
        }
    }

    fn covers_port(&self, port: u16) -> bool {
        let p = i64::from(port);
        match (self.from_port, self.to_port) {
            (None, None) => true,
            (Some(f), Some(t)) if f < 0 && t < 0 => true,
            (Some(f), Some(t)) => f <= p && p <= t,
            (Some(f), None) => f == p || f < 0,
            (None, Some(t)) => t == p || t < 0,
        }
    }

    /// CIDRs covering all addresses (`0.0.0.0/0`, `::/0`).
    pub fn world_cidrs(&self) -> Vec<&str> {
        self.cidrs
            .iter()
            .map(String::as_str)
            .filter(|c| is_open_to_world(c))
            .collect()
    }

    /// A person's name for the rule: `tcp 22`, `tcp 0-65535`, `all traffic`, `icmp`.
    pub fn describe(&self) -> String {
        let ports = match (self.from_port, self.to_port) {
            (Some(f), Some(t)) if f == t && f >= 0 => format!(" {f}"),
            (Some(f), Some(t)) if f >= 0 && t >= 0 => format!(" {f}-{t}"),
            _ => String::new(),
        };
        match &self.protocol {
            Protocol::All => "all traffic (protocol -1)".to_string(),
            Protocol::Tcp => format!("tcp{ports}"),
            Protocol::Udp => format!("udp{ports}"),
            Protocol::Other(p) => format!("{p}{ports}"),
        }
    }
}

/// `configuration[key]` as permissions (as `value::list_of`: an array, or one value); only
/// that member of the configuration is decoded.
fn permissions(item: &ConfigurationItem, key: &str) -> Vec<Permission> {
    item.configuration
        .with_member_fields(key, &Permission::FIELDS, |m| {
            let list = match m {
                Some(Value::Array(a)) => a.as_slice(),
                Some(Value::Null) | None => &[],
                Some(one) => std::slice::from_ref(one),
            };
            list.iter()
                .filter(|v| v.is_object())
                .map(Permission::from_value)
                .collect()
        })
}

/// `configuration.ipPermissions`.
pub(crate) fn ingress(item: &ConfigurationItem) -> Vec<Permission> {
    permissions(item, "ipPermissions")
}

/// `configuration.ipPermissionsEgress`.
pub(crate) fn egress(item: &ConfigurationItem) -> Vec<Permission> {
    permissions(item, "ipPermissionsEgress")
}

/// For each of `ports` reachable over TCP from the whole internet through an ingress rule:
/// `port 22 open to 0.0.0.0/0 in rule tcp 0-65535`.
pub(crate) fn open_tcp_ports(item: &ConfigurationItem, ports: &[u16]) -> Vec<String> {
    let mut out = Vec::new();
    for perm in ingress(item) {
        let world = perm.world_cidrs();
        if world.is_empty() {
            continue;
        }
        for &port in ports {
            if perm.covers_tcp_port(port) {
                out.push(format!(
                    "port {port} open to {} in rule {}",
                    world.join(", "),
                    perm.describe()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_cidr_fields_and_ipv6() {
        let p = Permission::from_value(&json!({
            "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
            "ipRanges": ["0.0.0.0/0"], "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}, {"cidrIp": "10.0.0.0/8"}],
            "ipv6Ranges": [{"cidrIpv6": "::/0"}]
        }));
        assert_eq!(p.cidrs, vec!["0.0.0.0/0", "10.0.0.0/8", "::/0"]);
        assert_eq!(p.world_cidrs(), vec!["0.0.0.0/0", "::/0"]);
        assert_eq!(p.describe(), "tcp 22");
    }

    #[test]
    fn ports_and_protocols() {
        let all = Permission::from_value(&json!({"ipProtocol": "-1"}));
        assert!(all.covers_tcp_port(22));
        assert_eq!(all.describe(), "all traffic (protocol -1)");
        let udp =
            Permission::from_value(&json!({"ipProtocol": "udp", "fromPort": 0, "toPort": 65535}));
        assert!(!udp.covers_tcp_port(22));
        let six = Permission::from_value(&json!({"ipProtocol": "6", "fromPort": 20, "toPort": 23}));
        assert!(six.covers_tcp_port(22));
        assert!(!six.covers_tcp_port(24));
        let icmp =
            Permission::from_value(&json!({"ipProtocol": "icmp", "fromPort": -1, "toPort": -1}));
        assert!(!icmp.covers_tcp_port(22));
        assert_eq!(icmp.describe(), "icmp");
    }
}
