#!/usr/bin/env python3
"""An RDK-style AWS Config rule handler for restricted-ssh, for the side-by-side benchmark.

Written the way Config rules are written in Python with the RDK template: the Lambda handler
json.loads() the event's invokingEvent and ruleParameters strings, takes the configuration item,
checks that the rule applies, evaluates, and builds the PutEvaluations entry
(build_evaluation_from_config_item). PutEvaluations itself is left out, as it is on the Rust side
(the benchmark's port discards the evaluations).

Usage: rdk_restricted_ssh.py EVENTS.ndjson   (one Config rule event per line)
Prints one JSON object: items, seconds (CPU time of the handling loop), items_per_s, and the compliance counts (which the Rust
benchmark compares with its own, so both sides must agree on every item).
"""

import json
import sys
import time

APPLICABLE_RESOURCES = ["AWS::EC2::SecurityGroup"]
SSH_PORT = 22
DEFAULT_RESOURCE_TYPE = "AWS::::Account"


def evaluate_parameters(rule_parameters):
    return rule_parameters


def get_configuration_item(invoking_event):
    message_type = invoking_event["messageType"]
    if message_type == "OversizedConfigurationItemChangeNotification":
        raise NotImplementedError("the benchmark has no oversized items")
    if message_type != "ConfigurationItemChangeNotification":
        return None
    return invoking_event["configurationItem"]


def is_applicable(configuration_item, event):
    status = configuration_item["configurationItemStatus"]
    event_left_scope = event["eventLeftScope"]
    if status == "ResourceDeleted":
        return False
    return status in ("OK", "ResourceDiscovered") and not event_left_scope


def cidrs_of(permission):
    out = []
    for key in ("ipRanges", "ipv4Ranges"):
        for r in permission.get(key) or []:
            c = r if isinstance(r, str) else r.get("cidrIp")
            if c and c not in out:
                out.append(c)
    for r in permission.get("ipv6Ranges") or []:
        c = r if isinstance(r, str) else r.get("cidrIpv6")
        if c and c not in out:
            out.append(c)
    return out


def open_to_world(cidr):
    parts = cidr.strip().rsplit("/", 1)
    return len(parts) == 2 and parts[1] == "0"


def covers_tcp_port(permission, port):
    protocol = str(permission.get("ipProtocol", "-1")).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    from_port = permission.get("fromPort")
    to_port = permission.get("toPort")
    if from_port is None and to_port is None:
        return True
    if from_port is not None and to_port is not None:
        if from_port < 0 and to_port < 0:
            return True
        return from_port <= port <= to_port
    only = from_port if from_port is not None else to_port
    return only == port or only < 0


def describe(permission):
    protocol = str(permission.get("ipProtocol", "-1")).lower()
    f, t = permission.get("fromPort"), permission.get("toPort")
    ports = ""
    if f is not None and t is not None and f >= 0 and t >= 0:
        ports = f" {f}" if f == t else f" {f}-{t}"
    if protocol in ("-1", "all"):
        return "all traffic (protocol -1)"
    return f"{protocol}{ports}"


def evaluate_compliance(event, configuration_item, valid_rule_parameters):
    problems = []
    for permission in configuration_item["configuration"].get("ipPermissions") or []:
        world = [c for c in cidrs_of(permission) if open_to_world(c)]
        if world and covers_tcp_port(permission, SSH_PORT):
            problems.append(
                f"port {SSH_PORT} open to {', '.join(world)} in rule {describe(permission)}"
            )
    if problems:
        return build_evaluation_from_config_item(
            configuration_item, "NON_COMPLIANT", "; ".join(problems)
        )
    return build_evaluation_from_config_item(configuration_item, "COMPLIANT")


def build_annotation(annotation_string):
    if len(annotation_string) > 256:
        return annotation_string[:244] + " [truncated]"
    return annotation_string


def build_evaluation_from_config_item(configuration_item, compliance_type, annotation=None):
    evaluation = {
        "ComplianceResourceType": configuration_item["resourceType"],
        "ComplianceResourceId": configuration_item["resourceId"],
        "ComplianceType": compliance_type,
        "OrderingTimestamp": configuration_item["configurationItemCaptureTime"],
    }
    if annotation:
        evaluation["Annotation"] = build_annotation(annotation)
    return evaluation


def lambda_handler(event, context):
    invoking_event = json.loads(event["invokingEvent"])
    rule_parameters = {}
    if "ruleParameters" in event:
        rule_parameters = json.loads(event["ruleParameters"])
    valid_rule_parameters = evaluate_parameters(rule_parameters)
    configuration_item = get_configuration_item(invoking_event)
    if configuration_item is None:
        return []
    if configuration_item["resourceType"] in APPLICABLE_RESOURCES and is_applicable(
        configuration_item, event
    ):
        evaluation = evaluate_compliance(event, configuration_item, valid_rule_parameters)
    else:
        evaluation = build_evaluation_from_config_item(configuration_item, "NOT_APPLICABLE")
    return [evaluation]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    counts = {"COMPLIANT": 0, "NON_COMPLIANT": 0, "NOT_APPLICABLE": 0}
    # CPU time of the process (the machine may be shared), as the Rust side measures its thread
    start = time.process_time()
    for line in lines:
        for evaluation in lambda_handler(json.loads(line), None):
            counts[evaluation["ComplianceType"]] += 1
    seconds = time.process_time() - start
    print(json.dumps({
        "items": len(lines),
        "seconds": seconds,
        "items_per_s": len(lines) / seconds,
        "counts": counts,
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
