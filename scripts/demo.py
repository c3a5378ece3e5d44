"""The local end-to-end run (called by scripts/demo.sh with the emulator running).

1. creates the trail bucket, the delivery queue (with a dead-letter queue), the alert topic and
   the KMS signing key in the emulator;
2. sends a realistic stream of events to the queue: the 2,900 real CloudTrail records in
   ../shared/data/cloudtrail/invictus-ir as EventBridge events;
3. drains the queue in batches into the log-delivery function, running under `cargo lambda
   watch` (the real Lambda runtime path), deleting only what the function did not report failed;
4. signs the hour's digest with the digest-signer function (`cargo lambda invoke --data-file`);
5. validates the trail with `trailwarden validate-logs` and with the unmodified AWS CLI;
6. tampers with one delivered log file and shows both validators catching it, and the daily
   log-validator function alerting through SNS;
7. (scripts/demo_compliance.py) a public bucket and an SSH-open security group, opened by a
   person whose calls went through the trail: metric-filter-alarm raises the CIS alarms on the
   delivered files, config-rule-evaluator finds both resources non-compliant, remediator fixes
   them and reports who opened them; the rules then find them compliant.
"""
import datetime as dt
import glob
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_compliance  # noqa: E402
from localnet import free_port, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KIT = os.environ.get("TRAILWARDEN_KIT", os.path.join(ROOT, "..", "shared"))
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
BIN = os.environ["TRAILWARDEN_BIN"]
VENV_BIN = os.path.dirname(os.environ["MOTO_SERVER"])
WATCH_LOG = open(os.path.join(tempfile.gettempdir(), "trailwarden-demo-watch.log"), "w")
BUCKET = "trailwarden-trail"
ACCOUNT = "123837392027"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trailwarden"


def step(title):
    print(f"\n=== {title}", flush=True)


