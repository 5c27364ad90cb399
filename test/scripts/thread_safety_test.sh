#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# converge/mutex.h's annotations have teeth: Clang's analysis accepts a
# guarded member used under its mutex and rejects one used without it.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/counter.h" <<'CPP'
#include "converge/mutex.h"
class Counter {
 public:
  void add() {
    converge::MutexLock lock(mutex_);
    ++count_;
  }
  int unsafe_read() const;
 private:
  mutable converge::Mutex mutex_;
  int count_ CONVERGE_GUARDED_BY(mutex_) = 0;
};
CPP
analyse() { clang++ -std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety \
  -I "$repo/libconverge/include" -include "$dir/counter.h" -x c++ - 2>&1; }
out=$(echo 'int main() { Counter c; c.add(); }' | analyse) ||
  { echo "FAIL: correct locking refused: $out"; exit 1; }
out=$(echo 'int Counter::unsafe_read() const { return count_; }' | analyse) &&
  { echo "FAIL: an unguarded read passed"; exit 1; }
grep -q "requires holding mutex 'mutex_'" <<<"$out" || { echo "FAIL: unexpected: $out"; exit 1; }
echo ok
