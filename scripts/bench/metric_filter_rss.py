"""Peak RSS of the metric-filter-alarm function (run by scripts/bench/metric_filter_rss.sh).

Uploads one gzip CloudTrail log file (at least 50 MB uncompressed) to a bucket of a local
moto_server, then runs the release `metric-filter-alarm` binary through a local Lambda Runtime
API (benches/src/bin/lambda-host.rs) on the S3 object-created notification for it; the host
reports the process's peak RSS (wait4). Only 127.0.0.1 is contacted.

Usage: metric_filter_rss.py LOGFILE.json.gz   (CARGO_TARGET_DIR and MOTO_SERVER set)
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from localnet import start_moto  # noqa: E402

TARGET = os.environ["CARGO_TARGET_DIR"]
BUCKET = "bench-trail"
KEY = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T0005Z_benchRSS00000001.json.gz"


def main():
    path = sys.argv[1]
    body = open(path, "rb").read()
    plain = gzip.decompress(body)
    records = len(json.loads(plain)["Records"])
    if len(plain) < 50_000_000:
        sys.exit(f"{path}: {len(plain)} bytes uncompressed, want at least 50 MB")
    moto, port = start_moto()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
        event = {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T00:10:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "trail",
                   "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                   "object": {"key": KEY, "size": len(body), "sequencer": "0"}}}]}
        ev = os.path.join(tempfile.mkdtemp(prefix="tw-mfa-rss-"), "event.json")
        with open(ev, "w") as fh:
            json.dump(event, fh)
        out = subprocess.run([os.path.join(TARGET, "release/lambda-host"),
                              os.path.join(TARGET, "release/metric-filter-alarm"), ev,
                              f"AWS_ENDPOINT_URL={endpoint}", f"TRAIL_BUCKET={BUCKET}",
                              "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
                              "AWS_REGION=us-east-1", "RUST_LOG=warn"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"lambda-host failed: {out.stderr[-2000:]}")
        r = json.loads(out.stdout)
        resp = r.get("response")
        print(json.dumps({"response": resp}, indent=1)[:3000])
        print(f"metric-filter-alarm on one log file: {len(plain) / 1e6:.1f} MB uncompressed "
              f"({len(body) / 1e6:.1f} MB gzip, {records} records): peak RSS "
              f"{r['peak_rss_kib'] / 1024:.1f} MiB (target under 128 MB), handler "
              f"{r['handler_ms']:.0f} ms, cold start {r['cold_start_ms']:.1f} ms")
    finally:
        moto.terminate()


if __name__ == "__main__":
    main()
