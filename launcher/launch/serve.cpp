// SPDX-License-Identifier: GPL-2.0-or-later
//
// One rank of the service step (srun --mpi=pmix --ntasks-per-node=1): this
// node's share of the services. Ranks pick their ports, exchange endpoints
// (PMIx Put/Commit/Fence/Get), write the generated files, then start the
// services phase by phase; after each phase a fence shares every node's
// result, so all nodes stop together at the first failure. Rank 0 writes
// the endpoints file and the state `up` waits for. The rank then stays,
// watching its services, until SIGTERM (down, scancel, the job's end).
#include "commands.h"
#include "job_files.h"
#include "node_services.h"
#include "pmix_session.h"

#include "converge/log.h"
#include "converge/net.h"
#include "converge/service_cleanup.h"
#include "converge/stop_signals.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <utility>

namespace converge::launch {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Endpoints, then the phases in order, then everyone's summary (rank 0
// writes the files from it). Returns every node's errors, empty when all is
// up; throws PmixStalled when a fence does not complete.
std::vector<std::string> bring_up(PmixSession& pmix, NodeServices& node, const NodeContext& ctx,
                                  const std::string& setup_error) {
  // Endpoints: every rank learns everyone's, and rank 0's secret for this
  // instance (a retried bring-up makes a new one).
  pmix.put("converge.endpoints", node.local_endpoints().dump());
  pmix.put("converge.setup", setup_error);
  if (ctx.rank == 0) pmix.put("converge.secret", rpc::JobSecret::generate().hex());
  pmix.fence(ctx.settings.fence_margin);
  // A node that cannot keep the secret fails its first phase (fenced like any).
  std::string secret_error;
  try {
    node.use_secret(rpc::JobSecret::from_hex(pmix.get(0, "converge.secret")));
  } catch (const std::exception& e) {
    secret_error = fmt::format("{}: {}", ctx.node, e.what());
  }
  std::vector<nlohmann::json> by_rank;
  std::vector<std::string> errors;
  for (unsigned r = 0; r < ctx.size; ++r) {
    by_rank.push_back(nlohmann::json::parse(pmix.get(r, "converge.endpoints")));
    if (auto e = pmix.get(r, "converge.setup"); !e.empty()) errors.push_back(e);
  }
  if (errors.empty()) node.learn_endpoints(by_rank);

  for (unsigned phase = 1; errors.empty() && phase <= node.last_phase(); ++phase) {
    std::string error = secret_error.empty() ? node.start_phase(phase).value_or("")
                                             : std::exchange(secret_error, "");
    if (!error.empty()) log::error("{}", error);
    std::string key = fmt::format("converge.phase{}", phase);
    pmix.put(key, error);
    pmix.fence(node.phase_limit(phase) + ctx.settings.fence_margin);
    for (unsigned r = 0; r < ctx.size; ++r) {
      // A rank's missing result fails the bring-up like its error would.
      std::string e;
      try {
        e = pmix.get(r, key);
      } catch (const PmixError& missing) {
        e = fmt::format("{}: no result from rank {}: {}", ctx.node, r, missing.what());
      }
      if (!e.empty()) errors.push_back(e);
    }
  }

  // Everyone's summary (and node name) for rank 0's files.
  nlohmann::json mine = nlohmann::json::array();
  for (const auto& r : node.instances()) mine.push_back(r.summary());
  pmix.put("converge.summary", nlohmann::json{{"node", ctx.node}, {"roles", mine}}.dump());
  pmix.fence(ctx.settings.fence_margin);
  return errors;
}

}  // namespace

