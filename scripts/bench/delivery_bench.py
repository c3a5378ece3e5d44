"""Delivery benchmarks (run by scripts/bench/delivery.sh):
  (1) CPU per record from SQS body to gzip bytes ready to upload, vs gzip-compressing the same
      bytes alone at the same level (benches/src/bin/delivery.rs, 10 batches of 10,000 messages);
  (2) peak RSS of the log-delivery function (release binary) handling one 10,000-message SQS
      batch, through a local Lambda Runtime API (benches/src/bin/lambda-host.rs), writing to moto.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import glob

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from localnet import start_moto  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIT = os.environ.get("TRAILWARDEN_KIT", os.path.join(ROOT, "..", "shared"))
TARGET = os.environ["CARGO_TARGET_DIR"]
MESSAGES = int(os.environ.get("MESSAGES", "10000"))


def main():
    cpu = subprocess.run([os.path.join(TARGET, "release/delivery"), KIT, "10000", "10"], capture_output=True, text=True, check=True)
    cpu = json.loads(cpu.stdout)
    print(f"CPU per record: delivery {cpu['delivery_us_per_record']:.2f} us, gzip alone {cpu['gzip_alone_us_per_record']:.2f} us, ratio {cpu['ratio_to_gzip_alone']:.2f} ({cpu['records']} records)", flush=True)

    records = []
    for f in sorted(glob.glob(os.path.join(KIT, "data/cloudtrail/invictus-ir/*.json"))):
        records.extend(json.load(open(f))["Records"])
    rng = random.Random(3)
    now_ms = int(time.time() * 1000)
    msgs = []
    for i in range(MESSAGES):
        r = rng.choice(records)
        body = {"version": "0", "id": f"e-{i}", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "account": r["recipientAccountId"],
                "time": r["eventTime"], "region": r["awsRegion"], "resources": [], "detail": r}
        msgs.append({"messageId": f"m-{i:06d}", "receiptHandle": "x", "body": json.dumps(body), "attributes": {"SentTimestamp": str(now_ms)},
                     "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
    event = os.path.join(tempfile.mkdtemp(prefix="tw-delivery-"), "event.json")
    with open(event, "w") as fh:
        json.dump({"Records": msgs}, fh)
    size = os.path.getsize(event)

    moto, port = start_moto()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench-trail")
        out = subprocess.run([os.path.join(TARGET, "release/lambda-host"), os.path.join(TARGET, "release/log-delivery"), event,
                              f"AWS_ENDPOINT_URL={endpoint}", "TRAIL_BUCKET=bench-trail", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        if r["response"] != {"batchItemFailures": []}:
            sys.exit(f"delivery failed: {r}")
        print(f"log-delivery, one {MESSAGES}-message batch ({size / 1e6:.1f} MB event): peak RSS {r['peak_rss_kib'] / 1024:.1f} MiB, handler {r['handler_ms']:.0f} ms, cold start {r['cold_start_ms']:.1f} ms")
        print(json.dumps({"cpu": cpu, "rss_10k_batch_mib": r["peak_rss_kib"] / 1024, "event_bytes": size, "handler_ms": r["handler_ms"]}, indent=1))
    finally:
        moto.terminate()


if __name__ == "__main__":
    main()
