#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Clang's thread-safety analysis (-Wthread-safety) over every translation
# unit that uses converge/mutex.h, directly or through a header that does:
# a member read or written without the mutex that guards it, or a function
# called without the lock it requires, is an error. The build itself uses
# GCC, which ignores the annotations; this runs clang++ -fsyntax-only with
# the same flags, from BUILD/compile_commands.json.
#
# Usage: scripts/check-thread-safety.sh BUILD_DIR   (exit 1 on any finding)
set -uo pipefail
build=$(cd "${1:?usage: check-thread-safety.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
commands=$build/compile_commands.json
[ -f "$commands" ] || { echo "no $commands (configure with CMAKE_EXPORT_COMPILE_COMMANDS)"; exit 2; }
command -v clang++ >/dev/null || { echo "clang++ not found: install Debian package clang"; exit 2; }

# Headers that bring the mutex in, then the sources that include any of them.
cd "$repo" || exit 2
users=$(grep -rlE '#include "converge/mutex.h"' --include=*.h libconverge kapok topo tdpipe launcher \
  slurm-plugins | sed -E 's|.*/include/||; s|^[^/]+/||' | paste -sd'|')
pattern="#include \"(converge/mutex.h|.*(${users}))\""

findings=0 checked=0
command_line=""
while IFS= read -r line; do
  case $line in
    # JSON-unescaped: \\ to \ and \" to " (a -DNAME=\"text\" stays shell-quoted).
    *'"command":'*) command_line=$(sed -E 's/^[[:space:]]*"command": "(.*)",?$/\1/; s/\\\\/\x01/g; s/\\"/"/g; s/\x01/\\/g' <<<"$line") ;;
    *'"file":'*)
      file=$(sed -E 's/^[[:space:]]*"file": "(.*)",?$/\1/' <<<"$line")
      grep -qE "$pattern" "$file" || continue
      checked=$((checked + 1))
      # Same flags, clang++, syntax only; GCC-only warnings and -Werror dropped.
      args=$(sed -E 's/^[^ ]+ //; s/ -o [^ ]+//; s/ -c / /; s/ -Werror( |$)/ /' <<<"$command_line")
      out=$(cd "$build" && eval "clang++ $args -fsyntax-only -Wno-unknown-warning-option \
        -Wthread-safety -Werror=thread-safety" 2>&1 | grep -E 'error:|-Wthread-safety')
      if [ -n "$out" ]; then
        echo "$out"
        findings=$((findings + 1))
      fi
      ;;
  esac
done <"$commands"

if [ "$checked" -eq 0 ]; then
  echo "no translation unit uses converge/mutex.h: nothing checked"
  exit 1
fi
if [ "$findings" -gt 0 ]; then
  echo "thread-safety analysis: findings in $findings of $checked files"
  exit 1
fi
echo "thread-safety analysis: $checked files clean"