def main():
    session = boto3.session.Session(region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=ENDPOINT)
    sqs = session.client("sqs", endpoint_url=ENDPOINT)
    sns = session.client("sns", endpoint_url=ENDPOINT)
    kms = session.client("kms", endpoint_url=ENDPOINT)

    step("1. resources in the local emulator")
    s3.create_bucket(Bucket=BUCKET)
    dlq = sqs.create_queue(QueueName="trailwarden-delivery-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="trailwarden-delivery",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}), "VisibilityTimeout": "60"},
    )["QueueUrl"]
    topic = sns.create_topic(Name="trailwarden-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description="trailwarden digest signing")["KeyMetadata"]["KeyId"]
    print(f"bucket s3://{BUCKET}, queue {queue.rsplit('/', 1)[1]} (+DLQ), topic {topic.rsplit(':', 1)[1]}, KMS key {key_id} (RSA_2048 SIGN_VERIFY)")

    step("2. a stream of real CloudTrail events into the delivery queue")
    records = []
    for f in sorted(glob.glob(os.path.join(KIT, "data/cloudtrail/invictus-ir/*.json"))):
        with open(f) as fh:
            records.extend(json.load(fh)["Records"])
    events = []
    for i, r in enumerate(records):
        detail_type = "AWS Console Sign In via CloudTrail" if r.get("eventType") == "AwsConsoleSignIn" else "AWS API Call via CloudTrail"
        events.append(json.dumps({"version": "0", "id": f"evt-{i}", "detail-type": detail_type, "source": "aws." + r["eventSource"].split(".")[0],
                                  "account": r["recipientAccountId"], "time": r["eventTime"], "region": r["awsRegion"], "resources": [], "detail": r}))
    # Producers may also send bare records and arrays, and sometimes garbage.
    events.append(json.dumps(records[:3]))
    events.append('{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventTime": ')
    step("2b. meanwhile, someone opens a bucket to the world and SSH to the internet")
    opened, their_calls = demo_compliance.open_resources(session, ENDPOINT, KIT, ACCOUNT, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2))
    events.extend(their_calls)
    print(f"{len(records)} EventBridge events from {len(glob.glob(os.path.join(KIT, 'data/cloudtrail/invictus-ir/*.json')))} real log files, 1 array of 3 records, 1 truncated message;")
    print("sent in waves of 150 (moto's SQS slows down with long queues), each drained into the function")

    step("3. log-delivery under `cargo lambda watch` (the Lambda runtime API), draining the queue")
    port = free_port()
    env = dict(os.environ, TRAIL_BUCKET=BUCKET, TRAIL_ARN=TRAIL_ARN, SIGNING_KEY_ID=key_id, ALERT_TOPIC_ARN=topic, RUST_LOG="warn",
               RULE_RUNBOOKS=json.dumps(demo_compliance.RULE_RUNBOOKS))
    watch = subprocess.Popen(
        [os.path.join(VENV_BIN, "cargo-lambda"), "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(port)],
        cwd=ROOT, env=env, stdout=WATCH_LOG, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(port, seconds=600)
        run(s3, sqs, kms, sns, queue, inbox, topic, key_id, port, events)
        compliance(session, sqs, inbox, port, opened)
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        watch.wait()


def compliance(session, sqs, inbox, port, opened):
    def invoke(function, payload):
        return invoke_http(port, function, payload)
    logs = [o for o in list_all(session.client("s3", endpoint_url=ENDPOINT), "AWSLogs/") if "/CloudTrail/" in o["Key"]]

    step("8. metric-filter-alarm: the delivered log files, one S3 object-created event each")
    demo_compliance.alerting(invoke, sqs, inbox, BUCKET, logs)

    step("9. config-rule-evaluator: the two resources as AWS Config records them")
    print("(the emulator has no Config recorder: the items are built from the resources read back, in Config's notification encoding;")
    print(" its PutEvaluations accepts only TestMode, so the events carry resultToken TESTMODE)")
    found = demo_compliance.rules(invoke, session, ENDPOINT, opened, ACCOUNT, "rule")

    step("10. remediator: the Config Rules Compliance Change events for them")
    demo_compliance.remediate(invoke, sqs, inbox, found, ACCOUNT, "remediation")

    step("11. afterwards: the rules on the resources read back, and the same events again")
    demo_compliance.rules(invoke, session, ENDPOINT, opened, ACCOUNT, "rule")
    demo_compliance.remediate(invoke, sqs, inbox, found, ACCOUNT, "again:")
    print("\nDone: the emulator and cargo lambda watch are stopped.")


def invoke_http(port, function, payload):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations",
                                 data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def run(s3, sqs, kms, sns, queue, inbox, topic, key_id, port, events):
    batches = 0
    retried = 0
    wave = 150
    while True:
        if events:
            for i in range(0, min(wave, len(events)), 10):
                chunk = events[i:min(i + 10, wave)]
                sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(k), "MessageBody": b} for k, b in enumerate(chunk)])
            del events[:wave]
        msgs = []
        while len(msgs) < 500:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            msgs.extend(got)
        if not msgs:
            if events:
                continue
            break
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                              "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailwarden-delivery",
                              "awsRegion": "us-east-1"} for m in msgs]}
        resp = invoke_http(port, "log-delivery", event)
        failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
        retried += len(failed)
        done = [m for m in msgs if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(done[i:i + 10])])
        batches += 1
        if batches % 5 == 1 or not events:
            print(f"batch {batches}: {len(msgs)} messages, {len(failed)} to retry")
    logs = [o for o in list_all(s3, "AWSLogs/") if "/CloudTrail/" in o["Key"]]
    quarantined = list_all(s3, "trailwarden-quarantine/")
    n_records = sum(len(json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()))["Records"]) for o in logs)
    print(f"delivered {len(logs)} CloudTrail log files holding {n_records} records; {len(quarantined)} malformed message(s) quarantined at s3://{BUCKET}/{quarantined[0]['Key'] if quarantined else '-'}")
    for o in logs[:3]:
        print(f"  s3://{BUCKET}/{o['Key']}")

    step("4. digest-signer through `cargo lambda invoke --data-file` (the hourly schedule firing at the end of this hour)")
    now = dt.datetime.now(dt.timezone.utc)
    end = (now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1))
    sched = {"version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events", "account": ACCOUNT,
             "time": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1", "resources": [], "detail": {}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(sched, fh)
        sched_file = fh.name
    out = subprocess.run([os.path.join(VENV_BIN, "cargo-lambda"), "lambda", "invoke", "digest-signer", "--invoke-address", "127.0.0.1",
                          "--invoke-port", str(port), "--output-format", "json", "--data-file", sched_file], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"digest-signer failed: {out.stdout}{out.stderr}")
    for d in json.loads(out.stdout)["digests"]:
        print(f"signed s3://{BUCKET}/{d['key']} listing {d['logFiles']} log files (KMS RSASSA-PKCS1-v1_5 SHA-256, chain start: {d['chainStart']})")

    step("5. validation: trailwarden validate-logs, and the unmodified AWS CLI on the same bucket")
    start_s = (end - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end_s = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    ours = [BIN, "validate-logs", "--trail-arn", TRAIL_ARN, "--s3-bucket", BUCKET, "--start-time", start_s, "--end-time", end_s, "--kms-key-id", key_id]
    show(subprocess.run(ours, capture_output=True, text=True))
    keys = subprocess.run([BIN, "public-key", "--kms-key-id", key_id], capture_output=True, text=True, check=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(keys)
        keys_file = fh.name
    theirs = [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "scripts/awscli_validate.py"), "cloudtrail", "validate-logs", "--trail-arn", TRAIL_ARN,
              "--s3-bucket", BUCKET, "--start-time", start_s, "--end-time", end_s, "--region", "us-east-1"]
    aws_env = dict(os.environ, TRAILWARDEN_PUBLIC_KEYS=keys_file, AWS_ENDPOINT_URL_S3=ENDPOINT)
    print("-- aws cloudtrail validate-logs:")
    show(subprocess.run(theirs, capture_output=True, text=True, env=aws_env))

    step("6. tampering: one delivered record altered (sourceIPAddress), file re-uploaded")
    victim = logs[len(logs) // 2]["Key"]
    body = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=victim)["Body"].read()))
    body["Records"][0]["sourceIPAddress"] = "203.0.113.66"
    s3.put_object(Bucket=BUCKET, Key=victim, Body=gzip.compress(json.dumps({"Records": body["Records"]}).encode()))
    print(f"altered s3://{BUCKET}/{victim}")
    show(subprocess.run(ours, capture_output=True, text=True))
    print("-- aws cloudtrail validate-logs:")
    show(subprocess.run(theirs, capture_output=True, text=True, env=aws_env))

    step("7. the daily log-validator function: finds the problem and alerts through SNS")
    daily = dict(sched, time=(end + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    summary = invoke_http(port, "log-validator", daily)
    print(f"chains checked {summary['chains']}, valid digests {summary['valid_digests']}, valid logs {summary['valid_logs']}, problems {len(summary['problems'])}, alerted {summary['alerted']}")
    for envelope in demo_compliance.drain(sqs, inbox):
        print(f"SNS alert: {envelope['Subject']}")
        for line in envelope["Message"].splitlines()[:4]:
            print(f"  {line}")


def list_all(s3, prefix):
    out, token = [], None
    while True:
        kw = {"Bucket": BUCKET, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        out.extend(page.get("Contents", []))
        if not page.get("IsTruncated"):
            return out
        token = page["NextContinuationToken"]


def show(proc):
    text = (proc.stderr.strip() + "\n" + proc.stdout.strip()).strip()
    for line in text.splitlines():
        if line.strip():
            print("   " + line.replace("\t", "  "))
    print(f"   (exit code {proc.returncode})")


if __name__ == "__main__":
    main()
