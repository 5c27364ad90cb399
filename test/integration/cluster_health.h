// SPDX-License-Identifier: GPL-2.0-or-later
//
// Whether the test cluster can run work: a node drained, down or silent
// would make every later test wait for it. Tests learn of it at once, and
// the report names the node, its reason, the controller's log lines of that
// moment (which name the job) and the test that was running then.
#pragma once

#include <string>
#include <vector>

namespace converge::test {

struct NodeProblem {
  std::string node;
  std::string state;   // sinfo's long state: drained, draining, down, ...
  std::string reason;  // scontrol's Reason=..., with Slurm's [user@time]
};

// Nodes out of service now (none is fine; allocated or completing ones are).
std::vector<NodeProblem> node_problems();

// Who took each node out of service, and when, in a few lines.
std::string drain_report(const std::vector<NodeProblem>& problems);

// Records the start and end of each test in the cluster's test log, so a
// drain can be traced to the test that caused it.
void record_test_event(const std::string& test, const std::string& event);

}  // namespace converge::test
