"""The compliance half of the main job (imported by scripts/demo.py).

A person opens a bucket to the world and SSH to the internet; their API calls reach the trail
like every other event; then the suite's functions, each through the Lambda runtime API of
`cargo lambda watch`:
- metric-filter-alarm turns the delivered log files into CIS metrics and alarms (SNS alerts);
- config-rule-evaluator finds the two resources non-compliant;
- remediator fixes them, verifies the fix, and reports who opened them (from the trail);
- the rules, run again on the resources read back, find them compliant; a second remediation
  finds nothing to do.

The emulator has no Config recorder and does not record API calls: the configuration items are
built from the resources read back through the emulator's API (as Config records them), and the
CloudTrail records of the person's two calls are copies of real records from the kit
(invictus-ir: the same principal opening port 22 and writing a bucket policy) pointed at the
emulator's resource ids. Both are said on screen.
"""
import copy
import datetime as dt
import glob
import json
import os
import uuid

PUBLIC_BUCKET = "trailwarden-demo-shared-assets"
RULE_RUNBOOKS = {
    "s3-bucket-public-read-prohibited": "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
    "restricted-ssh": "AWS-DisablePublicAccessForSecurityGroup",
}


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def real_record(kit, event_name, predicate):
    for f in sorted(glob.glob(os.path.join(kit, "data/cloudtrail/invictus-ir/*.json"))):
        with open(f) as fh:
            for r in json.load(fh)["Records"]:
                if r["eventName"] == event_name and "errorCode" not in r and predicate(r):
                    return copy.deepcopy(r)
    raise SystemExit(f"no {event_name} record in the kit")


def open_resources(session, endpoint, kit, account, when):
    """Creates the public bucket and the open security group in the emulator; returns their ids
    and the CloudTrail records (as EventBridge events) of the calls that opened them."""
    s3 = session.client("s3", endpoint_url=endpoint)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    s3.create_bucket(Bucket=PUBLIC_BUCKET)
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                      "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{PUBLIC_BUCKET}/*"}]}
    s3.put_bucket_policy(Bucket=PUBLIC_BUCKET, Policy=json.dumps(policy))
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    sg = ec2.create_security_group(GroupName="demo-bastion", Description="bastion host", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])

    ssh = real_record(kit, "AuthorizeSecurityGroupIngress", lambda r: r["requestParameters"].get("fromPort") == 22)
    ssh["requestParameters"]["groupId"] = sg
    pol = real_record(kit, "PutBucketPolicy", lambda r: True)
    pol["requestParameters"] = {"bucketName": PUBLIC_BUCKET, "Host": f"{PUBLIC_BUCKET}.s3.amazonaws.com", "policy": "", "bucketPolicy": policy}
    pol["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{PUBLIC_BUCKET}"}]
    events = []
    for i, r in enumerate([pol, ssh]):
        r["eventTime"] = (when + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        r["eventID"] = str(uuid.uuid4())
        r["requestID"] = str(uuid.uuid4())
        r["recipientAccountId"] = account
        events.append(json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
                                  "source": "aws." + r["eventSource"].split(".")[0], "account": account, "time": r["eventTime"],
                                  "region": r["awsRegion"], "resources": [], "detail": r}))
    who = ssh["userIdentity"].get("arn")
    print(f"s3://{PUBLIC_BUCKET} given a bucket policy granting s3:GetObject to everyone; security group {sg} opened to 0.0.0.0/0 on port 22;")
    print(f"their 2 CloudTrail records (real invictus-ir records by {who} from {ssh['sourceIPAddress']}, pointed at these ids) join the stream")
    return {"bucket": PUBLIC_BUCKET, "sg": sg}, events


