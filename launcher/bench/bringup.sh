#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bring-up time of Kapok under converge-launch on 4 and 16 virtual nodes,
# beside its floor: a plain `srun --overlap -N N true` step in the same job
# (Slurm's own cost of starting one task per node). Each job repeats both
# ROUNDS times; the table gives medians and the ratio, JSON lines go to
# OUT/bringup.jsonl.
# Usage: launcher/bench/bringup.sh BUILD_DIR OUT_DIR [ROUNDS]
set -euo pipefail
build=$(cd "${1:?usage: bringup.sh BUILD_DIR OUT_DIR [ROUNDS]}" && pwd)
out=${2:?usage: bringup.sh BUILD_DIR OUT_DIR [ROUNDS]}
rounds=${3:-7}
mkdir -p "$out" && out=$(cd "$out" && pwd)
bin=$build/bin
: > "$out/bringup.jsonl"

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for nodes in 4 16; do
  dir=/var/tmp/converge-bench-$nodes
  "$bin/converge-cluster" --dir "$dir" down >/dev/null 2>&1 || true
  rm -rf "$dir"
  "$bin/converge-cluster" --dir "$dir" up --nodes "$nodes" --port-base $((18000 + nodes * 10)) >/dev/null
  export SLURM_CONF=$dir/etc/slurm.conf
  cat > "$out/job-$nodes.sh" <<JOB
#!/bin/bash
set -e
now() { date +%s.%N; }
since() { awk -v a="\$1" -v b="\$(now)" 'BEGIN { printf "%.4f", b - a }'; }
for i in \$(seq $rounds); do
  t0=\$(now); srun --overlap -N $nodes --ntasks-per-node=1 true; echo "srun_true \$(since \$t0)"
  t0=\$(now); $bin/converge-launch up --services kapok --quiet >/dev/null; t=\$(since \$t0)
  echo "up \$t \$(sed -n 's/.*"bring_up_ms": \([0-9]*\).*/\1/p' \$CONVERGE_JOB_DIR/services.json)"
  t0=\$(now); $bin/converge-launch down >/dev/null; echo "down \$(since \$t0)"
done
JOB
  job=$(sbatch --parsable -N "$nodes" -o "$out/job-$nodes.out" "$out/job-$nodes.sh")
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do sleep 0.5; done
  up=$(awk '$1 == "up" {print $2}' "$out/job-$nodes.out" | median)
  inside=$(awk '$1 == "up" {print $3 / 1000}' "$out/job-$nodes.out" | median)
  base=$(awk '$1 == "srun_true" {print $2}' "$out/job-$nodes.out" | median)
  down=$(awk '$1 == "down" {print $2}' "$out/job-$nodes.out" | median)
  runs=$(grep -c '^up ' "$out/job-$nodes.out" || true)
  printf '{"nodes": %d, "rounds": %d, "up_s": %s, "services_s": %s, "srun_true_s": %s, "down_s": %s}\n' \
    "$nodes" "$runs" "$up" "$inside" "$base" "$down" >> "$out/bringup.jsonl"
  "$bin/converge-cluster" --dir "$dir" down >/dev/null
done

printf '%6s %7s %10s %14s %14s %10s %8s\n' nodes rounds "up (s)" "in step (s)" "srun true (s)" "down (s)" "up/srun"
while read -r line; do
  echo "$line" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("%6d %7d %10.3f %14.3f %14.3f %10.3f %8.2f" % (r["nodes"], r["rounds"], r["up_s"], r["services_s"],
      r["srun_true_s"], r["down_s"], r["up_s"] / r["srun_true_s"]))'
done < "$out/bringup.jsonl"
