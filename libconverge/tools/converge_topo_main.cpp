// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-topo: prints this node's hardware topology (hwloc) as JSON.
#include "converge/log.h"
#include "converge/node_topology.h"

#include <fmt/format.h>

#include <cstring>
#include <exception>

namespace {

constexpr const char* kUsage = R"(usage: converge-topo [--synthetic DESCRIPTION] [--compact]

Prints this node's packages, NUMA nodes, cores (with their hardware threads),
caches, NICs and GPUs as JSON, as hwloc reports them.

  --synthetic DESC   describe an hwloc synthetic topology instead of this node
                     (for example "package:2 numa:2 core:4 pu:2")
  --compact          one line of JSON instead of indented output
  --help             this text
)";

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("converge-topo");
  std::string synthetic;
  bool compact = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      fmt::print("{}", kUsage);
      return 0;
    } else if (!std::strcmp(argv[i], "--compact")) {
      compact = true;
    } else if (!std::strcmp(argv[i], "--synthetic") && i + 1 < argc) {
      synthetic = argv[++i];
    } else {
      converge::log::error("unknown argument \"{}\" (see --help)", argv[i]);
      return 2;
    }
  }
  try {
    auto topo = synthetic.empty() ? converge::NodeTopology::discover()
                                  : converge::NodeTopology::synthetic(synthetic);
    fmt::print("{}\n", topo.to_json().dump(compact ? -1 : 2));
  } catch (const std::exception& e) {
    converge::log::error("{}", e.what());
    return 1;
  }
  return 0;
}
