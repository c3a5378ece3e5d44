//! Security-group permissions as configuration items carry them:
//! `configuration.ipPermissions[]` / `ipPermissionsEgress[]` with `ipProtocol`, `fromPort`,
//! `toPort` and CIDRs in `ipRanges` (strings, older items), `ipv4Ranges[].cidrIp` and
//! `ipv6Ranges[].cidrIpv6`.

use std::borrow::Cow;

use serde_json::Value;

use crate::config::cidr::is_open_to_world;
use crate::config::scan::Reader;
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

/// The CIDR keys of range objects in `ipRanges`/`ipv4Ranges` and in `ipv6Ranges`.
const V4_KEYS: [&str; 2] = ["cidrIp", "CidrIp"];
const V6_KEYS: [&str; 2] = ["cidrIpv6", "CidrIpv6"];

/// A range: a CIDR string, or an object with the CIDR under the first of `keys` holding a
/// string.
fn cidr_text<'v>(v: &'v Value, keys: &[&str]) -> Option<Cow<'v, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Object(_) => keys
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(Cow::Borrowed)),
        _ => None,
    }
}

impl Permission {
    fn from_value(v: &Value) -> Self {
        let ranges = |key: &str, keys: &[&str]| -> Vec<Option<Cow<'_, str>>> {
            value::list_of(v, key)
                .iter()
                .map(|r| cidr_text(r, keys))
                .collect()
        };
        let proto = v.get("ipProtocol").and_then(|p| match p {
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            other => value::scalar_text(other).map(Cow::Owned),
        });
        Self::build(
            proto,
            v.get("fromPort"),
            v.get("toPort"),
            [
                ranges("ipRanges", &V4_KEYS),
                ranges("ipv4Ranges", &V4_KEYS),
                ranges("ipv6Ranges", &V6_KEYS),
            ],
        )
    }

    /// A permission object read from configuration text without decoding it (the same
    /// permission as [`from_value`](Self::from_value) on the decoded object).
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let (mut proto, mut from, mut to) = (None, None, None);
        let mut ranges: [Vec<Option<Cow<'_, str>>>; 3] = Default::default();
        r.object(|r, k| {
            match k.as_ref() {
                "ipProtocol" => proto = r.scalar()?,
                "fromPort" => from = Some(r.value(3)?),
                "toPort" => to = Some(r.value(3)?),
                "ipRanges" => ranges[0] = read_ranges(r, &V4_KEYS)?,
                "ipv4Ranges" => ranges[1] = read_ranges(r, &V4_KEYS)?,
                "ipv6Ranges" => ranges[2] = read_ranges(r, &V6_KEYS)?,
                _ => r.skip(3)?,
            }
            Some(())
        })?;
        Some(Self::build(proto, from.as_ref(), to.as_ref(), ranges))
    }

    /// `ranges`: the CIDRs of `ipRanges`, `ipv4Ranges` and `ipv6Ranges`, in that order.
    /// `proto`: `ipProtocol` as text (`None`: absent, null or not a scalar).
    fn build(
        proto: Option<Cow<'_, str>>,
        from: Option<&Value>,
        to: Option<&Value>,
        ranges: [Vec<Option<Cow<'_, str>>>; 3],
    ) -> Self {
        let proto = proto.unwrap_or(Cow::Borrowed("-1"));
        let is = |name: &str| proto.eq_ignore_ascii_case(name);
        let protocol = if is("-1") || is("all") {
            Protocol::All
        } else if is("tcp") || is("6") {
            Protocol::Tcp
        } else if is("udp") || is("17") {
            Protocol::Udp
        } else {
            Protocol::Other(proto.to_ascii_lowercase())
        };
        let mut cidrs: Vec<String> = Vec::new();
        for c in ranges.into_iter().flatten().flatten() {
            let c = c.trim();
            if !c.is_empty() && !cidrs.iter().any(|x| x == c) {
                cidrs.push(c.to_string());
            }
        }
        Self {
            protocol,
            from_port: value::int(from),
            to_port: value::int(to),
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
    if let Some(list) = item.configuration.scan_member(key, read_permissions) {
        return list;
    }
    item.configuration.with_member(key, |m| {
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

/// The permissions of a member read as text, as [`permissions`] reads the decoded member:
/// an array's object elements, a lone object, nothing for anything else.
fn read_permissions(r: Option<&mut Reader<'_>>) -> Option<Vec<Permission>> {
    let Some(r) = r else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    match r.next_byte()? {
        b'[' => r.array(|r| {
            if r.next_byte()? == b'{' {
                out.push(Permission::read(r)?);
            } else {
                r.skip(2)?;
            }
            Some(())
        })?,
        b'{' => out.push(Permission::read(r)?),
        _ => r.skip(1)?,
    }
    Some(out)
}

/// A range list as [`value::list_of`] and [`cidr_text`] read it: an array's elements, or one
/// value; `None` for an element that is neither a string nor an object with a CIDR string.
fn read_ranges<'a>(r: &mut Reader<'a>, keys: &[&str; 2]) -> Option<Vec<Option<Cow<'a, str>>>> {
    let one = |r: &mut Reader<'a>| -> Option<Option<Cow<'a, str>>> {
        match r.next_byte()? {
            b'{' => {
                // Per key, its last value if that is a string; then the first key with one.
                let mut found: [Option<Cow<'a, str>>; 2] = Default::default();
                r.object(|r, k| {
                    match keys.iter().position(|key| *key == k.as_ref()) {
                        Some(i) => found[i] = r.string_or_skip(5)?,
                        None => r.skip(5)?,
                    }
                    Some(())
                })?;
                Some(found.into_iter().flatten().next())
            }
            _ => r.string_or_skip(4),
        }
    };
    match r.next_byte()? {
        b'[' => {
            let mut out = Vec::new();
            r.array(|r| {
                out.push(one(r)?);
                Some(())
            })?;
            Some(out)
        }
        b'n' => r.skip(4).map(|()| Vec::new()),
        _ => Some(vec![one(r)?]),
    }
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
    use crate::config::scan::Mutator;
    use serde_json::json;

    /// The permissions read from the text `text` of a member (plain and nested in a string
    /// literal) equal those of the decoded member, whenever the reader takes the text.
    fn same_as_decoded(text: &str) -> usize {
        let decoded = serde_json::from_str::<Value>(text).ok();
        let literal = serde_json::to_string(text).unwrap();
        let mut taken = 0;
        for (body, nested) in [(text, false), (&literal[1..literal.len() - 1], true)] {
            let mut r = Reader::new(body, nested);
            let Some(read) = read_permissions(Some(&mut r)).filter(|_| r.end().is_some()) else {
                continue;
            };
            let v = decoded
                .as_ref()
                .unwrap_or_else(|| panic!("read invalid JSON: {text}"));
            let list = match v {
                Value::Array(a) => a.as_slice(),
                Value::Null => &[],
                one => std::slice::from_ref(one),
            };
            let expected: Vec<Permission> = list
                .iter()
                .filter(|p| p.is_object())
                .map(Permission::from_value)
                .collect();
            assert_eq!(read, expected, "{text} (nested: {nested})");
            taken += 1;
        }
        taken
    }

    #[test]
    fn permissions_read_from_text_as_decoded() {
        let base = json!([
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "userIdGroupPairs": [{"a": "b"}],
             "ipRanges": ["0.0.0.0/0", " 10.0.0.0/8 ", "0.0.0.0/0", 5],
             "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}, {"CidrIp": "1.2.3.4/32", "cidrIp": 7}, "x", null],
             "ipv6Ranges": [{"cidrIpv6": "::/0", "description": "d \"q\""}], "prefixListIds": []},
            {"ipProtocol": 6, "fromPort": "20", "toPort": 23.0, "ipRanges": "0.0.0.0/0",
             "ipv4Ranges": {"cidrIp": "9.9.9.9/32"}, "ipv6Ranges": null},
            {"ipProtocol": "-1", "ipProtocol": "UDP", "fromPort": -1, "toPort": -1},
            "not an object", 3, [], {}
        ])
        .to_string();
        let mut texts = vec![
            base.clone(),
            "null".into(),
            "{\"ipProtocol\":\"icmp\"}".into(),
            "7".into(),
        ];
        let sg = crate::config::ConfigurationItem::from_json(
            &std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
                "../../shared/data/config/items/SecurityGroup-ci-from-aws-config-rules-test.json",
            ))
            .unwrap(),
        )
        .unwrap();
        texts.push(sg.configuration.get("ipPermissions").unwrap().to_string());
        for t in &texts {
            assert_eq!(same_as_decoded(t), 2, "{t}");
        }
        // Mutations: whatever the reader takes, it reads as the decoded member.
        const PIECES: [&str; 14] = [
            "\"",
            "\\",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "0",
            "-",
            "null",
            "\"cidrIp\"",
            "\"ipRanges\":",
        ];
        let mut mutator = Mutator::new(0x2545_f491_4f6c_dd1d);
        let mut taken = 0;
        for t in &texts {
            for _ in 0..1500 {
                let m = mutator.mutate(t, &PIECES);
                taken += same_as_decoded(&m);
            }
        }
        assert!(taken > 1000, "only {taken} mutations read");
    }

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
