//! `restricted-ssh` (`INCOMING_SSH_DISABLED`).
//!
//! NON_COMPLIANT if an ingress rule covering TCP port 22 (protocol `tcp`/`6` with a port range
//! containing 22, or protocol `-1`) is open to the whole internet: a `/0` block in `ipRanges`,
//! `ipv4Ranges[].cidrIp` or `ipv6Ranges[].cidrIpv6` (`0.0.0.0/0`, `::/0`; non-canonical blocks
//! such as `10.0.0.0/0` cover everything too and count).

use crate::config::{ConfigurationItem, Outcome, Params};

use super::sg_common::open_tcp_ports;
use super::{Rule, Trigger};

/// The rule.
pub struct RestrictedSsh;

impl Rule for RestrictedSsh {
    fn name(&self) -> &'static str {
        "restricted-ssh"
    }
    fn identifier(&self) -> &'static str {
        "INCOMING_SSH_DISABLED"
    }
    fn description(&self) -> &'static str {
        "No security group ingress rule opens TCP port 22 to 0.0.0.0/0 or ::/0."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::EC2::SecurityGroup"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChangeAndPeriodic
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        Outcome::from_problems(open_tcp_ports(item, &[22]))
    }
}
