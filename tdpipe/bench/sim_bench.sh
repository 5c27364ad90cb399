#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tdpipe-sim on every model shape and GPU: 5000 ShareGPT-like requests on
# 4 GPUs, TD-Pipe beside vLLM-style pipeline parallelism (without and with
# chunked prefill), chunked prefill over the whole cache and tensor
# parallelism in the same run; prints a Markdown table of output throughput
# and TD-Pipe's ratio to each baseline.
#   tdpipe/bench/sim_bench.sh [BUILD_DIR] [extra tdpipe-sim options]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")/../.." && pwd)
sim="$build/bin/tdpipe-sim"
profile="$here/tdpipe/data/llm_layer_profile_h200.csv"
echo "| GPU | model | TD-Pipe tok/s | vLLM PP | vLLM PP chunked | chunked | TP | vs PP | vs PP chunked | vs chunked | vs TP | switches |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for gpu in h200 a100 l20; do
  for model in llama2-13b llama2-34b llama2-70b; do
    "$sim" --profile "$profile" --gpu "$gpu" --model "$model" --requests 5000 "$@" |
      awk -v gpu="$gpu" -v model="$model" '
        $1 == "tdpipe" { td = $2; sw = $7 }
        $1 == "vllm-pp" { pp = $2 }
        $1 == "vllm-chunked" { vc = $2 }
        $1 == "chunked" { ch = $2 }
        $1 == "tp" { tp = $2 }
        END { printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.2fx | %.2fx | %d |\n",
                     gpu, model, td, pp, vc, ch, tp, td / pp, td / vc, td / ch, td / tp, sw }'
  done
done
