#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shuffle spill layouts on a local directory and on Kapok, side by side:
# brings up a local Kapok instance (4 metadata and 4 data servers, FUSE
# mount), runs shuffle-bench with RANKS ranks against both, stops Kapok.
#
#   topo/bench/shuffle_io.sh            # from the repository root, after make
#   RANKS=4 KIB=64 SHUFFLES=20 ROUNDS=5 JSON=/tmp/shuffle.jsonl topo/bench/shuffle_io.sh
set -eu
BIN=${BIN:-build/bin}
RANKS=${RANKS:-4}
KIB=${KIB:-64}
SHUFFLES=${SHUFFLES:-20}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-27500}
work=$(mktemp -d /tmp/shuffle-io.XXXXXX)
cleanup() {
  "$BIN/kapok-local" down --dir "$work/kapok" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
"$BIN/kapok-local" up --dir "$work/kapok" --base-port "$PORT" --mount "$work/kapok/mnt" >/dev/null
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
for dir in "$work/local" "$work/kapok/mnt/spill"; do
  mpiexec --allow-run-as-root --oversubscribe -n "$RANKS" "$BIN/shuffle-bench" --dir "$dir" \
    --kib "$KIB" --shuffles "$SHUFFLES" --rounds "$ROUNDS" ${JSON:+--json "$JSON"}
  echo
done
