#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every path the docs name exists. Checked in README.md, the components'
# README.md and docs/*.md: markdown links, and backquoted names of the
# repository's files: a path starting at a top-level folder, any path of a
# source, doc, config or script file (found relative to the repository, the
# document's folder, or as the tail of a repository path: `engine/plan.h`),
# and a bare source, doc or script name (found anywhere in the repository).
# Not checked: Slurm plugin names (sched/backfill), files inside a running
# cluster's or job's directory, placeholders in capitals (DIR/...), and
# Slurm's own source tree (src/..., debian/...).
#
# Usage: scripts/check-doc-paths.sh [REPO]   (exit 1, one line per missing path)
set -uo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$repo" || exit 2
files=$(find . \( -name .git -o -name build -o -name 'build-*' -o -name .deps \) -prune -o \
  -print | sed 's|^\./||')
top_dirs=$(find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name build ! -name 'build-*' \
  -printf '%f\n' | paste -sd'|')

exists() { # PATH DOC_DIR
  local path=$1 dir=$2
  [ -e "$path" ] || [ -e "$dir/$path" ] && return 0
  case $path in
    */*) grep -qxF -e "$path" <<<"$files" || grep -qE "(^|/)${path//./\\.}/?$" <<<"$files" ;;
    *) grep -qE "(^|/)${path//./\\.}$" <<<"$files" ;;
  esac
}

problems=$(for doc in README.md */README.md docs/*.md; do
  [ -f "$doc" ] || continue
  dir=$(dirname "$doc")
  {
    # [text](target) links, without anchors and web addresses.
    grep -oE '\]\([^) ]+\)' "$doc" | sed -E 's/^\]\(//; s/\)$//; s/#.*$//' |
      grep -vE '^(https?:|mailto:|$)'
    # `path` names of repository files.
    grep -oE '`[A-Za-z0-9_.@/-]+`' "$doc" | tr -d '`' |
      grep -E "^($top_dirs)/|/.*\.(h|cpp|md|sh|cmake)$|^[A-Za-z0-9_.-]+\.(h|cpp|md|sh)$" |
      grep -vE '^(src|debian)/|[A-Z]{2,}/|@|\*'
  } | sort -u | while read -r path; do
    exists "$path" "$dir" || echo "$doc: names $path, which does not exist"
  done
done)
[ -z "$problems" ] && exit 0
echo "$problems" >&2
exit 1
