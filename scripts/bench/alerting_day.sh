#!/usr/bin/env bash
# Alerting over a day of logs of a busy account (issue 7): RECORDS (default 10,000,000) records
# spread over 24 hours, generated (seeded) by the filter_cis benchmark from the kit's real records
# as gzip log files of 500 records, then
#   1. filter_cis over the same files: in-process gunzip alone vs gunzip + the 15 CIS filters
#      (thread CPU time, one round);
#   2. `trailwarden replay` over the directory for that day (release): the 15 CIS filters and
#      their alarms evaluated every minute, as the function would have; CPU (user+sys), wall
#      and peak RSS from /usr/bin/time;
#   3. `gzip -dc` of the same files (the command-line baseline), CPU and wall.
# Ratios are printed at the end. Needs ~2.5 GB of disk per 10 M records (DIR, default under
# TMPDIR) and ~3 GB of memory for step 1 (it holds the compressed files in memory).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
RECORDS=${RECORDS:-10000000}
DIR=${DIR:-${TMPDIR:-/tmp}/trailwarden-day-$RECORDS}
OUT="$DIR.out"   # results beside the corpus, not in it (replay reads every .json below DIR)
mkdir -p "$OUT"
cargo build --release --bin trailwarden -p trailwarden-cli
log "corpus: $RECORDS records over 24 h in $DIR"
cargo bench -p trailwarden-shared --bench filter_cis -- --bench --generate-only \
  --records "$RECORDS" --per-file 500 --span-hours 24 --no-ndjson --dir "$DIR"
log "1. filter_cis: gunzip alone vs gunzip + 15 CIS filters"
cargo bench -p trailwarden-shared --bench filter_cis -- --bench \
  --records "$RECORDS" --per-file 500 --span-hours 24 --no-ndjson --dir "$DIR" --rounds 1 \
  | tee "$OUT/filter_cis.txt"
log "2. trailwarden replay over the day"
/usr/bin/time -f "%e %U %S %M" -o "$OUT/replay.time" \
  "$CARGO_TARGET_DIR/release/trailwarden" replay "$DIR" \
  --start-time 2024-05-01T00:00:00Z --end-time 2024-05-02T00:00:00Z --output json >"$OUT/replay.json"
log "3. gzip -dc of the same files"
/usr/bin/time -f "%e %U %S %M" -o "$OUT/gzip.time" \
  sh -c "find '$DIR' -name '*.json.gz' -print0 | sort -z | xargs -0 cat | gzip -dc >/dev/null"
python3 - "$OUT" <<'PY'
import json, re, sys
d = sys.argv[1]
def t(name):
    wall, user, sys_, rss = open(f"{d}/{name}").read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss)
rw, rc, rrss = t("replay.time")
gw, gc, _ = t("gzip.time")
bench = open(f"{d}/filter_cis.txt").read()
r = json.load(open(f"{d}/replay.json"))
print(f"\nrecords {r['records']:,} in {r['files']:,} files, {r['start']} to {r['end']}")
print(f"replay (15 CIS filters + alarms every minute): wall {rw:.1f} s, CPU {rc:.1f} s "
      f"({rc / max(r['records'], 1) * 1e9:.0f} ns/record), peak RSS {rrss / 1024:.1f} MiB")
print(f"gzip -dc of the same files: wall {gw:.1f} s, CPU {gc:.1f} s -> replay CPU / gzip -dc CPU = {rc / gc:.2f}x")
m = re.search(r"gunzip alone[^\n]*?([0-9.]+) s", bench)
if m:
    g = float(m.group(1))
    print(f"in-process gunzip alone (filter_cis): {g:.2f} s CPU -> replay CPU / in-process gunzip = {rc / g:.2f}x")
for f, a in zip(r["filters"], r["alarms"]):
    alarms = sum(1 for x in a["transitions"] if x["newState"] == "ALARM")
    print(f"  {f['filterName']:<32} {f['matches']:>9,} matches, {alarms:>4} times to ALARM")
PY
