#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Topo's applications against their baselines, side by side in one run:
#   WordCount, PageRank, KMeans: topo-apps vs the hand-written MPI programs
#     (topo/bench/baselines/*_mpi.cpp) vs Dask (topo/bench/dask_apps.py, a
#     local cluster of single-threaded worker processes), same inputs, same
#     number of ranks / workers;
#   stencil analysis (dns3d-analyse) and GaBP: InterMap vs the same
#     algorithm written with shuffles in Topo (--formulation shuffle), and
#     the stencil analysis also vs dns3d-analyse-mpi.
# Each measurement is the program's own "seconds:" (input read to result;
# start-up of mpiexec or of the Dask cluster not counted), ROUNDS rounds
# interleaved, medians reported with ratios.
#
#   topo/bench/apps_bench.sh                     # from the repository root, after make
#   RANKS=2 ROUNDS=3 TEXT_MB=64 VERTICES=500000 EDGES=4000000 POINTS=2000000 \
#     GRID=96 GABP_GRID=64 topo/bench/apps_bench.sh
set -euo pipefail
BIN=${BIN:-build/bin}
RANKS=${RANKS:-2}
ROUNDS=${ROUNDS:-3}
TEXT_MB=${TEXT_MB:-64}
VERTICES=${VERTICES:-500000}
EDGES=${EDGES:-4000000}
POINTS=${POINTS:-2000000}
GRID=${GRID:-96}
GABP_GRID=${GABP_GRID:-64}
DATA=${DATA:-/var/tmp/topo-bench-inputs}
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader} HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--pci}

# Dask and numpy from Debian's archive.
if ! /usr/bin/python3 -c 'import dask.distributed, numpy' 2>/dev/null; then
  echo "installing python3-dask python3-distributed python3-numpy (apt)"
  apt-get install -y -qq python3-dask python3-distributed python3-numpy python3-pandas >/dev/null
fi

stamp="$TEXT_MB-$VERTICES-$EDGES-$POINTS"
if [[ ! -f $DATA/$stamp ]]; then
  echo "making inputs in $DATA"
  rm -rf "$DATA" && mkdir -p "$DATA"
  /usr/bin/python3 "$here/make_inputs.py" "$DATA" --text-mb "$TEXT_MB" --vertices "$VERTICES" \
    --edges "$EDGES" --points "$POINTS" --dims 4 --k 8
  mpiexec --allow-run-as-root --oversubscribe -n "$RANKS" "$BIN/dns3d" --n "$GRID" --steps 40 \
    --output-every 20 --out "$DATA/dns3d" >/dev/null
  touch "$DATA/$stamp"
fi

mpi() { mpiexec --allow-run-as-root --oversubscribe -n "$RANKS" "$@"; }
seconds() { "$@" 2>&1 | sed -n 's/^seconds: //p; s/.*(Topo, [a-z]*, \([0-9.]*\) s).*/\1/p; s/.*(MPI, \([0-9.]*\) s).*/\1/p' | tail -1; }
declare -A times
run() {  # name command...
  local s
  s=$(seconds "${@:2}")
  [[ -n $s ]] || { echo "no result from: ${*:2}" >&2; exit 1; }
  times[$1]+="$s "
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS"
  run wc.topo mpi "$BIN/topo-apps" wordcount --input "$DATA/words.txt"
  run wc.mpi mpi "$BIN/wordcount-mpi" "$DATA/words.txt"
  run wc.dask /usr/bin/python3 "$here/dask_apps.py" wordcount "$DATA/words.txt" "$RANKS"
  run pr.topo mpi "$BIN/topo-apps" pagerank --edges "$DATA/edges.bin" --vertices "$VERTICES"
  run pr.mpi mpi "$BIN/pagerank-mpi" "$DATA/edges.bin" "$VERTICES"
  run pr.dask /usr/bin/python3 "$here/dask_apps.py" pagerank "$DATA/edges.bin" "$VERTICES" "$RANKS"
  run km.topo mpi "$BIN/topo-apps" kmeans --points "$DATA/points.bin" --dims 4 --k 8
  run km.mpi mpi "$BIN/kmeans-mpi" "$DATA/points.bin" 4 8
  run km.dask /usr/bin/python3 "$here/dask_apps.py" kmeans "$DATA/points.bin" 4 8 "$RANKS"
  run st.topo mpi "$BIN/dns3d-analyse" --in "$DATA/dns3d"
  run st.shuffle mpi "$BIN/dns3d-analyse" --in "$DATA/dns3d" --formulation shuffle
  run st.mpi mpi "$BIN/dns3d-analyse-mpi" --in "$DATA/dns3d"
  run gabp.topo mpi "$BIN/topo-apps" gabp --grid "$GABP_GRID"
  run gabp.shuffle mpi "$BIN/topo-apps" gabp --grid "$GABP_GRID" --formulation shuffle
done

m() { echo "${times[$1]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", b / a}'; }
echo
echo "$RANKS ranks/workers, medians of $ROUNDS rounds (seconds); ratio = baseline / Topo"
printf '%-22s %10s %12s %10s %12s %10s\n' app topo "hand MPI" "MPI/topo" Dask "Dask/topo"
for app in wc:WordCount pr:PageRank km:KMeans; do
  k=${app%%:*} name=${app#*:}
  printf '%-22s %10.3f %12.3f %10s %12.3f %10s\n' "$name" "$(m $k.topo)" "$(m $k.mpi)" \
    "$(ratio "$(m $k.topo)" "$(m $k.mpi)")" "$(m $k.dask)" "$(ratio "$(m $k.topo)" "$(m $k.dask)")"
done
printf '\n%-22s %10s %12s %14s\n' algorithm InterMap shuffles "shuffles/InterMap"
printf '%-22s %10.3f %12.3f %14s\n' "stencil ($GRID^3 x 2)" "$(m st.topo)" "$(m st.shuffle)" "$(ratio "$(m st.topo)" "$(m st.shuffle)")"
printf '%-22s %10.3f %12.3f %14s\n' "GaBP ($GABP_GRID^2)" "$(m gabp.topo)" "$(m gabp.shuffle)" "$(ratio "$(m gabp.topo)" "$(m gabp.shuffle)")"
printf '%-22s %10.3f %12s %14s\n' "stencil, hand MPI" "$(m st.mpi)" "" "MPI/InterMap $(ratio "$(m st.topo)" "$(m st.mpi)")"
