#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# MUNGE for tests that run outside a local cluster (the RPC layer's unit
# tests, a local Kapok instance): every Converge connection is authenticated
# with a MUNGE credential, so munged must answer. "up" starts munged when
# none answers (creating the host's key if it has none) and records that it
# did in DIR; "down" stops only a munged that "up" started, and only when no
# local cluster is still using it. Needs root to start munged.
#
# Usage: scripts/munge-fixture.sh up|down DIR
set -euo pipefail

die() { echo "munge-fixture: $*" >&2; exit 1; }
[[ $# -eq 2 ]] || die "usage: munge-fixture.sh up|down DIR"
action=$1
dir=$2
pid_file=$dir/munged.pid

case $action in
up)
  munge -n >/dev/null 2>&1 && exit 0
  [[ $(id -u) -eq 0 ]] || die "munged is not running and starting it needs root"
  mkdir -p "$dir" /run/munge
  if [[ ! -f /etc/munge/munge.key ]]; then
    mungekey --create --keyfile /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
  fi
  chown munge:munge /run/munge
  setpriv --reuid=munge --regid=munge --init-groups munged --foreground \
    >"$dir/munged.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 100); do
    munge -n >/dev/null 2>&1 && exit 0
    sleep 0.1
  done
  die "munged did not come up: $(tail -n 1 "$dir/munged.log")"
  ;;
down)
  [[ -f $pid_file ]] || exit 0
  pid=$(cat "$pid_file")
  rm -f "$pid_file"
  # A local cluster started after "up" uses this munged rather than its own.
  if grep -lsz '^CONVERGE_CLUSTER_DIR=' /proc/[0-9]*/environ >/dev/null 2>&1; then
    echo "munge-fixture: munged left running for a local cluster"
    exit 0
  fi
  kill "$pid" 2>/dev/null || exit 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  ;;
*) die "unknown action $action (up or down)" ;;
esac
