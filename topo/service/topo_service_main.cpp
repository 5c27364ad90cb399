// SPDX-License-Identifier: GPL-2.0-or-later
//
// topo-service: the Topo service that converge-launch brings up in an
// allocation (configs/services/topo.json), and its client.
//
//   topo-service queue  --listen HOST:PORT [--lease-seconds 300]
//   topo-service worker (--queue HOST:PORT | --queue-file F) [--threads N]
//                       [--kapok-mount DIR]
//   topo-service submit dns3d-stats --in DIR [--report FILE] [queue] [--timeout S]
//   topo-service submit word-count FILE... [queue] [--timeout S]
//   topo-service status JOB [queue]
//
// [queue] is --queue HOST:PORT or --queue-file F; inside a job with the
// service up, neither is needed ($CONVERGE_JOB_DIR/topo/queue.json). The
// queue keeps jobs and hands out their tasks; each worker (one per node,
// on the node's worker cores) pulls a task, runs it on its own Topo context
// (its FinD workers on those cores; service/tasks.h lists what it runs),
// and reports the result. SIGTERM stops queue and workers.
#include "topo/apps/dns3d_analysis.h"
#include "topo/service/client.h"
#include "topo/service/job_queue.h"
#include "topo/service/protocol.h"
#include "topo/service/queue_server.h"
#include "topo/service/task_paths.h"
#include "topo/service/tasks.h"

#include "converge/cli.h"
#include "converge/stop_signals.h"
#include "converge/log.h"

#include <mpi.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace topo::service;
using Json = nlohmann::json;

struct Args {
  std::string command;
  std::string listen;  // queue
  unsigned lease_seconds = 300;
  std::string queue, queue_file;  // where the queue is (worker, submit, status)
  unsigned threads = 0;           // worker; 0: the cores this process was given
  std::string kapok_mount;
  std::vector<std::string> allowed;  // worker: --allow
  std::string config;                // queue: --config
  std::vector<std::string> words;    // submit: the job and its files
  std::uint64_t job = 0;             // status
  std::string in, report;            // submit dns3d-stats
  unsigned timeout = 600;            // submit, seconds
};

void declare(CLI::App& app, Args& a) {
  app.require_subcommand(1);
  auto named = [&](CLI::App* c) {
    c->callback([&a, c] { a.command = c->get_name(); });
    return c;
  };
  auto queue_options = [&](CLI::App* c) {
    auto* q = c->add_option("--queue", a.queue, "the queue's HOST:PORT");
    auto* f = c->add_option("--queue-file", a.queue_file,
                            "a file naming it (default $CONVERGE_JOB_DIR/topo/queue.json)");
    q->excludes(f);
  };
  auto* queue = named(app.add_subcommand("queue", "run the job queue"));
  queue->add_option("--listen", a.listen, "HOST:PORT to listen on")->required();
  queue->add_option("--config", a.config, "converge.json (its \"rpc\" section: connection limits)");
  queue->add_option("--lease-seconds", a.lease_seconds, "a task goes back after this long")
      ->check(CLI::Range(1u, 86400u));
  auto* worker = named(app.add_subcommand("worker", "pull and run tasks"));
  queue_options(worker);
  worker->add_option("--threads", a.threads, "worker threads (default: the cores given)")
      ->check(CLI::Range(1u, 4096u));
  worker->add_option("--kapok-mount", a.kapok_mount, "where this node mounts the job's Kapok");
  worker->add_option("--allow", a.allowed,
                     "a directory whose files tasks may read besides Kapok's (repeatable)");
  auto* submit = named(app.add_subcommand("submit", "submit a job and wait for its result"));
  submit->add_option("job", a.words, "dns3d-stats, or word-count FILE...")->required();
  submit->add_option("--in", a.in, "dns3d-stats: the run's directory");
  submit->add_option("--report", a.report, "dns3d-stats: write the report to FILE");
  submit->add_option("--timeout", a.timeout, "seconds to wait")->check(CLI::Range(1u, 604800u));
  submit->add_option("--kapok-mount", a.kapok_mount,
                     "this node's Kapok mount (default $CONVERGE_KAPOK_MOUNT)");
  queue_options(submit);
  auto* status = named(app.add_subcommand("status", "a job's state"));
  status->add_option("job", a.job, "the job's number")->required();
  queue_options(status);
}

