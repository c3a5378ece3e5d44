"""Cold start (process start to the first Runtime API request) and peak RSS (wait4) of every
function binary, release build, each handling one of its sample events from events/ against
moto_server (run by scripts/bench/cold_start.sh, which sets AWS_ENDPOINT_URL)."""
import json
import os
import statistics
import subprocess
import tempfile

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ["CARGO_TARGET_DIR"]
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REPEAT = int(os.environ.get("REPEAT", "5"))
BUCKET = "trailwarden-trail"


def main():
    session = boto3.session.Session(region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=ENDPOINT)
    sns = session.client("sns", endpoint_url=ENDPOINT)
    s3.create_bucket(Bucket=BUCKET)
    topic = sns.create_topic(Name="trailwarden-alerts")["TopicArn"]
    pem = open(os.path.join(ROOT, "shared/tests/data/test-signing-key.pem")).read()
    # One delivered log file for the alerting event to read.
    deliver = os.path.join(ROOT, "events/log-delivery/sqs-batch.json")
    env = {"TRAIL_BUCKET": BUCKET, "ALERT_TOPIC_ARN": topic, "SIGNING_PRIVATE_KEY_PEM": pem,
           "TRAIL_ARN": "arn:aws:cloudtrail:us-east-1:123837392027:trail/trailwarden",
           "RULE_RUNBOOKS": json.dumps({"restricted-ssh": "AWS-DisablePublicAccessForSecurityGroup"}), "DRY_RUN": "true"}
    cases = [
        ("log-delivery", deliver),
        ("digest-signer", os.path.join(ROOT, "events/digest-signer/scheduled-hourly.json")),
        ("log-validator", os.path.join(ROOT, "events/log-validator/scheduled-daily.json")),
        ("metric-filter-alarm", None),
        ("config-rule-evaluator", os.path.join(ROOT, "events/config-rule-evaluator/ConfigurationItemChangeNotification.json")),
        ("remediator", os.path.join(ROOT, "events/remediator/config-compliance-restricted-ssh.json")),
    ]
    rows = []
    for name, event in cases:
        if event is None:
            key = next(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="AWSLogs/")["Contents"] if "/CloudTrail/" in o["Key"])
            ev = json.load(open(os.path.join(ROOT, "events/metric-filter-alarm/s3-object-created.json")))
            ev["Records"][0]["s3"]["bucket"]["name"] = BUCKET
            ev["Records"][0]["s3"]["object"]["key"] = key
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
                json.dump(ev, fh)
                event = fh.name
        binary = os.path.join(TARGET, "release", name)
        runs = []
        for _ in range(REPEAT):
            args = [os.path.join(TARGET, "release/lambda-host"), binary, event] + [f"{k}={v}" for k, v in env.items()]
            out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True, env=os.environ).stdout)
            runs.append(out)
        ok = all(r["ok"] for r in runs)
        rows.append((name, statistics.median(r["cold_start_ms"] for r in runs), statistics.median(r["handler_ms"] or 0 for r in runs),
                     max(r["peak_rss_kib"] for r in runs) / 1024, os.path.getsize(binary) / 1e6, ok, runs[-1]["response"]))
    print(f"| function | cold start (median of {REPEAT}) | handler | peak RSS | binary (x86_64, stripped) | handled |")
    print("|---|---|---|---|---|---|")
    for name, cold, handler, rss, size, ok, _ in rows:
        print(f"| {name} | {cold:.1f} ms | {handler:.1f} ms | {rss:.1f} MiB | {size:.1f} MB | {'yes' if ok else 'error'} |")
    for name, *_, resp in rows:
        print(f"{name}: {json.dumps(resp)[:200]}")


if __name__ == "__main__":
    main()
