//! `ec2-instance-no-public-ip` (`EC2_INSTANCE_NO_PUBLIC_IP`).
//!
//! NON_COMPLIANT when a network interface, or one of its private IP addresses, has an
//! `association.publicIp`. Choice: the instance-level `publicIpAddress` counts too (items of
//! instances without interface details carry only that).

use serde_json::Value;

use crate::config::{value, ConfigurationItem, Outcome, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct Ec2InstanceNoPublicIp;

fn public_ip(v: &Value) -> Option<String> {
    v.get("association")
        .and_then(|a| value::string(a, &["publicIp"]))
        .filter(|ip| !ip.is_empty())
}

impl Rule for Ec2InstanceNoPublicIp {
    fn name(&self) -> &'static str {
        "ec2-instance-no-public-ip"
    }
    fn identifier(&self) -> &'static str {
        "EC2_INSTANCE_NO_PUBLIC_IP"
    }
    fn description(&self) -> &'static str {
        "EC2 instances have no public IPv4 address."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::EC2::Instance"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        let mut found: Vec<String> = Vec::new();
        for eni in value::list_of(&item.configuration, "networkInterfaces") {
            let id = value::string(eni, &["networkInterfaceId"]).unwrap_or_else(|| "interface".into());
            let mut ips: Vec<String> = public_ip(eni).into_iter().collect();
            for pip in value::list_of(eni, "privateIpAddresses") {
                if let Some(ip) = public_ip(pip) {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
            }
            for ip in ips {
                found.push(format!("public IP {ip} on {id}"));
            }
        }
        if found.is_empty() {
            if let Some(ip) = value::string(&item.configuration, &["publicIpAddress"]).filter(|s| !s.is_empty()) {
                found.push(format!("public IP {ip}"));
            }
        }
        if found.is_empty() {
            Outcome::compliant()
        } else {
            Outcome::non_compliant(format!(
                "{}: launch it in a subnet without public IP auto-assignment or release the address",
                found.join(", ")
            ))
        }
    }
}
