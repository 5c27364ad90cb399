#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Side by side: the same converged job mix on an 8-node local cluster (4
# leaf switches of 2 nodes, 2 CPUs per node, a GPU on n7 and n8) under
# Converge's plugins and under Slurm's stock ones (sched/backfill +
# select/cons_tres + topology/tree). Prints a table: mean and p95 wait,
# the mean wait per class, leaf switches per multi-node job, the makespan,
# and the controller's CPU: scheduler
# time from sdiag (main + backfill cycles) and slurmctld's utime + stime
# from /proc. Both runs use SchedulerParameters=$SCHED_PARAMS (default
# batch_sched_delay=0).
#
# The mix, submitted back to back in one fixed shuffled order (seed 7):
#   16 sim jobs: 10 x 2 nodes (4 of them --converge-comm=heavy), 6 x 4 nodes,
#      8-12 s each;
#   80 big-data jobs, 1 CPU, 1-3 s (16 of them --converge-priority=realtime);
#    2 AI jobs with --gres=gpu:1, 20 s.
# The Converge options are given in both runs (the SPANK plugin is loaded
# in both), so the submissions are identical; stock Slurm ignores them.
#
# Usage: slurm-plugins/bench/job_mix.sh BUILD_DIR OUT_DIR [ROUNDS]
set -euo pipefail
build=$(cd "${1:?usage: job_mix.sh BUILD_DIR OUT_DIR [ROUNDS]}" && pwd)
out=${2:?usage: job_mix.sh BUILD_DIR OUT_DIR [ROUNDS]}
rounds=${3:-1}
mkdir -p "$out" && out=$(cd "$out" && pwd)
bin=$build/bin
ticks=$(getconf CLK_TCK)
: > "$out/job_mix.jsonl"

# The submissions, one sbatch argument list per line.
python3 - > "$out/mix.txt" <<'PY'
import random
rng = random.Random(7)
jobs = []
for i in range(10):
    heavy = " --converge-comm=heavy" if i < 4 else ""
    jobs.append(f"--converge-type=sim{heavy} -N2 --wrap 'sleep {rng.randint(8, 12)}'")
for i in range(6):
    jobs.append(f"--converge-type=sim -N4 --wrap 'sleep {rng.randint(8, 12)}'")
for i in range(80):
    rt = " --converge-priority=realtime" if i % 5 == 0 else ""
    jobs.append(f"--converge-type=bigdata{rt} -n1 --wrap 'sleep {rng.randint(1, 3)}'")
for i in range(2):
    jobs.append("--converge-type=ai --gres=gpu:1 -n1 --wrap 'sleep 20'")
rng.shuffle(jobs)
print("\n".join(jobs))
PY

cpu_seconds() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
# Microseconds the main scheduler and backfill spent, from sdiag.
sched_us() {
  sdiag | awk '
    /^Main schedule statistics/ {s = "main"} /^Backfilling stats/ {s = "bf"}
    s == "main" && /Total cycles:/ {mc = $3} s == "main" && /Mean cycle:/ {mm = $3}
    s == "bf" && /Total cycles:/ {bc = $3} s == "bf" && /Mean cycle:/ {bm = $3}
    END {printf "%d\n", mc * mm + bc * bm}'
}

for round in $(seq "$rounds"); do
  for mode in ${MODES:-stock converge}; do
    dir=/var/tmp/converge-jobmix-$mode
    flags=(--nodes 8 --gpu-nodes 2 --port-base 19300 --scheduler-parameters "${SCHED_PARAMS:-batch_sched_delay=0}")
    [[ $mode == stock ]] && flags+=(--stock)
    "$bin/converge-cluster" --dir "$dir" down >/dev/null 2>&1 || true
    rm -rf "$dir"
    "$bin/converge-cluster" --dir "$dir" up "${flags[@]}" >/dev/null
    export SLURM_CONF=$dir/etc/slurm.conf
    ctld=$(cut -d' ' -f1 "$dir/run/slurmctld.pid")
    sdiag -r >/dev/null
    cpu0=$(cpu_seconds "$ctld")
    : > "$out/$mode.squeue"
    while IFS= read -r args; do
      eval "sbatch -Q -o /dev/null $args"
    done < "$out/mix.txt"
    # Jobs stay visible for MinJobAge (60 s) after they end: sample until none runs or waits.
    while true; do
      squeue -h -t all -o '%i|%V|%S|%e|%N|%T|%D' >> "$out/$mode.squeue"
      [[ -z $(squeue -h -t PD,R,CG -o %i | head -1) ]] && break
      sleep 0.5
    done
    cpu1=$(cpu_seconds "$ctld")
    sched=$(sched_us)
    python3 - "$out/$mode.squeue" "$mode" "$round" "$cpu0" "$cpu1" "$sched" "$out/mix.txt" >> "$out/job_mix.jsonl" <<'PY'
