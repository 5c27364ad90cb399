#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Inputs for topo/bench/apps_bench.sh, deterministic from a seed:
#   words.txt   lines of 10 words from a 20000-word vocabulary, Zipf-like;
#   edges.bin   (source, target) uint64 pairs of a random graph whose
#               in-degrees are skewed (some vertices are popular);
#   points.bin  float64 points of DIMS dimensions around K centres.
# Usage: make_inputs.py DIR [--text-mb 64] [--vertices 500000] [--edges 4000000]
#                           [--points 2000000] [--dims 4] [--k 8]
import argparse
import os

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--text-mb", type=int, default=64)
p.add_argument("--vertices", type=int, default=500000)
p.add_argument("--edges", type=int, default=4000000)
p.add_argument("--points", type=int, default=2000000)
p.add_argument("--dims", type=int, default=4)
p.add_argument("--k", type=int, default=8)
a = p.parse_args()
os.makedirs(a.dir, exist_ok=True)
rng = np.random.default_rng(7)

vocabulary = np.array(["w%x" % (i * 2654435761 % (1 << 32)) for i in range(20000)])
with open(os.path.join(a.dir, "words.txt"), "w") as out:
    written = 0
    while written < a.text_mb << 20:
        ids = np.minimum(rng.zipf(1.3, size=(20000, 10)) - 1, len(vocabulary) - 1)
        block = "\n".join(" ".join(row) for row in vocabulary[ids]) + "\n"
        out.write(block)
        written += len(block)

sources = rng.integers(0, a.vertices, size=a.edges, dtype=np.uint64)
targets = (rng.zipf(1.5, size=a.edges).astype(np.uint64) * 7919 + sources) % a.vertices
np.stack([sources, targets], axis=1).astype("<u8").tofile(os.path.join(a.dir, "edges.bin"))

centres = rng.uniform(-10, 10, size=(a.k, a.dims))
labels = rng.integers(0, a.k, size=a.points)
points = centres[labels] + rng.normal(0, 1, size=(a.points, a.dims))
points.astype("<f8").tofile(os.path.join(a.dir, "points.bin"))
