#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Placement and isolation in seconds: a communication-bound 4-node job on an
# 8-node cluster of hosts (`converge-cluster up --hosts`: 4 leaf switches of
# 2 nodes under a spine, every leaf's uplink limited to $UPLINK_RATE, every
# node's link to $LINK_RATE), placed by Converge's plugins and by Slurm's
# stock ones (sched/backfill + select/cons_tres + topology/tree), side by
# side in each round. The job is dns3d (pencil FFTs: all-to-all transposes)
# or heat1d (halo exchange), one rank per node, submitted with
# --converge-comm=heavy (stock Slurm ignores the option). Scenarios:
#
#   alone       the job on an empty cluster.
#   fragmented  history left a streaming neighbour (mpi-stream, 2 nodes) on
#               n1 and n3: the cluster was full, those two nodes freed first
#               and the neighbour started there, then the rest freed. The
#               neighbour's traffic fills the uplinks of leaves 1 and 2.
#   shared      small jobs hold one CPU on each of n5..n8; the job starts,
#               then a streaming neighbour of 4 nodes arrives.
#
# Every job, the neighbours included, is placed by the scheduler (only the
# filler jobs name their nodes). Each run records the job's seconds (srun
# inside the job), its nodes and leaf switches, the leaves it shares with the
# neighbour, and the bytes on all uplinks while it ran (`converge-cluster
# links --json`). JSON lines go to OUT/placement.jsonl, the table of medians
# to OUT/placement.md.
#
# Usage: slurm-plugins/bench/placement.sh BUILD_DIR OUT_DIR [ROUNDS]
set -euo pipefail
usage="usage: placement.sh BUILD_DIR OUT_DIR [ROUNDS]"
build=$(cd "${1:?$usage}" && pwd)
out=${2:?$usage}
rounds=${3:-5}
mkdir -p "$out" && out=$(cd "$out" && pwd)
bin=$build/bin
uplink_rate=${UPLINK_RATE:-100mbit}
link_rate=${LINK_RATE:-1gbit}
port=${PORT_BASE:-19400}
dns3d_args=${DNS3D_ARGS:---n 64 --steps 10 --grid 2x2}
heat1d_args=${HEAT1D_ARGS:---cells 4096 --steps 500 --tolerance 1}
limit_s=${JOB_LIMIT_S:-300}
# Ranks share this host's cores with every other node's: spinning ranks
# would measure the CPU scheduler, not the network.
export OMPI_MCA_btl=self,tcp OMPI_MCA_mpi_yield_when_idle=1
: > "$out/placement.jsonl"