int queue_command(const Args& a) {
  auto listen = converge::rpc::Endpoint::parse(a.listen);
  JobQueue queue(std::chrono::seconds(a.lease_seconds));
  converge::StopSignals stop;  // before the server's threads start
  converge::rpc::Server server(converge::rpc::default_auth(),
                               converge::rpc::ServerLimits::load(a.config));
  serve_queue(server, queue);
  server.start(listen.host, listen.port);
  converge::log::info("queue listening on {}:{}", listen.host, server.port());
  stop.wait();
  server.stop();
  return 0;
}

// The worker runs as a process of its own, not as a rank of the step that
// started it: it must not present that step's PMIx identity to MPI_Init, or
// MPI would wait for the step's other ranks. Without it, MPI_Init makes a
// singleton (MPI_COMM_WORLD of one process).
void forget_launcher_identity() {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e, name = entry.substr(0, entry.find('='));
    bool mca = name.rfind("OMPI_MCA_", 0) == 0;
    for (const char* prefix : {"PMIX_", "PMI_", "OMPI_", "ORTE_", "SLURM_STEP", "SLURM_PROCID",
                               "SLURM_LOCALID", "SLURM_NODEID", "SLURM_NTASKS", "SLURM_NPROCS"})
      if (!mca && name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  for (const auto& name : names) unsetenv(name.c_str());
}

unsigned cores_given() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

int worker_command(const Args& a, int argc, char** argv) {
  auto endpoint = find_queue(a.queue, a.queue_file);
  const topo::service::TaskPaths paths(a.kapok_mount, a.allowed);
  unsigned threads = a.threads ? a.threads : cores_given();
  forget_launcher_identity();
  converge::StopSignals stop;  // before MPI's and the workers' threads start
  MPI_Init(&argc, &argv);
  int status = 0;
  {
    topo::find::Scheduler local({threads, false, true});
    topo::Context ctx(MPI_COMM_SELF, local);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    std::string name = std::string(host) + ":" + std::to_string(getpid());
    const char* node = std::getenv("SLURMD_NODENAME");
    if (node) name = std::string(node) + ":" + std::to_string(getpid());
    converge::rpc::Client queue(endpoint, std::chrono::seconds(10));
    converge::log::info("worker {} ({} threads) pulling from {}", name, threads,
                        endpoint.to_string());
    while (!stop.wait_for(std::chrono::milliseconds(0))) {
      Json task;
      try {
        task = call(queue, method::kNext, {{"worker", name}, {"wait_ms", 1000}});
      } catch (const std::exception& e) {
        // The queue may not be up yet, or be gone: try again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      if (!task.contains("job")) continue;
      Json report{{"job", task["job"]}, {"index", task["index"]}, {"worker", name}};
      std::uint32_t method = method::kDone;
      try {
        Json params = task.value("params", Json::object());
        std::optional<topo::service::OpenedInput> input;
        if (params.contains("path") && params["path"].is_string()) {
          input.emplace(paths.open(params["path"].get<std::string>()));
          params["path"] = input->path();
        }
        report["result"] = run_task(ctx, task.value("app", ""), params);
      } catch (const std::exception& e) {
        method = method::kFailed;
        report["error"] = e.what();
      }
      try {
        call(queue, method, report);
      } catch (const std::exception& e) {
        converge::log::error("worker {} could not report job {}: {}", name, task["job"].dump(),
                             e.what());
      }
    }
  }
  MPI_Finalize();
  return status;
}

std::chrono::seconds timeout_of(const Args& a) {
  return std::chrono::seconds(a.timeout);
}

int submit_command(const Args& a) {
  if (a.words.empty()) throw std::invalid_argument("submit needs a job: dns3d-stats or word-count");
  converge::rpc::Client queue(find_queue(a.queue, a.queue_file), std::chrono::seconds(10));
  const char* mount_env = std::getenv("CONVERGE_KAPOK_MOUNT");
  std::string mount = !a.kapok_mount.empty() ? a.kapok_mount : mount_env ? mount_env : "";
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (a.words[0] == "dns3d-stats") {
    const std::string& in = a.in;
    if (in.empty() || a.words.size() != 1)
      throw std::invalid_argument(
          "usage: topo-service submit dns3d-stats --in DIR [--report FILE]");
    auto run = topo::apps::read_dns3d_run(in);
    auto files = topo::apps::dns3d_snapshots(in);
    std::vector<Json> tasks;
    tasks.reserve(files.size());
    for (const auto& [step, path] : files)
      tasks.push_back(
          {{"path", to_portable_path(path, mount)}, {"n", run.n}, {"h", run.spacing()}});
    Json status = run_job(queue, "field-stats", tasks, timeout_of(a));
    if (status["state"] != "done")
      throw std::runtime_error("job " + status["job"].dump() +
                               " failed: " + status.value("error", ""));
    std::vector<std::pair<int, topo::apps::FieldStats>> stats;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const Json& r = status["results"][i];
      stats.emplace_back(files[i].first, topo::apps::FieldStats{r.at("mean"), r.at("rms"),
                                                                r.at("max"), r.at("gradient2")});
    }
    char header[200];
    std::snprintf(header, sizeof header,
                  "dns3d-analyse: %zu snapshots of %llu^3 by the Topo service (job %s, %.3f s)",
                  stats.size(), static_cast<unsigned long long>(run.n),
                  status["job"].dump().c_str(), seconds());
    Json report = topo::apps::dns3d_report(header, run, stats);
    report["service_job"] = status["job"];
    report["seconds"] = seconds();
    if (!a.report.empty()) std::ofstream(a.report) << report.dump(2) << "\n";
    return 0;
  }
  if (a.words[0] == "word-count") {
    if (a.words.size() < 2)
      throw std::invalid_argument("usage: topo-service submit word-count FILE...");
    std::vector<Json> tasks;
    for (std::size_t i = 1; i < a.words.size(); ++i)
      tasks.push_back({{"path", to_portable_path(a.words[i], mount)}});
    Json status = run_job(queue, "word-count", tasks, timeout_of(a));
    if (status["state"] != "done")
      throw std::runtime_error("job " + status["job"].dump() +
                               " failed: " + status.value("error", ""));
    for (std::size_t i = 1; i < a.words.size(); ++i)
      std::printf("%s %s\n", a.words[i].c_str(), status["results"][i - 1].dump().c_str());
    return 0;
  }
  throw std::invalid_argument("unknown job \"" + a.words[0] + "\" (dns3d-stats, word-count)");
}

int status_command(const Args& a) {
  converge::rpc::Client queue(find_queue(a.queue, a.queue_file), std::chrono::seconds(10));
  std::printf("%s\n", call(queue, method::kStatus, {{"job", a.job}}).dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("topo-service");
  return converge::cli::run("topo-service", [&] {
    Args a;
    CLI::App app{"The Topo service: a job queue and workers that pull analysis tasks",
                 "topo-service"};
    declare(app, a);
    converge::cli::parse(app, argc, argv);
    try {
      if (a.command == "queue") return queue_command(a);
      if (a.command == "worker") return worker_command(a, argc, argv);
      if (a.command == "submit") return submit_command(a);
      return status_command(a);
    } catch (const converge::rpc::Error& e) {
      throw std::runtime_error(std::string(e.what()) + " (" + std::strerror(e.code()) + ")");
    }
  });
}
