// SPDX-License-Identifier: GPL-2.0-or-later
#include "step_log.h"

#include <fstream>
#include <set>

namespace converge::workflow {

std::vector<std::string> nodes_in_log(const std::string& log) {
  std::ifstream in(log);
  std::string line;
  std::set<std::string> nodes;
  const std::string marker = "converge-run: task ";
  while (std::getline(in, line)) {
    auto at = line.find(marker);
    if (at == std::string::npos) continue;
    auto on = line.find(" on ", at);
    if (on != std::string::npos) nodes.insert(line.substr(on + 4));
  }
  return {nodes.begin(), nodes.end()};
}

std::string last_words(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.find("converge-run: task") == std::string::npos &&
        line.find("srun: ") == std::string::npos && line.find("slurmstepd") == std::string::npos)
      last = line;
  }
  return last;
}

}  // namespace converge::workflow
