// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-topo: prints this node's hardware topology (hwloc) as JSON.
#include "converge/cli.h"
#include "converge/log.h"
#include "converge/node_topology.h"

#include <fmt/format.h>

#include <exception>

int main(int argc, char** argv) {
  converge::log::set_program_name("converge-topo");
  return converge::cli::run("converge-topo", [&] {
    CLI::App app{
        "Prints this node's packages, NUMA nodes, cores (with their hardware threads), caches, "
        "NICs and GPUs as JSON, as hwloc reports them",
        "converge-topo"};
    std::string synthetic;
    bool compact = false;
    app.add_option("--synthetic", synthetic,
                   "an hwloc synthetic topology instead of this node (\"package:2 core:4 pu:2\")");
    app.add_flag("--compact", compact, "one line of JSON instead of indented output");
    converge::cli::parse(app, argc, argv);
    auto topo = synthetic.empty() ? converge::NodeTopology::discover()
                                  : converge::NodeTopology::synthetic(synthetic);
    fmt::print("{}\n", topo.to_json().dump(compact ? -1 : 2));
    return 0;
  });
}