def bucket_item(s3, bucket, account, region, now):
    """The bucket as AWS Config records it (notification encoding)."""
    supp = {}
    try:
        supp["BucketPolicy"] = {"policyText": s3.get_bucket_policy(Bucket=bucket)["Policy"]}
    except s3.exceptions.ClientError:
        supp["BucketPolicy"] = {"policyText": None}
    acl = s3.get_bucket_acl(Bucket=bucket)
    grants = []
    for g in acl.get("Grants", []):
        grantee = g["Grantee"]
        if grantee.get("Type") == "Group":
            name = grantee["URI"].rsplit("/", 1)[1]
            grantee = {"AllUsers": "AllUsers", "AuthenticatedUsers": "AuthenticatedUsers"}.get(name, name)
        else:
            grantee = {"id": grantee.get("ID"), "displayName": grantee.get("DisplayName")}
        grants.append({"grantee": grantee, "permission": {"FULL_CONTROL": "FullControl"}.get(g["Permission"], g["Permission"].title())})
    supp["AccessControlList"] = json.dumps({"grantSet": None, "grantList": grants, "owner": {"id": acl["Owner"].get("ID")}, "isRequesterCharged": False})
    try:
        pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        supp["PublicAccessBlockConfiguration"] = {k[0].lower() + k[1:]: v for k, v in pab.items()}
    except s3.exceptions.ClientError:
        pass
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": iso(now), "configurationItemStatus": "OK",
            "configurationStateId": int(now.timestamp() * 1000), "awsAccountId": account, "resourceType": "AWS::S3::Bucket",
            "resourceId": bucket, "resourceName": bucket, "ARN": f"arn:aws:s3:::{bucket}", "awsRegion": region,
            "availabilityZone": "Regional", "configuration": {"name": bucket, "owner": {"id": acl["Owner"].get("ID")}},
            "supplementaryConfiguration": supp, "tags": {}, "relationships": [], "relatedEvents": []}


def sg_item(ec2, sg, account, region, now):
    """The security group as AWS Config records it (notification encoding, both CIDR fields)."""
    g = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]

    def perms(ps):
        out = []
        for p in ps:
            q = {"ipProtocol": p["IpProtocol"], "ipv4Ranges": [{"cidrIp": r["CidrIp"]} for r in p.get("IpRanges", [])],
                 "ipRanges": [r["CidrIp"] for r in p.get("IpRanges", [])],
                 "ipv6Ranges": [{"cidrIpv6": r["CidrIpv6"]} for r in p.get("Ipv6Ranges", [])],
                 "prefixListIds": [], "userIdGroupPairs": [{"groupId": u.get("GroupId")} for u in p.get("UserIdGroupPairs", [])]}
            if "FromPort" in p:
                q["fromPort"], q["toPort"] = p["FromPort"], p["ToPort"]
            out.append(q)
        return out
    conf = {"description": g.get("Description"), "groupName": g["GroupName"], "groupId": g["GroupId"], "ownerId": g.get("OwnerId"),
            "vpcId": g.get("VpcId"), "ipPermissions": perms(g.get("IpPermissions", [])),
            "ipPermissionsEgress": perms(g.get("IpPermissionsEgress", [])), "tags": []}
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": iso(now), "configurationItemStatus": "OK",
            "configurationStateId": int(now.timestamp() * 1000), "awsAccountId": account, "resourceType": "AWS::EC2::SecurityGroup",
            "resourceId": sg, "resourceName": g["GroupName"], "ARN": f"arn:aws:ec2:{region}:{account}:security-group/{sg}",
            "awsRegion": region, "availabilityZone": "Not Applicable", "configuration": conf, "supplementaryConfiguration": {},
            "tags": {}, "relationships": [], "relatedEvents": []}


def rule_event(rule, item, account, now):
    return {"invokingEvent": json.dumps({"configurationItem": item, "notificationCreationTime": iso(now),
                                         "messageType": "ConfigurationItemChangeNotification", "recordVersion": "1.3"}),
            "ruleParameters": "{}", "resultToken": "TESTMODE", "eventLeftScope": False,
            "executionRoleArn": f"arn:aws:iam::{account}:role/trailwarden-config", "configRuleName": rule,
            "configRuleArn": f"arn:aws:config:us-east-1:{account}:config-rule/config-rule-{rule}",
            "configRuleId": f"config-rule-{rule}", "accountId": account, "version": "1.0"}


def compliance_event(rule, rtype, rid, annotation, account, now):
    qualifier = {"configRuleName": rule, "resourceType": rtype, "resourceId": rid, "evaluationMode": "DETECTIVE"}
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Config Rules Compliance Change", "source": "aws.config",
            "account": account, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1", "resources": [],
            "detail": {"resourceId": rid, "awsRegion": "us-east-1", "awsAccountId": account, "configRuleName": rule,
                       "recordVersion": "1.0", "configRuleARN": f"arn:aws:config:us-east-1:{account}:config-rule/config-rule-{rule}",
                       "messageType": "ComplianceChangeNotification", "resourceType": rtype, "notificationCreationTime": iso(now),
                       "newEvaluationResult": {"evaluationResultIdentifier": {"evaluationResultQualifier": qualifier, "orderingTimestamp": iso(now)},
                                               "complianceType": "NON_COMPLIANT", "resultRecordedTime": iso(now),
                                               "configRuleInvokedTime": iso(now), "annotation": annotation}}}


