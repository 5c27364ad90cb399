#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An independent check of the reference decoder: the same Llama forward
# pass written again in numpy, in float64, from the llama2.c format's
# definition, printing the greedy continuation of BOS. Its tokens for
# stories260K are the golden ones of test/unit/tdpipe (needs python3-numpy).
#   tdpipe/tools/reference_check.py MODEL.bin [STEPS]
import struct
import sys

import numpy as np

f = open(sys.argv[1], 'rb').read()
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
dim, hidden, L, H, KV, V, S = struct.unpack('7i', f[:28])
a = np.frombuffer(f[28:], dtype=np.float32)
hs = dim // H; kvd = hs * KV
o = 0
def take(*shape):
    global o
    n = int(np.prod(shape)); t = a[o:o+n].reshape(shape); o += n; return t
emb = take(V, dim); an = take(L, dim); wq = take(L, dim, dim); wk = take(L, kvd, dim); wv = take(L, kvd, dim); wo = take(L, dim, dim)
fn = take(L, dim); w1 = take(L, hidden, dim); w2 = take(L, dim, hidden); w3 = take(L, hidden, dim); final = take(dim)
def rms(x, w): return w * (x / np.sqrt((x * x).mean() + 1e-5))
def rope(v, pos):  # v: (heads, hs), pairs (2k, 2k+1)
    k = np.arange(hs // 2); f = 1.0 / 10000 ** (2 * k / hs); ang = pos * f
    c, s = np.cos(ang), np.sin(ang)
    a0, a1 = v[:, 0::2].copy(), v[:, 1::2].copy()
    out = v.copy(); out[:, 0::2] = a0 * c - a1 * s; out[:, 1::2] = a0 * s + a1 * c; return out
Kc = [[] for _ in range(L)]; Vc = [[] for _ in range(L)]
tok = 1; res = []
for pos in range(steps):
    x = emb[tok].astype(np.float64)
    for l in range(L):
        xb = rms(x, an[l])
        q = rope((wq[l] @ xb).reshape(H, hs), pos); k = rope((wk[l] @ xb).reshape(KV, hs), pos); v = (wv[l] @ xb).reshape(KV, hs)
        Kc[l].append(k); Vc[l].append(v)
        K = np.stack(Kc[l]); Vv = np.stack(Vc[l])  # (T, KV, hs)
        out = np.zeros((H, hs))
        for h in range(H):
            kvh = h // (H // KV)
            sc = K[:, kvh, :] @ q[h] / np.sqrt(hs); p = np.exp(sc - sc.max()); p /= p.sum()
            out[h] = p @ Vv[:, kvh, :]
        x = x + wo[l] @ out.reshape(-1)
        xb = rms(x, fn[l]); g = w1[l] @ xb; u = w3[l] @ xb
        x = x + w2[l] @ (g / (1 + np.exp(-g)) * u)
    logits = emb @ rms(x, final)
    tok = int(np.argmax(logits)); res.append(tok)
print(','.join(map(str, res)))
