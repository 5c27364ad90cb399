// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok-local: a whole Kapok instance on this machine (N metadata and M data
// servers on loopback ports, a members file), for trying Kapok, tests and
// benchmarks. `down` stops exactly the servers `up` started.
#include "kapok/common/protocol.h"
#include "converge/cli.h"
#include "converge/config.h"
#include "converge/mounts.h"
#include "converge/log.h"
#include "converge/net.h"
#include "converge/poll.h"
#include "converge/process.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

namespace fs = std::filesystem;
namespace log = converge::log;
namespace process = converge::process;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    R"(usage: kapok-local up --dir DIR [--mds N] [--ds M] [--base-port P] [--config FILE] [--mount MNT]
       kapok-local down --dir DIR
       kapok-local status --dir DIR

up starts N metadata servers (default 4) on ports P.. and M data servers
(default 4) on ports P+100.. (P default 7100), writes DIR/members.json and
waits until every server answers; with --mount it also mounts Kapok there
(kapok-fuse). On a running instance it starts only what is missing. down
unmounts and stops every process up started (SIGTERM, then SIGKILL).
)";

struct Shape {
  int mds = 4, ds = 4, base_port = 7100;
  std::string config;
  std::string mount;  // empty: no FUSE mount
};

// True if a Kapok FUSE file system is mounted at `path`.
bool mounted(const std::string& path) {
  return converge::mounts::is_mounted(path, "fuse.kapok");
}

struct Server {
  std::string name;  // mds0, ds3
  bool mds;
  int port;
};

std::vector<Server> servers(const Shape& s) {
  std::vector<Server> out;
  out.reserve(static_cast<std::size_t>(s.mds + s.ds));
  for (int i = 0; i < s.mds; ++i) out.push_back({fmt::format("mds{}", i), true, s.base_port + i});
  for (int i = 0; i < s.ds; ++i)
    out.push_back({fmt::format("ds{}", i), false, s.base_port + 100 + i});
  return out;
}

std::string pid_file(const std::string& dir, const Server& s) {
  return dir + "/run/" + s.name + ".pid";
}

std::optional<process::ProcessId> running(const std::string& dir, const Server& s) {
  auto id = process::read_pid_file(pid_file(dir, s));
  if (id && process::alive(*id)) return id;
  return std::nullopt;
}

bool answers(const Server& s, const converge::rpc::JobSecret& secret) {
  try {
    converge::rpc::Client c({"127.0.0.1", static_cast<std::uint16_t>(s.port)}, 200ms,
                            converge::rpc::AuthSettings{secret});
    c.call(s.mds ? kapok::kMdsStatus : kapok::kDsStatus, {});
    return true;
  } catch (const converge::rpc::Error&) {
    return false;
  }
}

Shape recorded(const std::string& dir) {
  Shape s;
  auto json = converge::config::load_file(dir + "/local.json");
  converge::config::Node root(json, dir + "/local.json");
  s.mds = static_cast<int>(root.at("mds").as_int(1, 1024));
  s.ds = static_cast<int>(root.at("ds").as_int(1, 1024));
  s.base_port = static_cast<int>(root.at("base_port").as_int(1024, 65000));
  s.config = root.at("config").as_string();
  if (auto m = root.find("mount")) s.mount = m->as_string();
  return s;
}