def drain(sqs, inbox):
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])


def alerting(invoke, sqs, inbox, bucket, logs):
    """metric-filter-alarm on every delivered log file, one S3 object-created event each."""
    drain(sqs, inbox)
    matches, transitions, records = {}, [], 0
    for o in logs:
        ev = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": iso(o["LastModified"]),
                           "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "trailwarden-new-log-files",
                                                                   "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                                                   "object": {"key": o["Key"], "size": o["Size"], "eTag": o["ETag"].strip('"')}}}]}
        rep = invoke("metric-filter-alarm", ev)
        records += rep["records"]
        for k, v in rep["matches"].items():
            matches[k] = matches.get(k, 0) + v
        transitions.extend(rep["transitions"])
    print(f"{len(logs)} log files, {records} records; CIS filters that matched (records):")
    for k, v in sorted(matches.items(), key=lambda kv: -kv[1]):
        print(f"  {v:5}  {k}")
    to_alarm = [t for t in transitions if t["newState"] == "ALARM"]
    print(f"{len(transitions)} alarm state changes, {len(to_alarm)} to ALARM; EMF metrics written to the function's stdout")
    alerts = drain(sqs, inbox)
    print(f"{len(alerts)} SNS alerts published; for example:")
    for a in alerts[:3]:
        msg = json.loads(a["Message"])
        print(f"  {a.get('Subject')}  ({msg.get('OldStateValue')} -> {msg.get('NewStateValue')}, {msg.get('MatchingRecordsTotal')} matching records)")
        for r in msg.get("MatchingRecords", [])[:1]:
            u = r.get("userIdentity", {})
            print(f"    who {u.get('arn') or u.get('type')}  what {r.get('eventSource')} {r.get('eventName')}  "
                  f"where {r.get('sourceIPAddress')} {r.get('awsRegion')}  when {r.get('eventTime')}")


def rules(invoke, session, endpoint, ids, account, title):
    s3 = session.client("s3", endpoint_url=endpoint)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    now = dt.datetime.now(dt.timezone.utc)
    found = []
    for rule, item in [("s3-bucket-public-read-prohibited", bucket_item(s3, ids["bucket"], account, "us-east-1", now)),
                       ("restricted-ssh", sg_item(ec2, ids["sg"], account, "us-east-1", now))]:
        out = invoke("config-rule-evaluator", rule_event(rule, item, account, now))
        verdict = "NON_COMPLIANT" if out["nonCompliant"] else ("COMPLIANT" if out["compliant"] else "NOT_APPLICABLE")
        print(f"{title} {rule:34} {item['resourceId']:32} {verdict}  (PutEvaluations calls: {out['putEvaluationsCalls']}, TestMode)")
        for r in out["nonCompliantResources"]:
            print(f"    annotation: {r['annotation']}")
            found.append((rule, r["resourceType"], r["resourceId"], r["annotation"]))
    return found


def remediate(invoke, sqs, inbox, found, account, label):
    drain(sqs, inbox)
    now = dt.datetime.now(dt.timezone.utc)
    for rule, rtype, rid, annotation in found:
        summary = invoke("remediator", compliance_event(rule, rtype, rid, annotation, account, now))
        print(f"{label} {rule} on {rid}: {summary.get('status', summary)}")
    for a in drain(sqs, inbox):
        rep = json.loads(a["Message"])
        print(f"  SNS report: {a.get('Subject')}")
        for line in rep.get("whatWasDone", [])[:4]:
            print(f"    did: {line}")
        v = rep.get("verification") or {}
        if v:
            print(f"    verified: {'passed' if v.get('Passed') else 'FAILED'}: {v.get('Details', '')}")
        who = rep.get("causedBy")
        if who:
            print(f"    caused by: {who.get('principalArn')} ({who.get('principalType')}) calling {who.get('eventName')} "
                  f"from {who.get('sourceIpAddress')} at {who.get('eventTime')}")
        elif rep.get("causeNote"):
            print(f"    cause: {rep['causeNote']}")
