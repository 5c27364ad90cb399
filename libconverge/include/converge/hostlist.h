// SPDX-License-Identifier: GPL-2.0-or-later
//
// Slurm-style host lists: "n[1-4,7],login1" <-> {"n1","n2","n3","n4","n7","login1"}.
// libconverge has no Slurm dependency, so it carries this small codec itself.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace converge::hostlist {

class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Expands a host list expression; keeps order and zero padding ("n[01-02]").
std::vector<std::string> expand(std::string_view expression);

// Compresses names into the shortest range form, in the given order.
std::string compress(const std::vector<std::string>& names);

}  // namespace converge::hostlist
