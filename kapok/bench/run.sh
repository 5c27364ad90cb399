#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The benchmark run behind docs/kapok.md: a local Kapok instance (4 metadata
# and 4 data servers, FUSE mount), measured through FUSE, natively through
# libkapok, and a local directory for reference, in one run.
# Usage: kapok/bench/run.sh BUILD_DIR OUT_DIR
set -euo pipefail
bin=$(cd "${1:-build}" && pwd)/bin
out=$(mkdir -p "${2:-/tmp/kapok-bench}" && cd "${2:-/tmp/kapok-bench}" && pwd)
dir=$out/instance
local_dir=$out/local
json=$out/results.jsonl
rm -rf "$dir" "$local_dir" "$json"
mkdir -p "$local_dir"
trap '"$bin/kapok-local" down --dir "$dir" >/dev/null' EXIT
"$bin/kapok-local" up --dir "$dir" --mds 4 --ds 4 --base-port 7500 --mount "$dir/mnt"

targets=("--path $dir/mnt --label kapok-fuse" "--members $dir/members.json --label kapok-native"
         "--path $local_dir --label local-dir")
for target in "${targets[@]}"; do
  # shellcheck disable=SC2086
  {
    "$bin/kapok-bench" $target --json "$json" --clients 2 --files 1000 --size 4096 mdtest
    "$bin/kapok-bench" $target --json "$json" --clients 2 --files 1000 --size 4096 --unique-dirs mdtest
    "$bin/kapok-bench" $target --json "$json" --clients 2 --files 1000 --size 4096 --reads 4000 smallread
    "$bin/kapok-bench" $target --json "$json" --clients 2 --block 1048576 --blocks 32 ior
    "$bin/kapok-bench" $target --json "$json" --clients 2 --block 1048576 --blocks 32 --n-n ior
  }
done
echo "results: $json"
