"""Validation benchmark, side by side with the AWS CLI (run by scripts/bench/validate.sh).

On the kit's default chain (../shared/bench/gen_chain.py: 24 digests, 288 log files, 144,000
records) uploaded to a local moto_server:
  (1) CPU time of `trailwarden validate-logs` vs `aws cloudtrail validate-logs` vs the floor
      (gunzip + SHA-256 of the same log files in-process, benches/src/bin/floor.rs);
  (2) wall time of both with 20 ms added to every S3 request by a latency proxy on 127.0.0.1.
Each measurement is the median of REPEAT runs, all in one run of this script.
"""
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIT = os.environ.get("TRAILWARDEN_KIT", os.path.join(ROOT, "..", "shared"))
TARGET = os.environ["CARGO_TARGET_DIR"]
VENV_BIN = os.path.dirname(os.environ["MOTO_SERVER"])
REPEAT = int(os.environ.get("REPEAT", "3"))
DELAY_MS = float(os.environ.get("DELAY_MS", "20"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listening on {port}")


def timed(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p


def main():
    work = tempfile.mkdtemp(prefix="tw-bench-")
    chain = os.path.join(work, "chain")
    print("generating the chain (gen_chain.py defaults) ...", flush=True)
    subprocess.run([os.path.join(VENV_BIN, "python"), os.path.join(KIT, "bench/gen_chain.py"), "--out", chain], check=True, stdout=subprocess.DEVNULL)
    args = open(os.path.join(chain, "validate-logs-args.txt")).read().split()
    moto_port = free_port()
    moto = subprocess.Popen([os.environ["MOTO_SERVER"], "-H", "127.0.0.1", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy_port = free_port()
    proxy = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/bench/latency_proxy.py"), str(proxy_port), str(moto_port), str(DELAY_MS)])
    # The same bucket served concurrently from disk (moto answers one request at a time), behind
    # its own latency proxy: the client-side comparison the 20 ms case is about.
    static_port = free_port()
    static = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/bench/static_s3.py"), chain, str(static_port)])
    sproxy_port = free_port()
    sproxy = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/bench/latency_proxy.py"), str(sproxy_port), str(static_port), str(DELAY_MS)])
    try:
        wait_port(moto_port)
        wait_port(proxy_port)
        wait_port(static_port)
        wait_port(sproxy_port)
        direct = f"http://127.0.0.1:{moto_port}"
        s3 = boto3.client("s3", endpoint_url=direct, region_name="us-east-1")
        bucket_dir = os.path.join(chain, "ct-bucket")
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
        print(f"uploaded {n} objects to moto_server", flush=True)
        keys = os.path.join(chain, "ListPublicKeys.json")
        ours = [os.path.join(TARGET, "release/trailwarden"), "validate-logs", *args, "--public-key", keys]
        theirs = [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "scripts/awscli_validate.py"), "cloudtrail", "validate-logs", *args]
        results = {}
        for label, endpoint in (("direct", direct), ("latency", f"http://127.0.0.1:{proxy_port}"), ("static+latency", f"http://127.0.0.1:{sproxy_port}")):
            env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ENDPOINT_URL_S3=endpoint, TRAILWARDEN_PUBLIC_KEYS=keys)
            for name, cmd in (("trailwarden", ours), ("awscli", theirs)):
                runs = []
                for _ in range(REPEAT):
                    wall, cpu, p = timed(cmd, env)
                    if p.returncode != 0 or "288/288 log files valid" not in p.stdout:
                        sys.exit(f"{name} did not validate the chain:\n{p.stdout}\n{p.stderr}")
                    runs.append((wall, cpu))
                results[(label, name)] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
                print(f"{label:8s} {name:12s} wall {results[(label, name)][0]:.3f} s  cpu {results[(label, name)][1]:.3f} s", flush=True)
        floors = []
        for _ in range(REPEAT):
            out = subprocess.run([os.path.join(TARGET, "release/floor"), bucket_dir], capture_output=True, text=True, check=True)
            floors.append(json.loads(out.stdout)["cpu_seconds"])
        floor = statistics.median(floors)
        print(f"floor (gunzip + SHA-256 in-process) cpu {floor:.3f} s", flush=True)
        ours_cpu = results[("direct", "trailwarden")][1]
        summary = {
            "files": n,
            "cpu_trailwarden_s": ours_cpu,
            "cpu_awscli_s": results[("direct", "awscli")][1],
            "cpu_floor_s": floor,
            "cpu_ratio_trailwarden_to_floor": ours_cpu / floor,
            "cpu_ratio_awscli_to_trailwarden": results[("direct", "awscli")][1] / ours_cpu,
            "wall_direct_trailwarden_s": results[("direct", "trailwarden")][0],
            "wall_direct_awscli_s": results[("direct", "awscli")][0],
            "wall_latency_trailwarden_s": results[("latency", "trailwarden")][0],
            "wall_latency_awscli_s": results[("latency", "awscli")][0],
            "wall_latency_speedup": results[("latency", "awscli")][0] / results[("latency", "trailwarden")][0],
            "wall_static_latency_trailwarden_s": results[("static+latency", "trailwarden")][0],
            "wall_static_latency_awscli_s": results[("static+latency", "awscli")][0],
            "wall_static_latency_speedup": results[("static+latency", "awscli")][0] / results[("static+latency", "trailwarden")][0],
            "delay_ms": DELAY_MS,
            "repeat": REPEAT,
        }
        print(json.dumps(summary, indent=1))
    finally:
        for p in (proxy, sproxy, static, moto):
            p.terminate()


if __name__ == "__main__":
    main()
