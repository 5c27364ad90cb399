// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-launch: brings a job's services (Kapok, Topo, TD-Pipe, ...) up on
// every node of its allocation and down again. Commands: commands.h.
#include "commands.h"

#include "converge/cli.h"
#include "converge/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace {

constexpr const char* kDescription =
    R"(Brings a job's services up on every node of its allocation and down again.
Run inside a Slurm allocation (the batch script or an salloc shell).

The configuration is --config FILE, else $CONVERGE_CONFIG (set in jobs by
Converge's SPANK plugin); its "launcher" section sets the job directory, the
mount point, the descriptor directory and the readiness timeout.)";

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
  converge::log::set_program_name("converge-launch");
  converge::launch::Options options;
  std::string services;
  CLI::App app{kDescription, "converge-launch"};
  app.require_subcommand(1);
  auto add_config = [&](CLI::App* command) {
    command->add_option("--config", options.config, "converge.json (default $CONVERGE_CONFIG)");
  };
  auto add_services = [&](CLI::App* command) {
    command
        ->add_option("--services", services, "services to run, by descriptor name: kapok,topo,...")
        ->required();
  };
  auto* up = app.add_subcommand(
      "up",
      "start the services on every node in a service step of their own (srun --mpi=pmix, one "
      "rank per node), wait until each is ready and print where they run; endpoints go to "
      "$CONVERGE_ENDPOINTS, Kapok is mounted at $CONVERGE_KAPOK_MOUNT on every node");
  add_services(up);
  add_config(up);
  up->add_flag("--quiet", options.quiet, "print only where the endpoints are");
  up->add_flag("--comment-on-failure", options.comment_on_failure,
               "also write why a bring-up failed into the job's Comment");
  auto* serve = app.add_subcommand("serve", "one rank of the service step (run by up)");
  add_services(serve);
  add_config(serve);
  auto* down = app.add_subcommand(
      "down", "stop the services on every node and unmount (scancel and the job's end do too)");
  add_config(down);
  auto* status = app.add_subcommand("status", "show the services of this job");
  add_config(status);

  return converge::cli::run("converge-launch", [&] {
    converge::cli::parse(app, argc, argv);
    if (!services.empty()) options.services = service_names(services);
    if (up->parsed()) return converge::launch::up(options);
    if (serve->parsed()) return converge::launch::serve(options);
    if (down->parsed()) return converge::launch::down(options);
    return converge::launch::status(options);
  });
}