int up(const std::string& dir, Shape shape) {
  if (fs::exists(dir + "/local.json")) {
    Shape old = recorded(dir);
    // What was not given again is kept from the running instance.
    if (shape.mount.empty()) shape.mount = old.mount;
    if (shape.config.empty()) shape.config = old.config;
    bool any = false;
    for (const auto& s : servers(old)) any |= running(dir, s).has_value();
    if (any && (old.mds != shape.mds || old.ds != shape.ds || old.base_port != shape.base_port)) {
      throw std::runtime_error(
          fmt::format("a different Kapok instance runs in {}: run down first", dir));
    }
  }
  std::string exe = process::executable_dir() + "/kapok-server";
  if (!fs::exists(exe)) throw std::runtime_error(fmt::format("{} not found: run 'make'", exe));
  for (const char* sub : {"run", "log", "servers"}) fs::create_directories(dir + "/" + sub);
  // The instance's secret: its servers and mount prove membership with it.
  // Kept while any process of the instance runs (a restarted server must
  // hold the same one).
  std::string secret_file = dir + "/secret";
  if (!fs::exists(secret_file)) converge::rpc::JobSecret::generate().save(secret_file);
  auto secret = converge::rpc::JobSecret::load(secret_file);
  std::vector<std::string> env{
      "KAPOK_LOCAL_DIR=" + dir,
      fmt::format("{}={}", converge::rpc::JobSecret::kFileVariable, secret_file)};
  auto list = servers(shape);
  for (const auto& s : list) {
    if (!running(dir, s) && !converge::net::port_free(s.port)) {
      throw std::runtime_error(
          fmt::format("port {} ({}) is already in use: pass --base-port", s.port, s.name));
    }
  }
  kapok::Members members;
  for (const auto& s : list) {
    (s.mds ? members.mds : members.ds).push_back({"127.0.0.1", static_cast<std::uint16_t>(s.port)});
  }
  {
    std::ofstream(dir + "/members.json") << members.to_json();
    nlohmann::json j{{"mds", shape.mds},
                     {"ds", shape.ds},
                     {"base_port", shape.base_port},
                     {"config", shape.config},
                     {"mount", shape.mount}};
    std::ofstream(dir + "/local.json") << j.dump(2) << '\n';
  }
  int started = 0;
  for (const auto& s : list) {
    if (running(dir, s)) continue;
    std::vector<std::string> argv{exe,
                                  "--role",
                                  s.mds ? "mds" : "ds",
                                  "--data",
                                  dir + "/servers/" + s.name,
                                  "--listen",
                                  fmt::format("127.0.0.1:{}", s.port),
                                  "--members",
                                  dir + "/members.json"};
    if (!shape.config.empty()) {
      argv.push_back("--config");
      argv.push_back(shape.config);
    }
    auto id = process::spawn_detached({argv, env, dir + "/log/" + s.name + ".log", dir});
    process::write_pid_file(pid_file(dir, s), id);
    ++started;
  }
  for (const auto& s : list) {
    if (!converge::poll_until(30s, 20ms, [&] { return answers(s, secret) || !running(dir, s); }) ||
        !running(dir, s)) {
      throw std::runtime_error(
          fmt::format("{} did not come up (see {}/log/{}.log)", s.name, dir, s.name));
    }
  }
  if (!shape.mount.empty() && !mounted(shape.mount)) {
    fs::create_directories(shape.mount);
    std::vector<std::string> argv{process::executable_dir() + "/kapok-fuse", "--members",
                                  dir + "/members.json", "-f", shape.mount};
    if (!shape.config.empty()) argv.insert(argv.end() - 2, {"--config", shape.config});
    auto id = process::spawn_detached({argv, env, dir + "/log/fuse.log", dir});
    process::write_pid_file(dir + "/run/fuse.pid", id);
    if (!converge::poll_until(20s, 20ms,
                              [&] { return mounted(shape.mount) || !process::alive(id); }) ||
        !mounted(shape.mount)) {
      throw std::runtime_error(
          fmt::format("kapok-fuse did not mount {} (see {}/log/fuse.log)", shape.mount, dir));
    }
    ++started;
  }
  fmt::print(
      "kapok up in {}: {} metadata and {} data servers{} ({} started); members file "
      "{}/members.json\n",
      dir, shape.mds, shape.ds, shape.mount.empty() ? "" : ", mounted at " + shape.mount, started,
      dir);
  return 0;
}

int down(const std::string& dir) {
  if (!fs::exists(dir + "/local.json")) {
    fmt::print("no Kapok instance in {}\n", dir);
    return 0;
  }
  int stopped = 0;
  Shape shape = recorded(dir);
  auto fuse = process::read_pid_file(dir + "/run/fuse.pid");
  if (!shape.mount.empty() && mounted(shape.mount)) {
    // A clean unmount ends kapok-fuse; a lazy one detaches a mount whose daemon died.
    bool alive = fuse && process::alive(*fuse);
    process::run({"fusermount3", "-u", alive ? "-q" : "-z", shape.mount});
    if (mounted(shape.mount)) process::run({"fusermount3", "-uz", shape.mount});
  }
  if (fuse && process::alive(*fuse)) {
    process::terminate(*fuse, 10s);
    ++stopped;
  }
  std::error_code ec;
  fs::remove(dir + "/run/fuse.pid", ec);
  for (const auto& s : servers(shape)) {
    if (auto id = running(dir, s)) {
      process::terminate(*id, 10s);
      ++stopped;
    }
    std::error_code ec;
    fs::remove(pid_file(dir, s), ec);
  }
  fmt::print("kapok in {} is down ({} process(es) stopped)\n", dir, stopped);
  return 0;
}

int status(const std::string& dir) {
  if (!fs::exists(dir + "/local.json")) {
    fmt::print("no Kapok instance in {}\n", dir);
    return 3;
  }
  bool all = true;
  for (const auto& s : servers(recorded(dir))) {
    auto id = running(dir, s);
    all &= id.has_value();
    fmt::print("{:<6} 127.0.0.1:{:<6} {}\n", s.name, s.port,
               id ? fmt::format("pid {}", id->pid) : "DOWN");
  }
  return all ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("kapok-local");
  std::string command, dir;
  Shape shape;
  CLI::App app{"A local Kapok instance: servers on this host, optionally mounted", "kapok-local"};
  app.footer(kUsage);
  app.add_option("command", command, "up, down or status")
      ->required()
      ->check(CLI::IsMember({"up", "down", "status"}));
  app.add_option("--dir", dir, "the instance's directory")->required();
  app.add_option("--mds", shape.mds, "metadata servers")->check(CLI::Range(1, 64));
  app.add_option("--ds", shape.ds, "data servers")->check(CLI::Range(1, 64));
  app.add_option("--base-port", shape.base_port, "first port")->check(CLI::Range(1024, 65000));
  app.add_option("--config", shape.config, "converge.json with a \"kapok\" section");
  app.add_option("--mount", shape.mount, "mount Kapok there (kapok-fuse)");
  try {
    converge::cli::parse(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);
  }
  try {
    if (!shape.config.empty()) shape.config = fs::absolute(shape.config).string();
    if (!shape.mount.empty()) shape.mount = fs::absolute(shape.mount).lexically_normal().string();
    dir = fs::absolute(dir).lexically_normal().string();
    if (command == "up") return up(dir, shape);
    if (command == "down") return down(dir);
    return status(dir);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
