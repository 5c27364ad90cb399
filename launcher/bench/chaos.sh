#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Longer chaos trials than `make test` runs: TRIALS of each kind (scancel at a
# random moment, kill -9 of a service during bring-up and after readiness, a
# service crashing at start, one never ready, the time limit during
# bring-up), as an unprivileged user, on a fresh 4-node test cluster. Prints
# per kind and in total the drained nodes, leftover processes, leftover
# mounts and failed next jobs (all 0 is the only good answer).
# Uses the integration tests' cluster directory (build/test-cluster): not
# while `make test` runs in the same build.
#
# Usage: launcher/bench/chaos.sh [BUILD_DIR] [TRIALS_PER_KIND]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
trials=${2:-20}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bin
dir=$build/test-cluster
port_base=${CHAOS_PORT_BASE:-36817} # apart from make test's 26817, so a running suite is not disturbed
cluster() { "$bin/converge-cluster" --dir "$dir" "$@"; }

unset SLURM_CONF
cluster down >/dev/null
rm -rf "$dir"
trap 'cluster down >/dev/null' EXIT
cluster up --nodes 4 --port-base "$port_base"
"$repo/scripts/job-user.sh" converge-test "$bin" "$dir/etc" --own "$dir/test-output"
started=$(date +%s)
CONVERGE_CHAOS_TRIALS=$trials "$bin/integration_tests" --gtest_filter='Chaos.*' 2>&1 |
  tee "$build/chaos.log" | grep -E '^\[ +(OK|FAILED) +\]|^chaos|^  [a-z]'
echo "chaos: $(($(date +%s) - started)) s; full log in $build/chaos.log"
grep -q '^\[  PASSED  \] 6 tests' "$build/chaos.log"
