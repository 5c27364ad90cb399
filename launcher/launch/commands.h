// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-launch's commands. `up` runs in the job's batch script (or an
// salloc shell) and starts the service step, `serve` is that step's
// per-node rank, `down` stops it, `cleanup` is the epilog's last word.
#pragma once

#include <string>
#include <vector>

namespace converge::launch {

struct Options {
  std::vector<std::string> services;
  std::string config;  // converge.json; empty: $CONVERGE_CONFIG or none
  bool quiet = false;
  // `up` only: a failed bring-up is also recorded in the job's Comment
  // (scontrol show job, sacct), as the SPANK plugin asks for.
  bool comment_on_failure = false;
};

int up(const Options& options);
int serve(const Options& options);
int down(const Options& options);
int status(const Options& options);

}  // namespace converge::launch