leaves_of() {  # n1,n3,n5 -> 0 1 2 (2 nodes per leaf)
  scontrol show hostnames "$1" | sed 's/^n//' | awk '{print int(($1 - 1) / 2)}' | sort -u | xargs
}
uplink_bytes() {
  "$bin/converge-cluster" --dir "$dir" links --json | python3 -c '
import json, sys
print(sum(l["upward_bytes"] + l["downward_bytes"] for l in json.load(sys.stdin)["links"] if l["kind"] == "uplink"))'
}
wait_until() {  # wait_until SECONDS COMMAND...: polls every 0.2 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || { echo "placement.sh: timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}
running() { [[ $(squeue -h -j "$1" -o %T 2>/dev/null) == RUNNING ]]; }
all_running() { local j; for j in "$@"; do running "$j" || return 1; done; }
only_running() {  # only these jobs are left (ended ones gone from the nodes)
  [[ $(squeue -h -t R,CG,PD -o %i | sort | xargs) == $(printf '%s\n' "$@" | sort | xargs) ]]
}
idle() { [[ -z $(squeue -h -t R,CG,PD -o %i) ]]; }
submit() { sbatch --parsable -o /dev/null "$@"; }
nodes_of() { squeue -h -j "$1" -o %N; }

neighbour() {  # neighbour NODES: a streaming job, placed by the scheduler
  submit -J neighbour -N "$1" --ntasks-per-node=1 --wrap "srun --mpi=pmix $bin/mpi-stream"
}

# Each scenario prepares the cluster, starts the job (its id in $job) and
# sets $near (the neighbour's id, if any) once the neighbour runs.
scenario_alone() { near=""; job=$(start_job); }
scenario_fragmented() {
  local -a fill
  local k
  for k in 1 2 3 4 5 6 7 8; do fill+=("$(submit --exclusive -N1 -w "n$k" --wrap 'sleep 900')"); done
  wait_until 60 all_running "${fill[@]}"
  scancel "${fill[0]}" "${fill[2]}"
  wait_until 60 only_running "${fill[@]:1:1}" "${fill[@]:3}"
  near=$(neighbour 2)
  wait_until 60 running "$near"
  scancel "${fill[1]}" "${fill[@]:3}"
  wait_until 60 only_running "$near"
  job=$(start_job)
}
scenario_shared() {
  local -a fill
  local k
  for k in 5 6 7 8; do fill+=("$(submit -N1 -n1 -w "n$k" --wrap 'sleep 900')"); done
  wait_until 60 all_running "${fill[@]}"
  job=$(start_job)
  wait_until 60 running "$job"
  near=$(neighbour 4)
  wait_until 60 running "$near"
}

start_job() {
  local args=$dns3d_args exe=dns3d
  [[ $app == heat1d ]] && args=$heat1d_args exe=heat1d
  submit -J "$app" -o "$out/job.out" --converge-type=sim --converge-comm=heavy -N4 \
    --ntasks-per-node=1 --wrap "t0=\$(date +%s.%N)
timeout $limit_s srun --mpi=pmix $bin/$exe $args >/dev/null
rc=\$?
echo \"SECONDS \$(awk -v t0=\$t0 -v t1=\$(date +%s.%N) 'BEGIN {print t1 - t0}') RC \$rc\""
}

run_one() {
  local mode=$1 round=$2 scenario=$3 app=$4
  rm -f "$out/job.out"
  local bytes0 bytes1 job near
  bytes0=$(uplink_bytes)
  "scenario_$scenario"
  wait_until $((limit_s + 60)) running "$job" || true
  local nodes near_nodes=""
  nodes=$(nodes_of "$job")
  [[ -n $near ]] && near_nodes=$(nodes_of "$near")
  wait_until $((limit_s + 60)) test -s "$out/job.out"
  bytes1=$(uplink_bytes)
  local seconds rc
  read -r _ seconds _ rc < <(grep '^SECONDS' "$out/job.out")
  local mine theirs shared=0 l
  mine=$(leaves_of "$nodes")
  theirs=$([[ -n $near_nodes ]] && leaves_of "$near_nodes" || true)
  for l in $mine; do [[ " $theirs " == *" $l "* ]] && shared=$((shared + 1)); done
  printf '{"mode":"%s","round":%d,"scenario":"%s","app":"%s","seconds":%s,"rc":%d,"nodes":"%s","leaves":%d,"neighbour":"%s","shared_leaves":%d,"uplink_mib":%.1f}\n' \
    "$mode" "$round" "$scenario" "$app" "$seconds" "$rc" "$nodes" "$(wc -w <<< "$mine")" \
    "$near_nodes" "$shared" "$(awk -v a="$bytes0" -v b="$bytes1" 'BEGIN {print (b - a) / 1048576}')" | tee -a "$out/placement.jsonl"
  scancel -u "$(id -un)"
  wait_until 60 idle
}

for round in $(seq "$rounds"); do
  for mode in ${MODES:-stock converge}; do
    dir=/var/tmp/converge-placement-$mode
    flags=(--nodes 8 --hosts --uplink-rate "$uplink_rate" --link-rate "$link_rate" --port-base "$port")
    [[ $mode == stock ]] && flags+=(--stock)
    "$bin/converge-cluster" --dir "$dir" down > /dev/null 2>&1 || true
    rm -rf "$dir"
    "$bin/converge-cluster" --dir "$dir" up "${flags[@]}" > /dev/null
    export SLURM_CONF=$dir/etc/slurm.conf
    for scenario in ${SCENARIOS:-alone fragmented shared}; do
      for app in ${APPS:-dns3d heat1d}; do
        run_one "$mode" "$round" "$scenario" "$app"
      done
    done
    "$bin/converge-cluster" --dir "$dir" down > /dev/null
  done
done

python3 - "$out/placement.jsonl" "$uplink_rate" > "$out/placement.md" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"uplinks at {sys.argv[2]}; medians of {max(r['round'] for r in runs)} rounds\n")
print("| scenario | job | stock s | Converge s | stock / Converge | stock leaves shared with the neighbour | Converge's | uplink MiB stock | Converge |")
print("|---|---|---|---|---|---|---|---|---|")
keys = []
for r in runs:
    if (r["scenario"], r["app"]) not in keys:
        keys.append((r["scenario"], r["app"]))
def med(scenario, app, mode, field):
    v = [r[field] for r in runs if (r["scenario"], r["app"], r["mode"]) == (scenario, app, mode) and r["rc"] == 0]
    return statistics.median(v) if v else float("nan")
for scenario, app in keys:
    s, c = med(scenario, app, "stock", "seconds"), med(scenario, app, "converge", "seconds")
    print(f"| {scenario} | {app} | {s:.2f} | {c:.2f} | {s / c:.2f}x | "
          f"{med(scenario, app, 'stock', 'shared_leaves'):.0f} | {med(scenario, app, 'converge', 'shared_leaves'):.0f} | "
          f"{med(scenario, app, 'stock', 'uplink_mib'):.1f} | {med(scenario, app, 'converge', 'uplink_mib'):.1f} |")
failed = [r for r in runs if r["rc"] != 0]
if failed:
    print(f"\n{len(failed)} run(s) failed or hit the time limit:")
    for r in failed:
        print(f"- {r['mode']} round {r['round']} {r['scenario']} {r['app']}: rc {r['rc']} on {r['nodes']}")
PY
cat "$out/placement.md"
