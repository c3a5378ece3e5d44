"""Validation benchmark, side by side with the AWS CLI (run by scripts/bench/validate.sh).

On the kit's default chain (../shared/bench/gen_chain.py: 24 digests, 288 log files, 144,000
records), served two ways on 127.0.0.1:
  - moto_server (the project's emulator; answers one request at a time, closes every connection);
  - s3-static (benches/src/bin/s3-static.rs: a concurrent read-only S3 serving the chain's
    directory, HTTP/1.1 keep-alive), standing in for S3's own concurrency;
and measures
  (1) CPU time of `trailwarden validate-logs` vs `aws cloudtrail validate-logs` vs the floor
      (gunzip + SHA-256 of the same log files in-process, benches/src/bin/floor.rs);
  (2) wall time of both with DELAY_MS (20) added to every S3 request by a latency proxy
      (benches/src/bin/latency-proxy.rs), in front of each server; both tools go through the
      same proxy to the same server.
Each measurement is the median of REPEAT runs, all in one run of this script.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from localnet import start_moto  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIT = os.environ.get("TRAILWARDEN_KIT", os.path.join(ROOT, "..", "shared"))
TARGET = os.environ["CARGO_TARGET_DIR"]
VENV_BIN = os.path.dirname(os.environ["MOTO_SERVER"])
REPEAT = int(os.environ.get("REPEAT", "3"))
DELAY_MS = float(os.environ.get("DELAY_MS", "20"))
# Our --concurrency (requests in flight); empty: the CLI's default.
CONCURRENCY = os.environ.get("CONCURRENCY", "")
# The chain: HOURS digests (gen_chain.py's default 24; 720 = 30 days, issue 7's load case) of
# 12 log files each. SETUPS: which servers to run against (default all four).
HOURS = int(os.environ.get("HOURS", "24"))
SETUPS = os.environ.get("SETUPS", "moto,moto+latency,static,static+latency").split(",")


def timed(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p


def native(name, *args):
    """Starts one of the bench servers (127.0.0.1, a free port it picks itself); it stops by itself
    when its stdin (held here) closes. Returns the process and its port."""
    p = subprocess.Popen([os.path.join(TARGET, "release", name), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on "):
        p.kill()
        sys.exit(f"{name} did not start: {line!r}")
    return p, int(line.split()[-1])


def upload(endpoint, bucket_dir):
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="ct-bucket")
    n = 0
    for dirpath, _, files in os.walk(bucket_dir):
        for f in files:
            if f.endswith(".metadata.json"):
                continue
            path = os.path.join(dirpath, f)
            key = os.path.relpath(path, bucket_dir)
            meta = {}
            if os.path.exists(path + ".metadata.json"):
                meta = json.load(open(path + ".metadata.json"))
            s3.put_object(Bucket="ct-bucket", Key=key, Body=open(path, "rb").read(), Metadata=meta)
            n += 1
    return n


def main():
    work = tempfile.mkdtemp(prefix="tw-bench-")
    chain = os.path.join(work, "chain")
    print(f"generating the chain (gen_chain.py, {HOURS} hours) ...", flush=True)
    subprocess.run([os.path.join(VENV_BIN, "python"), os.path.join(KIT, "bench/gen_chain.py"), "--out", chain, "--hours", str(HOURS)], check=True, stdout=subprocess.DEVNULL)
    args = open(os.path.join(chain, "validate-logs-args.txt")).read().split()
    bucket_dir = os.path.join(chain, "ct-bucket")
    moto, moto_port = start_moto()
    servers = [moto]
    try:
        static, static_port = native("s3-static", chain)
        servers.append(static)
        proxy, proxy_port = native("latency-proxy", str(moto_port), str(DELAY_MS))
        servers.append(proxy)
        sproxy, sproxy_port = native("latency-proxy", str(static_port), str(DELAY_MS))
        servers.append(sproxy)
        n = upload(f"http://127.0.0.1:{moto_port}", bucket_dir)
        print(f"uploaded {n} objects to moto_server; s3-static serves the same directory", flush=True)
        keys = os.path.join(chain, "ListPublicKeys.json")
        ours = [os.path.join(TARGET, "release/trailwarden"), "validate-logs", *args, "--public-key", keys]
        if CONCURRENCY:
            ours += ["--concurrency", CONCURRENCY]
        theirs = [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "scripts/awscli_validate.py"), "cloudtrail", "validate-logs", *args]
        results = {}
        setups = tuple((label, endpoint) for label, endpoint in (
            ("moto", f"http://127.0.0.1:{moto_port}"),
            ("moto+latency", f"http://127.0.0.1:{proxy_port}"),
            ("static", f"http://127.0.0.1:{static_port}"),
            ("static+latency", f"http://127.0.0.1:{sproxy_port}"),
        ) if label in SETUPS)
        logs = n - HOURS
        for label, endpoint in setups:
            env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ENDPOINT_URL_S3=endpoint, TRAILWARDEN_PUBLIC_KEYS=keys)
            for name, cmd in (("trailwarden", ours), ("awscli", theirs)):
                runs = []
                for _ in range(REPEAT):
                    wall, cpu, p = timed(cmd, env)
                    if p.returncode != 0 or f"{HOURS}/{HOURS} digest files valid" not in p.stdout or f"{logs}/{logs} log files valid" not in p.stdout:
                        sys.exit(f"{name} did not validate the chain ({label}):\n{p.stdout}\n{p.stderr}")
                    runs.append((wall, cpu))
                results[(label, name)] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
                print(f"{label:15s} {name:12s} wall {results[(label, name)][0]:.3f} s  cpu {results[(label, name)][1]:.3f} s  (runs: {', '.join(f'{w:.3f}/{c:.3f}' for w, c in runs)})", flush=True)
        floors = []
        for _ in range(REPEAT):
            out = subprocess.run([os.path.join(TARGET, "release/floor"), bucket_dir], capture_output=True, text=True, check=True)
            floors.append(json.loads(out.stdout)["cpu_seconds"])
        floor = statistics.median(floors)
        print(f"floor (gunzip + SHA-256 in-process) cpu {floor:.3f} s (runs: {', '.join(f'{f:.3f}' for f in floors)})", flush=True)
        summary = {"files": n, "hours": HOURS, "delay_ms": DELAY_MS, "repeat": REPEAT, "concurrency": CONCURRENCY or "default", "cpu_floor_s": floor}
        for label, _ in setups:
            tw, aws = results[(label, "trailwarden")], results[(label, "awscli")]
            key = label.replace("+", "_")
            summary[f"{key}_trailwarden_wall_s"] = tw[0]
            summary[f"{key}_trailwarden_cpu_s"] = tw[1]
            summary[f"{key}_awscli_wall_s"] = aws[0]
            summary[f"{key}_awscli_cpu_s"] = aws[1]
            summary[f"{key}_wall_speedup"] = aws[0] / tw[0]
            summary[f"{key}_cpu_trailwarden_to_floor"] = tw[1] / floor
        summary["loadavg_at_end"] = os.getloadavg()
        print(json.dumps(summary, indent=1))
    finally:
        moto.terminate()
        for p in servers[1:]:
            try:
                p.stdin.close()
            except OSError:
                pass
        for p in servers:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()

if __name__ == "__main__":
    main()
