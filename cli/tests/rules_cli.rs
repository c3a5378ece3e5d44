//! `trailwarden evaluate-rule` and `trailwarden rules`, run as the binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn kit() -> PathBuf {
    std::env::var_os("TRAILWARDEN_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwarden"))
        .args(args)
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn evaluates_an_item_in_either_encoding() {
    let notification = kit().join("data/config/items/rdk-example_ci-AWS_EC2_SecurityGroup.json");
    let out = run(&[
        "evaluate-rule",
        "--rule",
        "restricted-ssh",
        notification.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = lines(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["complianceType"], "NON_COMPLIANT");
    assert_eq!(v[0]["resourceType"], "AWS::EC2::SecurityGroup");
    assert_eq!(v[0]["resourceId"], "sg-1d56fc66");
    assert!(v[0]["annotation"].as_str().unwrap().contains("22"));

    // API encoding (GetResourceConfigHistory answer, configuration as a JSON string).
    let api =
        kit().join("data/config/items/api-GetResourceConfigHistory-SecurityGroup-aws-docs.json");
    let out = run(&[
        "evaluate-rule",
        "--rule",
        "INCOMING_SSH_DISABLED",
        api.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for v in lines(&out) {
        assert_eq!(v["resourceType"], "AWS::EC2::SecurityGroup");
        assert!(v["complianceType"].is_string());
    }
}

#[test]
fn evaluates_a_whole_rule_event_with_parameters() {
    let event =
        repo().join("events/config-rule-evaluator/ConfigurationItemChangeNotification.json");
    // The event names restricted-ssh: port 22 open to the world.
    let out = run(&["evaluate-rule", event.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out)[0]["complianceType"], "NON_COMPLIANT");
    // Another rule, with parameters: blocking only 3389 makes the group compliant.
    let out = run(&[
        "evaluate-rule",
        "--rule",
        "restricted-common-ports",
        "--parameters",
        r#"{"blockedPort1":"3389","blockedPort2":"3389","blockedPort3":"3389","blockedPort4":"3389","blockedPort5":"3389"}"#,
        event.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out)[0]["complianceType"], "COMPLIANT");
}

#[test]
fn bad_input_is_an_error_on_stderr() {
    let event = repo().join("events/config-rule-evaluator/invalid-parameter.json");
    let out = run(&["evaluate-rule", event.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InvalidParameterValueException: blockedPort1"),
        "{err}"
    );

    let broken = kit().join("data/config/rdk-example-ci/AWS_EC2_NetworkInterface.json");
    let out = run(&[
        "evaluate-rule",
        "--rule",
        "restricted-ssh",
        broken.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));

    let out = run(&[
        "evaluate-rule",
        "--rule",
        "no-such-rule",
        event.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule"));

    let out = run(&[
        "evaluate-rule",
        "--rule",
        "restricted-ssh",
        "/nonexistent/item.json",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn lists_rules_with_parameters_and_defaults() {
    let out = run(&["rules", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = v.as_array().unwrap();
    assert_eq!(rules.len(), 19);
    let common = rules
        .iter()
        .find(|r| r["name"] == "restricted-common-ports")
        .unwrap();
    let p1 = common["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "blockedPort1")
        .unwrap();
    assert_eq!(p1["default"], "20");
    let text = run(&["rules"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("restricted-ssh (INCOMING_SSH_DISABLED)"));
    assert!(text.contains("--blockedPort1 <"));
}