int serve(const Options& options) {
  // Blocked before anything starts, so a stop request waits for the watch
  // below; spawned services start with nothing blocked.
  StopSignals stop(/*hangup=*/true);

  auto started = std::chrono::steady_clock::now();
  PmixSession pmix;
  NodeContext ctx;
  ctx.job_id = env_or("SLURM_JOB_ID", "");
  if (ctx.job_id.empty()) throw std::runtime_error("not inside a Slurm job (no SLURM_JOB_ID)");
  ctx.node = env_or("SLURMD_NODENAME", host_name());
  ctx.rank = pmix.rank();
  ctx.size = pmix.size();
  ctx.config_path = options.config;
  ctx.settings = LaunchSettings::load(options.config);
  ctx.host = ctx.settings.listen_host.empty()     ? host_name()
             : ctx.settings.listen_host == "auto" ? net::first_interface_address()
                                                  : ctx.settings.listen_host;
  if (ctx.host.empty()) throw std::runtime_error("listen_host \"auto\": no interface is up");
  ctx.job_dir = ctx.settings.job_dir_of(ctx.job_id);
  ctx.bin_dir = process::executable_dir();
  JobFiles files{ctx.job_dir};
  std::vector<ServiceDescriptor> descriptors;
  std::string setup_error;
  try {
    for (const auto& name : options.services)
      descriptors.push_back(ServiceDescriptor::find(services_dir(ctx.settings), name));
  } catch (const std::exception& e) {
    setup_error = fmt::format("{}: {}", ctx.node, e.what());
    descriptors.clear();
  }
  // Leftovers of an earlier bring-up of this job on this node (one whose
  // step was killed mid-way) would hold its mount point.
  cleanup_services(ctx.job_id, ctx.node, getuid(),
                   {ctx.settings.kapok_mount_of(ctx.job_id, ctx.node)});
  NodeServices node(ctx, descriptors);

  std::vector<std::string> errors;
  std::chrono::milliseconds elapsed{0};
  try {
    errors = bring_up(pmix, node, ctx, setup_error);
    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
  } catch (const PmixStalled& stalled) {
    // No later fence can be trusted: stop here. Rank 0 says why; srun ends
    // the ranks still waiting (--kill-on-bad-exit), and `up` tries once more.
    log::error("{}: {}", ctx.node, stalled.what());
    node.stop_all();
    cleanup_services(ctx.job_id, ctx.node, getuid(), node.mounts());
    if (ctx.rank == 0) {
      write_json(
          files.state(),
          {{"state", "failed"},
           {"stalled", true},
           {"errors", nlohmann::json::array({fmt::format("{}: {}", ctx.node, stalled.what())})},
           {"job", ctx.job_id}});
    }
    return 1;
  }

  if (!errors.empty()) {
    node.stop_all();
    cleanup_services(ctx.job_id, ctx.node, getuid(), node.mounts());
    if (ctx.rank == 0) {
      write_json(files.state(), {{"state", "failed"}, {"errors", errors}, {"job", ctx.job_id}});
    }
    // No rank ends before rank 0 has written why: a rank's non-zero exit
    // makes srun end the step, and `up` would see only that.
    try {
      pmix.fence(ctx.settings.fence_margin);
    } catch (const PmixStalled&) {
    }
    return 1;
  }
  if (ctx.rank == 0) {
    nlohmann::json endpoints{{"job", ctx.job_id},
                             {"nodes", nlohmann::json::array()},
                             {"kapok_mount", ctx.settings.kapok_mount},
                             {"services", nlohmann::json::object()}};
    nlohmann::json rows = nlohmann::json::array();
    for (unsigned r = 0; r < ctx.size; ++r) {
      auto s = nlohmann::json::parse(pmix.get(r, "converge.summary"));
      endpoints["nodes"].push_back(s["node"]);
      for (const auto& role : s["roles"]) {
        endpoints["services"][role["service"].get<std::string>()][role["role"].get<std::string>()]
            .push_back({{"node", role["node"]}, {"endpoint", role["endpoint"]}});
        rows.push_back(role);
      }
    }
    for (const auto& d : descriptors) {
      for (const auto& f : d.files) {
        std::string path = f.path;  // the same on every node
        for (auto [from, to] : {std::pair{"@SERVICE_DIR@", ctx.job_dir + "/" + d.name},
                                std::pair{"@JOB_DIR@", ctx.job_dir}}) {
          if (auto at = path.find(from); at != std::string::npos)
            path.replace(at, std::string(from).size(), to);
        }
        endpoints["files"][d.name].push_back(path);
      }
    }
    write_json(files.endpoints(), endpoints);
    write_json(files.state(), {{"state", "ready"},
                               {"job", ctx.job_id},
                               {"step", env_or("SLURM_STEP_ID", "")},
                               {"nodes", ctx.size},
                               {"services", options.services},
                               {"bring_up_ms", elapsed.count()},
                               {"roles", rows}});
  }
  log::info("{}: services ready after {} ms", ctx.node, elapsed.count());

  // Watch until told to stop.
  while (true) {
    if (auto sig = stop.wait_for(std::chrono::milliseconds(500))) {
      log::info("{}: {}: stopping services", ctx.node, strsignal(*sig));
      break;
    }
    if (auto died = node.check_running()) log::error("{}", *died);
  }
  node.stop_all();
  auto report = cleanup_services(ctx.job_id, ctx.node, getuid(), node.mounts());
  if (report.processes_stopped || !report.unmounted.empty())
    log::warning("{}: cleanup stopped {} leftover processes, {} mounts", ctx.node,
                 report.processes_stopped, report.unmounted.size());
  for (const auto& problem : report.problems) log::warning("{}: cleanup: {}", ctx.node, problem);
  write_json(files.stopped(ctx.node), {{"node", ctx.node}});
  return 0;
}

}  // namespace converge::launch
