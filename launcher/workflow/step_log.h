// SPDX-License-Identifier: GPL-2.0-or-later
//
// What a step's log tells: the nodes its tasks ran on (each task first
// prints "converge-run: task N on NODE") and its last words when it fails.
#pragma once

#include <string>
#include <vector>

namespace converge::workflow {

// The shell prefix that makes a task name its node.
inline constexpr const char* kTaskBanner =
    "echo \"converge-run: task $SLURM_PROCID on $SLURMD_NODENAME\" >&2; ";

std::vector<std::string> nodes_in_log(const std::string& log);
std::string last_words(const std::string& log);  // last line that is not ours or srun's

}  // namespace converge::workflow
