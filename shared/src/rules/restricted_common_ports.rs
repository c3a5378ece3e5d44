//! `restricted-common-ports` (`RESTRICTED_INCOMING_TRAFFIC`).
//!
//! NON_COMPLIANT if an ingress rule lets TCP traffic from the whole internet (`0.0.0.0/0`,
//! `::/0`) reach a blocked port (protocol `tcp` with a range containing it, or `-1`). Blocked
//! ports: `blockedPort1`..`blockedPort5` (defaults 20, 21, 3389, 3306, 4333) plus every port in
//! `blockedPorts`. Choice: `blockedPorts` adds to the numbered ports rather than replacing them.

use crate::config::{ConfigurationItem, Outcome, ParamKind, ParamSpec, Params};

use super::sg_common::open_tcp_ports;
use super::{Rule, Trigger};

/// The rule.
pub struct RestrictedCommonPorts;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::with_default("blockedPort1", ParamKind::Port, "20", "Blocked TCP port (FTP data)."),
    ParamSpec::with_default("blockedPort2", ParamKind::Port, "21", "Blocked TCP port (FTP control)."),
    ParamSpec::with_default("blockedPort3", ParamKind::Port, "3389", "Blocked TCP port (RDP)."),
    ParamSpec::with_default("blockedPort4", ParamKind::Port, "3306", "Blocked TCP port (MySQL)."),
    ParamSpec::with_default("blockedPort5", ParamKind::Port, "4333", "Blocked TCP port."),
    ParamSpec::optional(
        "blockedPorts",
        ParamKind::PortList,
        "More blocked TCP ports (comma-separated).",
    ),
];

/// The blocked ports, in parameter order, without duplicates.
fn blocked_ports(params: &Params) -> Vec<u16> {
    let mut ports = Vec::new();
    let numbered = ["blockedPort1", "blockedPort2", "blockedPort3", "blockedPort4", "blockedPort5"];
    for p in numbered
        .iter()
        .filter_map(|n| params.port(n))
        .chain(params.ports("blockedPorts").iter().copied())
    {
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    ports
}

impl Rule for RestrictedCommonPorts {
    fn name(&self) -> &'static str {
        "restricted-common-ports"
    }
    fn identifier(&self) -> &'static str {
        "RESTRICTED_INCOMING_TRAFFIC"
    }
    fn description(&self) -> &'static str {
        "No security group ingress rule opens a blocked TCP port to 0.0.0.0/0 or ::/0."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::EC2::SecurityGroup"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChangeAndPeriodic
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn evaluate(&self, item: &ConfigurationItem, params: &Params) -> Outcome {
        Outcome::from_problems(open_tcp_ports(item, &blocked_ports(params)))
    }
}
