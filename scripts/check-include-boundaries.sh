#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# No source includes across a forbidden boundary (docs/architecture.md):
#   - libconverge and the Slurm plugins include no component (kapok, topo,
#     tdpipe); a component includes no other component;
#   - launcher/, admin/ and examples/ include only components' public headers
#     (COMPONENT/include/COMPONENT/...);
#   - a component's private headers ("kapok/daemon/...", resolved from the
#     source root) are included only by that component and its own tests
#     (test/unit/COMPONENT/, test/*/COMPONENT_*) and fuzz targets
#     (fuzz/COMPONENT_*).
#
# Usage: scripts/check-include-boundaries.sh [REPO]   (exit 1, one line per violation)
set -uo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$repo" || exit 2
components="kapok topo tdpipe"

# Which components a top-level folder may include at all.
allowed() { # OWNER COMPONENT
  case $1 in
    libconverge | slurm-plugins) return 1 ;;
    launcher | admin | examples | test | fuzz) return 0 ;;
    *) [ "$1" = "$2" ] ;;
  esac
}

# The component a test file belongs to, if any.
test_owner() { # PATH
  local c
  for c in $components; do
    case $1 in
      test/unit/"$c"/* | test/*/"$c"_* | fuzz/"$c"_*) echo "$c"; return ;;
    esac
  done
  echo test
}

violations=0
while IFS= read -r -d '' file; do
  owner=${file%%/*}
  [ "$owner" = test ] || [ "$owner" = fuzz ] && owner=$(test_owner "$file")
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    number=${line%%:*}
    header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    component=${header%%/*}
    if ! allowed "$owner" "$component"; then
      echo "$file:$number: includes $header: ${file%%/*} may not use $component"
      violations=$((violations + 1))
    elif [ ! -e "$component/include/$header" ] && [ "$owner" != "$component" ]; then
      echo "$file:$number: includes $header, private to $component (public headers are in $component/include/$component/)"
      violations=$((violations + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"(kapok|topo|tdpipe)/' "$file")
done < <(find . \( -name .git -o -name build -o -name 'build-*' -o -name .deps \) -prune -o \
  -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.c' \) -print0 | sed -z 's|^\./||')

if [ "$violations" -gt 0 ]; then
  echo "$violations include(s) cross a component boundary (see docs/architecture.md)"
  exit 1
fi
echo "include boundaries: no violations"
