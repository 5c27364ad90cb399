// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-launch: brings a job's services (Kapok, Topo, TD-Pipe, ...) up on
// every node of its allocation and down again.
#include "commands.h"

#include "converge/config.h"
#include "converge/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string_view>

namespace {

constexpr const char* kUsage =
    R"(usage: converge-launch up --services LIST [--config FILE] [--quiet] [--comment-on-failure]
       converge-launch down [--config FILE]
       converge-launch status [--config FILE]

Inside a Slurm allocation (the batch script or an salloc shell):
  up      starts the services named in LIST (kapok, topo, tdpipe) on every node
          in a service step of their own (srun --mpi=pmix, one rank per node),
          waits until each passes its readiness check and prints where they
          run; endpoints go to $CONVERGE_ENDPOINTS, Kapok is mounted at
          $CONVERGE_KAPOK_MOUNT on every node; --comment-on-failure also
          writes why a bring-up failed into the job's Comment
  down    stops them on every node and unmounts (scancel and the job's end do
          the same by themselves)
  status  shows the services of this job

The configuration is FILE, else $CONVERGE_CONFIG (set in jobs by Converge's
SPANK plugin); its "launcher" section sets the job directory, the mount point,
the descriptor directory and the readiness timeout.
)";

// Any service with a descriptor may be named, not only the built-in ones.
std::vector<std::string> service_names(const std::string& list) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    std::string name =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) ||
             std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!ok)
      throw std::invalid_argument(fmt::format("invalid service name \"{}\" in \"{}\"", name, list));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  namespace log = converge::log;
  converge::launch::Options options;
  std::string command;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", arg));
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (arg == "--services") {
        options.services = service_names(value());
      } else if (arg == "--config") {
        options.config = value();
      } else if (arg == "--quiet") {
        options.quiet = true;
      } else if (arg == "--comment-on-failure") {
        options.comment_on_failure = true;
      } else if (command.empty() && !arg.starts_with("-")) {
        command = arg;
      } else {
        throw std::invalid_argument(fmt::format("unknown argument {} (see --help)", arg));
      }
    }
    if (command == "up") return converge::launch::up(options);
    if (command == "serve") return converge::launch::serve(options);
    if (command == "down") return converge::launch::down(options);
    if (command == "status") return converge::launch::status(options);
    throw std::invalid_argument(command.empty()
                                    ? "no command (see --help)"
                                    : fmt::format("unknown command {} (see --help)", command));
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}
