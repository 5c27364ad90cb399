#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The applications in Dask (Debian's python3-dask and python3-distributed),
# the Spark-style baseline of topo/bench/apps_bench.sh: the same inputs and
# algorithms as topo-apps, on a local cluster of WORKERS single-threaded
# worker processes (the same cores). Prints one JSON line with the seconds
# from reading the input to the result; the cluster's start-up is not
# counted.
#   dask_apps.py wordcount TEXT WORKERS
#   dask_apps.py pagerank EDGES VERTICES WORKERS [ITERATIONS]
#   dask_apps.py kmeans POINTS DIMS K WORKERS [ITERATIONS]
import json
import os
import sys
import time

import dask
import dask.bag as db
import numpy as np
from dask.distributed import Client, LocalCluster


def chunks(path, record_bytes, parts):
    """(offset, count) of `parts` blocks of whole records of a file."""
    n = os.path.getsize(path) // record_bytes
    return [(n * i // parts * record_bytes, n * (i + 1) // parts - n * i // parts) for i in range(parts)]


def load(path, dtype, width, offset, count):
    return np.fromfile(path, dtype=dtype, count=count * width, offset=offset).reshape(count, width)


def wordcount(path, workers):
    counts = db.read_text(path, blocksize="8MiB").str.split().flatten().frequencies().compute()
    return {"words": int(sum(c for _, c in counts)), "distinct": len(counts)}


def pagerank(path, n, workers, iterations):
    parts = [dask.delayed(load)(path, "<u8", 2, o, c) for o, c in chunks(path, 16, 4 * workers)]
    parts = dask.persist(*parts)

    def degrees(e):
        return np.bincount(e[:, 0].astype(np.int64), minlength=n)

    def incoming(e, share):
        return np.bincount(e[:, 1].astype(np.int64), weights=share[e[:, 0].astype(np.int64)], minlength=n)

    out = sum(dask.compute(*[dask.delayed(degrees)(e) for e in parts]))
    rank = np.full(n, 1.0 / n)
    d = 0.85
    for _ in range(iterations):
        share = np.where(out > 0, rank / np.maximum(out, 1), 0.0)
        dangling = rank[out == 0].sum()
        shared = dask.delayed(share)  # one copy in the graph for all tasks
        rank = (1 - d) / n + d * (sum(dask.compute(*[dask.delayed(incoming)(e, shared) for e in parts])) + dangling / n)
    return {"rank_sum": float(rank.sum())}


def kmeans(path, dims, k, workers, iterations):
    parts = [dask.delayed(load)(path, "<f8", dims, o, c) for o, c in chunks(path, 8 * dims, 4 * workers)]
    parts = dask.persist(*parts)
    centers = dask.compute(parts[0])[0][:k].copy()

    def partial(x, centers):
        d2 = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        nearest = d2.argmin(axis=1)
        sums = np.zeros((k, dims + 1))
        np.add.at(sums[:, :dims], nearest, x)
        sums[:, dims] = np.bincount(nearest, minlength=k)
        return sums

    for _ in range(iterations):
        total = sum(dask.compute(*[dask.delayed(partial)(x, centers) for x in parts]))
        counts = total[:, dims]
        mask = counts > 0
        centers[mask] = total[mask, :dims] / counts[mask, None]
    return {"first_center": centers[0][:2].tolist()}


def main():
    app = sys.argv[1]
    workers = int(sys.argv[{"wordcount": 3, "pagerank": 4, "kmeans": 5}[app]])
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        start = time.perf_counter()
        if app == "wordcount":
            result = wordcount(sys.argv[2], workers)
        elif app == "pagerank":
            result = pagerank(sys.argv[2], int(sys.argv[3]), workers,
                              int(sys.argv[5]) if len(sys.argv) > 5 else 20)
        else:
            result = kmeans(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), workers,
                            int(sys.argv[6]) if len(sys.argv) > 6 else 10)
        seconds = time.perf_counter() - start
    result.update({"app": app, "workers": workers, "seconds": seconds})
    print(json.dumps(result))
    print("seconds: %.4f" % seconds)


if __name__ == "__main__":
    main()
