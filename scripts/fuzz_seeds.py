#!/usr/bin/env python3
"""Writes the initial inputs of one fuzz target from real data (the reference kit
../shared/data, the repo's events/, the CIS patterns and the filter-pattern spec).

Usage: fuzz_seeds.py TARGET OUT_DIR

Every seed is at most 64 KB (large CloudTrail files are cut into record subsets). The seeds are
read by libFuzzer next to the committed corpus (fuzz/corpus/TARGET) and only the inputs that add
coverage survive the minimisation, so the committed corpus stays small.
"""
import base64
import gzip
import hashlib
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KIT = Path(os.environ.get("TRAILWARDEN_KIT", REPO / ".." / "shared")).resolve()
if not KIT.is_dir():  # a clone next to ../shared, or the kit mounted at /work/shared
    KIT = Path("/work/shared")
DATA = KIT / "data"
CAP = 64 * 1024


def write(out: Path, data: bytes) -> None:
    if len(data) > CAP:
        return
    name = hashlib.sha1(data).hexdigest()
    (out / name).write_bytes(data)


def load_json(p: Path):
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return json.loads(raw)
    except ValueError:
        out = []
        for line in raw.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


def records():
    """Every CloudTrail record of the kit, in file order."""
    files = sorted((DATA / "cloudtrail").rglob("*.json"))
    files += sorted((DATA / "integrity").rglob("CloudTrail/**/*.json.gz"))
    for f in files:
        doc = load_json(f)
        items = doc.get("Records", []) if isinstance(doc, dict) else doc
        for r in items if isinstance(items, list) else []:
            if isinstance(r, dict) and "eventName" not in r:
                r = r.get("detail") or r.get("event") or r.get("record") or r
            if isinstance(r, dict) and "eventName" in r:
                yield r


def record_subsets(limit=40):
    """Small Records files: 1, 2, 5 and 20 consecutive records, under the size cap."""
    recs = list(records())
    out = []
    step = max(1, len(recs) // limit)
    for n in (1, 2, 5, 20):
        for i in range(0, len(recs), step * n):
            doc = json.dumps({"Records": recs[i : i + n]}, separators=(",", ":")).encode()
            if len(doc) <= CAP:
                out.append(doc)
    return out


def cis_patterns():
    text = (REPO / "shared/src/filter/cis.rs").read_text()
    return re.findall(r'pattern: r#"(.*?)"#', text)


def spec_patterns():
    text = (KIT / "reference/filter-patterns.md").read_text()
    pats = set(re.findall(r"`([^`\n]+)`", text))
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        pats.update(l.strip() for l in block.splitlines() if l.strip())
    return sorted(p for p in pats if len(p) <= 1024)


def spec_messages():
    text = (KIT / "reference/filter-patterns.md").read_text()
    msgs = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        msgs.extend(l for l in block.splitlines() if l.strip())
    return msgs


def json_files(*dirs):
    for d in dirs:
        d = Path(d)
        if d.is_dir():
            yield from sorted(p for p in d.rglob("*.json") if p.is_file())


def main():
    target, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if target == "filter_pattern":
        for p in cis_patterns() + spec_patterns():
            write(out, p.encode())
    elif target == "filter_match":
        recs = [json.dumps(r, separators=(",", ":")) for r in list(records())[::25]]
        msgs = recs + spec_messages()
        pats = cis_patterns() + spec_patterns()
        for i, p in enumerate(pats):
            for m in msgs[i % 7 :: max(1, len(msgs) // 6)]:
                write(out, (p + "\n" + m).encode())
        for sub in record_subsets(10):
            for p in cis_patterns()[:3]:
                write(out, p.encode() + b"\n" + sub)
    elif target == "log_file":
        for sub in record_subsets():
            write(out, sub)
            write(out, gzip.compress(sub, mtime=0))
        for f in sorted((DATA / "integrity").rglob("CloudTrail/**/*.json.gz")):
            write(out, f.read_bytes())
    elif target == "digest":
        for f in sorted((DATA / "integrity").rglob("CloudTrail-Digest/**/*.json.gz")):
            write(out, f.read_bytes())
            write(out, gzip.decompress(f.read_bytes()))
    elif target == "config_item":
        for f in json_files(
            DATA / "config",
            DATA / "events/config-rule-invocations",
            DATA / "events/lambda-runtime-fixtures",
            REPO / "events/config-rule-evaluator",
        ):
            write(out, f.read_bytes())
    elif target == "events":
        for f in json_files(REPO / "events/log-delivery"):
            doc = load_json(f)
            for m in doc.get("Records", []) if isinstance(doc, dict) else []:
                write(out, b"S" + m.get("body", "").encode())
        for r in list(records())[::60]:
            write(out, b"S" + json.dumps(r).encode())
        for f in json_files(DATA / "events/eventbridge"):
            write(out, b"S" + f.read_bytes())
            write(out, b"R" + f.read_bytes())
        for f in json_files(DATA / "events/config-rule-invocations", REPO / "events/config-rule-evaluator"):
            write(out, b"C" + f.read_bytes())
        for f in json_files(REPO / "events/remediator"):
            write(out, b"R" + f.read_bytes())
        for f in json_files(REPO / "events/metric-filter-alarm"):
            data = f.read_bytes()
            if f.name.endswith(".decoded.json"):
                write(out, b"L" + data)
            else:
                write(out, b"A" + data)
        control = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
                   "logStream": "", "subscriptionFilters": [], "logEvents": [
                       {"id": "", "timestamp": 1688990487000, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}
        write(out, b"L" + json.dumps(control).encode())
    else:
        sys.exit(f"unknown target {target}")


if __name__ == "__main__":
    main()