import datetime, json, statistics, sys, subprocess
path, mode, rnd, cpu0, cpu1, sched, mix = sys.argv[1:]
# Job ids follow the submission order of mix.txt (a fresh cluster each run).
classes = []
for line in open(mix):
    kind = line.split("--converge-type=")[1].split()[0]
    if "realtime" in line:
        kind = "realtime"
    classes.append(kind)
last = {}
for line in open(path):
    f = line.rstrip("\n").split("|")
    if len(f) == 7:
        last[f[0]] = f
def t(s):
    return datetime.datetime.fromisoformat(s).timestamp()
waits, leaves = [], []
by_class = {}
first_id = min(int(j) for j in last)
for job, (i, submit, start, end, nodes, state, count) in last.items():
    if state != "COMPLETED" or start in ("N/A", "Unknown"):
        continue
    waits.append(t(start) - t(submit))
    by_class.setdefault(classes[int(job) - first_id], []).append(waits[-1])
    if int(count) > 1:
        names = subprocess.run(["scontrol", "show", "hostnames", nodes], capture_output=True, text=True).stdout.split()
        leaves.append(len({(int(n[1:]) - 1) // 2 for n in names}))
waits.sort()
p95 = waits[min(len(waits) - 1, int(0.95 * len(waits)))]
first = min(t(f[1]) for f in last.values())
done = max(t(f[3]) for f in last.values() if f[3] not in ("N/A", "Unknown"))
print(json.dumps({"mode": mode, "round": int(rnd), "jobs": len(last), "completed": len(waits),
                  "mean_wait_s": round(statistics.mean(waits), 2), "p95_wait_s": p95,
                  "leaf_switches_per_multinode_job": round(statistics.mean(leaves), 2),
                  "makespan_s": round(done - first, 1),
                  **{"wait_%s_s" % k: round(statistics.mean(v), 2) for k, v in sorted(by_class.items())},
                  "sdiag_sched_s": round(int(sched) / 1e6, 3),
                  "ctld_cpu_s": round(float(cpu1) - float(cpu0), 2)}))
PY
    tail -1 "$out/job_mix.jsonl"
    "$bin/converge-cluster" --dir "$dir" down >/dev/null
  done
done

python3 - "$out/job_mix.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["mean_wait_s", "p95_wait_s", "wait_sim_s", "wait_bigdata_s", "wait_realtime_s", "wait_ai_s",
        "leaf_switches_per_multinode_job", "makespan_s", "sdiag_sched_s", "ctld_cpu_s"]
print("| plugins | rounds | mean wait (s) | p95 wait (s) | sim wait | batch big-data wait | real-time wait | AI wait | leaf switches per multi-node job | makespan (s) | sdiag scheduler CPU (s) | slurmctld CPU (s) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
med = {}
for mode in ("stock", "converge"):
    r = [x for x in rows if x["mode"] == mode]
    if not r:
        continue
    med[mode] = {k: statistics.median(x[k] for x in r) for k in keys}
    print("| %s | %d | %s |" % (mode, len(r), " | ".join("%.2f" % med[mode][k] for k in keys)))
if len(med) == 2:
  print("converge / stock: " + ", ".join("%s %.2fx" % (k, med["converge"][k] / med["stock"][k]) for k in keys if med["stock"][k]))
PY
