#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Big-data throughput: JOBS one-CPU jobs running `true`, submitted back to
# back on a 4-node local cluster (2 CPUs per node), timed from the first
# submission to the last completion, on Slurm's stock plugins (sched/backfill
# + select/cons_tres) and on Converge's, both with
# SchedulerParameters=batch_sched_delay=0. Also the controller's CPU time
# (utime + stime of slurmctld over the run) per job. JSON lines go to
# OUT/throughput.jsonl.
# Usage: slurm-plugins/bench/throughput.sh BUILD_DIR OUT_DIR [JOBS] [ROUNDS]
set -euo pipefail
build=$(cd "${1:?usage: throughput.sh BUILD_DIR OUT_DIR [JOBS] [ROUNDS]}" && pwd)
out=${2:?usage: throughput.sh BUILD_DIR OUT_DIR [JOBS] [ROUNDS]}
jobs=${3:-300}
rounds=${4:-3}
mkdir -p "$out" && out=$(cd "$out" && pwd)
bin=$build/bin
: > "$out/throughput.jsonl"
ticks=$(getconf CLK_TCK)

cpu_seconds() {  # utime + stime of a process
  awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"
}

for mode in ${MODES:-stock converge}; do
  dir=/var/tmp/converge-throughput-$mode
  flags=(--nodes 4 --port-base 19100 --scheduler-parameters batch_sched_delay=0)
  [[ $mode == stock ]] && flags+=(--stock)
  "$bin/converge-cluster" --dir "$dir" down >/dev/null 2>&1 || true
  rm -rf "$dir"
  "$bin/converge-cluster" --dir "$dir" up "${flags[@]}" >/dev/null
  export SLURM_CONF=$dir/etc/slurm.conf
  ctld=$(cut -d' ' -f1 "$dir/run/slurmctld.pid")
  type=()
  [[ $mode == converge ]] && type=(--converge-type=bigdata)
  for round in $(seq "$rounds"); do
    cpu0=$(cpu_seconds "$ctld")
    t0=$(date +%s.%N)
    for i in $(seq "$jobs"); do
      sbatch -Q -n1 -o /dev/null "${type[@]}" --wrap true
    done
    t_submitted=$(date +%s.%N)
    while [[ -n $(squeue -h -o %i 2>/dev/null | head -1) ]]; do sleep 0.05; done
    t1=$(date +%s.%N)
    cpu1=$(cpu_seconds "$ctld")
    awk -v m="$mode" -v r="$round" -v n="$jobs" -v t0="$t0" -v ts="$t_submitted" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" 'BEGIN {
      printf "{\"mode\": \"%s\", \"round\": %d, \"jobs\": %d, \"seconds\": %.3f, \"submit_seconds\": %.3f, \"jobs_per_s\": %.3f, \"ctld_cpu_s\": %.3f, \"ctld_cpu_ms_per_job\": %.3f}\n",
        m, r, n, t1 - t0, ts - t0, n / (t1 - t0), c1 - c0, 1000 * (c1 - c0) / n }' >> "$out/throughput.jsonl"
    tail -1 "$out/throughput.jsonl"
  done
  "$bin/converge-cluster" --dir "$dir" down >/dev/null
done

python3 - "$out/throughput.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
print("%-9s %6s %12s %10s %16s" % ("mode", "rounds", "jobs/s", "seconds", "ctld ms/job"))
for mode in ("stock", "converge"):
    r = [x for x in rows if x["mode"] == mode]
    med[mode] = {k: statistics.median(x[k] for x in r) for k in ("jobs_per_s", "seconds", "ctld_cpu_ms_per_job")}
    print("%-9s %6d %12.2f %10.2f %16.2f" % (mode, len(r), med[mode]["jobs_per_s"], med[mode]["seconds"], med[mode]["ctld_cpu_ms_per_job"]))
print("converge / stock: throughput %.2fx, controller CPU per job %.2fx" % (
    med["converge"]["jobs_per_s"] / med["stock"]["jobs_per_s"],
    med["converge"]["ctld_cpu_ms_per_job"] / med["stock"]["ctld_cpu_ms_per_job"]))
PY
