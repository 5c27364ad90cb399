// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <stdexcept>
#include <string>

namespace converge::rpc {

// An error with a POSIX errno: thrown by handlers to reply with that status,
// and by clients when the server replied so or could not be reached.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

}  // namespace converge::rpc
