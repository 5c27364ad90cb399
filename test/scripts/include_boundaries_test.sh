#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/check-include-boundaries.sh passes a tree that keeps the rules and
# names each include that breaks one.
set -uo pipefail
check=$(cd "$(dirname "$0")/../.." && pwd)/scripts/check-include-boundaries.sh
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{kapok/include/kapok/client,kapok/daemon,launcher,libconverge/src,topo/core,test/unit/kapok}
touch "$tree"/kapok/include/kapok/client/client.h "$tree"/kapok/daemon/engine.h
echo '#include "kapok/daemon/engine.h"' >"$tree"/kapok/daemon/engine.cpp
echo '#include "kapok/daemon/engine.h"' >"$tree"/test/unit/kapok/engine_test.cpp
echo '#include "kapok/client/client.h"' >"$tree"/launcher/good.cpp
out=$("$check" "$tree") || { echo "FAIL: a clean tree was refused: $out"; exit 1; }

echo '#include "kapok/daemon/engine.h"' >"$tree"/launcher/bad.cpp
echo '#include "kapok/client/client.h"' >"$tree"/libconverge/src/bad.cpp
echo '#include "kapok/client/client.h"' >"$tree"/topo/core/bad.cpp
out=$("$check" "$tree") && { echo "FAIL: violations passed: $out"; exit 1; }
for expected in "launcher/bad.cpp:1: includes kapok/daemon/engine.h, private to kapok" \
  "libconverge/src/bad.cpp:1: includes kapok/client/client.h: libconverge may not use kapok" \
  "topo/core/bad.cpp:1: includes kapok/client/client.h: topo may not use kapok" \
  "3 include(s) cross a component boundary"; do
  grep -qF "$expected" <<<"$out" || { echo "FAIL: missing \"$expected\" in: $out"; exit 1; }
done
echo "ok"
