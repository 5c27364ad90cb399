#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The demo: bring up a 4-node local Slurm cluster with Converge's plugins,
# run a converged simulation job across two nodes, show where and how it
# ran, and bring the cluster down again (also on failure or Ctrl-C).
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bin
dir=${CONVERGE_DEMO_DIR:-/var/tmp/converge-demo}
port=${CONVERGE_DEMO_PORT:-16917}
cluster() { "$bin/converge-cluster" --dir "$dir" "$@"; }
section() { printf '\n== %s\n' "$*"; }

started=$(date +%s)
trap 'section "bringing the cluster down"; cluster down' EXIT

section "bringing up a 4-node cluster in $dir"
cluster up --nodes 4 --port-base "$port"
export SLURM_CONF=$dir/etc/slurm.conf
cluster status

section "submitting: sbatch --converge-type=sim -N2 --ntasks-per-node=2 examples/heat1d/sim-job.sh"
out=$dir/demo-job.out
# --wait returns the job's exit code; the job's state is checked at the end.
job=$(sbatch --parsable --wait --converge-type=sim -N2 --ntasks-per-node=2 --job-name=converge-demo \
  -o "$out" "$repo/examples/heat1d/sim-job.sh" "$bin") || true
job=${job%%;*}
cat "$out"

section "how job $job ran"
scontrol show job "$job" | grep -E 'JobState|NodeList=|BatchHost|NumNodes|TRES=' | sed 's/^ */  /'
echo "  scheduled by: $(grep -o "sched/converge: job $job .*" "$dir/log/slurmctld.log" | tail -1)"
echo "  placed by:    $(grep -o "select/converge: job $job .*" "$dir/log/slurmctld.log" | tail -1)"
nodes=$(scontrol show job "$job" | sed -n 's/^ *NodeList=\(\S*\).*/\1/p')
echo "  switches:     $(scontrol show topology "$nodes" | awk '{print $1, $NF}' | paste -sd';' | sed 's/;/; /g')"

state=$(scontrol show job "$job" | sed -n 's/.*JobState=\(\S*\).*/\1/p')
section "demo finished in $(( $(date +%s) - started )) s: job $job $state"
[[ $state == COMPLETED ]]
