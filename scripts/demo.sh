#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The demo: bring up a 4-node local Slurm cluster with Converge's plugins,
# run the example workflow (examples/workflows/demo.json: a dns3d simulation
# writing its fields to Kapok, their analysis on Topo (InterMap stencils
# over a grid partitioned across the ranks), a completion from the TD-Pipe
# inference service conditioned on the analysis, publishing the results) in one allocation that shares Kapok among its steps, show what
# ran where and what it produced, and bring everything down again (also on
# failure or Ctrl-C). The workflow is submitted by an unprivileged user
# (converge-demo, made if missing), as a site's users submit theirs.
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bin
dir=${CONVERGE_DEMO_DIR:-/var/tmp/converge-demo}
port=${CONVERGE_DEMO_PORT:-16917}
user=${CONVERGE_DEMO_USER:-converge-demo}
cluster() { "$bin/converge-cluster" --dir "$dir" "$@"; }
section() { printf '\n== %s\n' "$*"; }

started=$(date +%s)
trap 'section "bringing the cluster down"; cluster down' EXIT

section "bringing up a 4-node cluster in $dir"
cluster up --hosts --nodes 4 --port-base "$port"
export SLURM_CONF=$dir/etc/slurm.conf
cluster status

work=$dir/workflow
rm -rf "$work"
"$repo/scripts/job-user.sh" "$user" "$bin" "$dir/etc" --own "$work"
install -o "$user" -g "$user" -m 0644 "$repo/examples/workflows/demo.json" "$work/demo.json"
section "running the workflow as user $user: converge-run examples/workflows/demo.json"
status=0
(cd "$work" && setpriv --reuid="$user" --regid="$user" --init-groups \
  "$bin/converge-run" "$work/demo.json") || status=$?

run=$work/demo.run
job=$(sed -n 's/.*"job": "\([0-9]*\)".*/\1/p' "$run/state.json" | head -1)
section "how job $job ran"
scontrol show job "$job" | grep -E 'JobState|NodeList=|NumNodes' | sed 's/^ */  /'
echo "  scheduled by: $(grep -o "sched/converge: job $job .*" "$dir/log/slurmctld.log" | tail -1)"
echo "  placed by:    $(grep -o "select/converge: job $job .*" "$dir/log/slurmctld.log" | tail -1)"
echo "  services (converge-launch, before the first step):"
sed 's/^/    /' "$dir/jobs/$job/logs/launch.log"

section "what it produced"
grep -h '^dns3d:' "$run/logs/simulate.log" | sed 's/^/  /' || true
grep -h -A8 '^dns3d-analyse:' "$run/logs/analyse.log" | sed 's/^/  /' || true
if [[ -f $run/results/completion.json ]]; then
  echo "  TD-Pipe's completion for the analysis (stories260K, token ids; no tokenizer ships with it):"
  sed -n 's/.*"token_ids":\[\([^]]*\)\].*"finish_reason":"\([a-z]*\)".*/    \1 (\2)/p; s/.*"finish_reason":"\([a-z]*\)".*"token_ids":\[\([^]]*\)\].*/    \2 (\1)/p' \
    "$run/results/completion.json" | fold -w 100 | sed '2,$s/^/    /'
fi
echo "  results kept after the job (Kapok lives only as long as its job): $run/results"
ls -l "$run/results" 2>/dev/null | sed 's/^/    /' || true

section "demo finished in $(( $(date +%s) - started )) s: workflow $([[ $status == 0 ]] && echo succeeded || echo FAILED)"
exit "$status"
