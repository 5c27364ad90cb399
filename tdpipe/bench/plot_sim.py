#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Turns sim_bench.sh's Markdown table into a bar chart: each scheduler's
# output throughput relative to vLLM's pipeline parallelism, per GPU and
# model.  tdpipe/bench/sim_bench.sh build | tdpipe/bench/plot_sim.py OUT.svg
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = []
for line in sys.stdin:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 7 or not cells[2].replace(".", "").isdigit():
        continue
    gpu, model, td, pp, vc, ch, tp = cells[:7]
    rows.append((f"{gpu}\n{model.replace('llama2-', '')}", float(td), float(pp), float(vc),
                 float(ch), float(tp)))
if not rows:
    sys.exit("plot_sim.py: no table rows on stdin")
labels = [r[0] for r in rows]
series = {
    "TD-Pipe": [r[1] / r[2] for r in rows],
    "vLLM PP, chunked": [r[3] / r[2] for r in rows],
    "chunked prefill, whole cache": [r[4] / r[2] for r in rows],
    "tensor parallel": [r[5] / r[2] for r in rows],
}
fig, ax = plt.subplots(figsize=(10, 4))
width = 0.2
for i, (name, values) in enumerate(series.items()):
    ax.bar([x + (i - 1.5) * width for x in range(len(rows))], values, width, label=name)
ax.axhline(1.0, color="black", linewidth=0.8)
ax.set_xticks(range(len(rows)))
ax.set_xticklabels(labels, fontsize=8)
ax.set_ylabel("output tokens/s, x vLLM PP")
ax.set_title("tdpipe-sim: 5000 ShareGPT-like requests on 4 GPUs")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "tdpipe-sim.svg")
