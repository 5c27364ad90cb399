#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The unprivileged user that the integration tests and the demo submit jobs
# as (root is kept for admin actions), so that what works for root but not
# for users shows up. Creates the user if it is missing, lets it reach the
# given paths (the programs, the cluster's configuration), and makes each
# --own DIR a directory it owns (where its jobs write their output).
# Idempotent.
#
# Usage: scripts/job-user.sh USER [--own DIR]... [PATH]...
set -euo pipefail

die() { echo "job-user: $*" >&2; exit 1; }
[[ $# -ge 1 ]] || die "usage: job-user.sh USER [--own DIR]... [PATH]..."
[[ $(id -u) -eq 0 ]] || die "making the test user needs root"
user=$1
shift

if ! id "$user" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "Converge test and demo jobs" "$user" ||
    die "cannot create user $user"
fi

as_user() { setpriv --reuid="$user" --regid="$user" --init-groups "$@"; }

# Grants search permission on each ancestor of PATH the user cannot pass
# (a clone under /root, say): to this user only, with an ACL where the file
# system has them.
reach() {
  local path
  path=$(readlink -f "$1")
  local at=""
  IFS=/ read -ra parts <<<"${path#/}"
  for part in "${parts[@]}"; do
    at="$at/$part"
    [[ -d $at ]] || break
    as_user test -x "$at" && continue
    if command -v setfacl >/dev/null && setfacl -m "u:$user:x" "$at" 2>/dev/null; then
      echo "job-user: $user may now pass through $at (ACL)"
    else
      chmod o+x "$at"
      echo "job-user: $at is now passable by every user (o+x)"
    fi
  done
}

while [[ $# -gt 0 ]]; do
  if [[ $1 == --own ]]; then
    [[ $# -ge 2 ]] || die "--own needs a directory"
    mkdir -p "$2"
    chown "$user:$user" "$2"
    reach "$2"
    shift 2
  else
    reach "$1"
    shift
  fi
done
