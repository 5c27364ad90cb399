// SPDX-License-Identifier: GPL-2.0-or-later
#include "node_services.h"

#include "converge/log.h"
#include "converge/mounts.h"
#include "converge/net.h"
#include "converge/node_topology.h"
#include "converge/poll.h"
#include "converge/rpc/ready_proof.h"
#include "converge/rpc/rpc.h"
#include "converge/text_template.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <netdb.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

namespace converge::launch {
namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

// The CPUs this process may use, split into one reserved core (the last,
// for services' servers) and the rest (for workers), by hwloc's cores.
void split_cpus(std::vector<unsigned>& reserved, std::vector<unsigned>& workers) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  auto topology = NodeTopology::discover();
  std::vector<std::vector<unsigned>> cores;  // PUs of each allowed core
  for (const auto& core : topology.cores) {
    std::vector<unsigned> pus;
    for (unsigned pu : core.pus) {
      if (pu < CPU_SETSIZE && CPU_ISSET(pu, &allowed)) pus.push_back(pu);
    }
    if (!pus.empty()) cores.push_back(pus);
  }
  if (cores.empty()) return;  // unknown topology: leave binding alone
  reserved = cores.back();
  for (std::size_t i = 0; i + 1 < cores.size(); ++i)
    workers.insert(workers.end(), cores[i].begin(), cores[i].end());
  if (workers.empty()) workers = reserved;
}

// An authenticated handshake with one of this job's RPC services: the
// process on the port runs as the job's user and holds the job's secret.
bool rpc_answers(const std::string& endpoint, const rpc::AuthSettings& auth) {
  try {
    rpc::Client client(rpc::Endpoint::parse(endpoint), std::chrono::milliseconds(1000), auth);
    client.connect();
    return true;
  } catch (const rpc::Error& e) {
    if (e.code() == EACCES) log::warning("{}: {}", endpoint, e.what());
    return false;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

// An HTTP service of this job: it answers a fresh nonce with the proof
// only a holder of the job's secret can give.
bool http_proves(const std::string& endpoint, const rpc::AuthSettings& auth) {
  if (!auth.secret) return false;
  rpc::Endpoint at;
  try {
    at = rpc::Endpoint::parse(endpoint);
  } catch (const std::invalid_argument&) {
    return false;
  }
  httplib::Client client(at.host, at.port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(1, 0);
  const std::string nonce = rpc::JobSecret::generate().hex();
  auto reply = client.Get(fmt::format("{}?nonce={}", rpc::kReadyProofPath, nonce));
  if (!reply || reply->status != 200) return false;
  if (!rpc::ready_proof_matches(*auth.secret, nonce, reply->body)) {
    log::warning("{}: the process on this port does not hold the job's secret", endpoint);
    return false;
  }
  return true;
}

bool tcp_connects(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(endpoint.substr(0, colon).c_str(), endpoint.substr(colon + 1).c_str(), &hints,
                  &found) != 0)
    return false;
  bool ok = false;
  for (addrinfo* a = found; a && !ok; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
  }
  freeaddrinfo(found);
  return ok;
}

// A port for this rank, reserved by listening on it here: the socket is
// handed to the service, so nothing can take the port in between. Ports
// someone else holds are passed over.
std::uint16_t reserve_port(std::uint16_t& cursor, net::PortRange range, const std::string& host,
                           std::vector<UniqueFd>& listeners) {
  for (int tries = 0; tries <= range.high - range.low; ++tries) {
    std::uint16_t port = cursor;
    cursor = cursor >= range.high ? range.low : static_cast<std::uint16_t>(cursor + 1);
    try {
      listeners.push_back(net::listen_tcp(host, port));
      return port;
    } catch (const std::system_error& e) {
      if (e.code().value() != EADDRINUSE && e.code().value() != EACCES) throw;
    }
  }
  throw std::runtime_error("no free TCP port");
}

// Reaps the child if it exited; returns its status text.
std::optional<std::string> exit_status(const process::ProcessId& id) {
  int status = 0;
  pid_t r = waitpid(id.pid, &status, WNOHANG);
  if (r == id.pid) {
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
    return "stopped";
  }
  if (r < 0 && !process::alive(id)) return "is gone";
  return std::nullopt;
}

}  // namespace

std::string services_dir(const LaunchSettings& settings) {
  return settings.services_dir.empty() ? process::executable_dir() + "/../share/converge/services"
                                       : settings.services_dir;
}

std::string last_line_of(const std::string& path, const std::string& containing) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.find(containing) != std::string::npos) last = line;
  }
  return last;
}

std::string RoleInstance::endpoint() const {
  return ports.empty() ? "" : fmt::format("{}:{}", values.at("HOST"), ports[0]);
}

nlohmann::json RoleInstance::summary() const {
  return {{"service", service},
          {"role", role->name},
          {"node", values.at("NODE")},
          {"endpoint", endpoint()},
          {"pid", process ? process->pid : 0},
          {"cpus", cpus},
          {"ready_ms", ready_after.count()},
          {"log", log_path}};
}

NodeServices::NodeServices(NodeContext context, std::vector<ServiceDescriptor> services)
    : context_(std::move(context)), services_(std::move(services)) {
  split_cpus(reserved_cpus_, worker_cpus_);
  auto range = net::service_port_range();
  std::uint16_t cursor = net::first_service_port(context_.job_id, context_.rank, range);
  for (const auto& service : services_) {
    for (const auto& role : service.roles) {
      if (!role.runs_on(context_.rank, context_.size)) continue;
      RoleInstance r;
      r.service = service.name;
      r.role = &role;
      for (unsigned p = 0; p < role.ports; ++p)
        r.ports.push_back(reserve_port(cursor, range, context_.host, r.listeners));
      r.cpus = role.binding == Binding::reserved_core ? reserved_cpus_
               : role.binding == Binding::workers     ? worker_cpus_
                                                      : std::vector<unsigned>{};
      std::string service_dir = context_.job_dir + "/" + service.name;
      r.values = {{"JOB_ID", context_.job_id},
                  {"NODE", context_.node},
                  {"RANK", std::to_string(context_.rank)},
                  {"NODES", std::to_string(context_.size)},
                  {"HOST", context_.host},
                  {"JOB_DIR", context_.job_dir},
                  {"SERVICE_DIR", service_dir},
                  {"KAPOK_MOUNT", context_.settings.kapok_mount_of(context_.job_id, context_.node)},
                  {"CONFIG", context_.config_path},
                  {"BIN", context_.bin_dir}};
      for (std::size_t p = 0; p < r.ports.size(); ++p) {
        r.values[p == 0 ? "PORT" : fmt::format("PORT{}", p)] = std::to_string(r.ports[p]);
      }
      r.log_path = fmt::format("{}/logs/{}-{}-{}.log", context_.job_dir, service.name, role.name,
                               context_.node);
      instances_.push_back(std::move(r));
    }
  }
}

NodeServices::~NodeServices() {
  stop_all();
}

std::string NodeServices::render(const std::string& text, const RoleInstance& r) const {
  auto values = r.values;
  for (const auto& [key, list] : lists_) values[key] = list;
  return render_template(text, values, fmt::format("service {}, role {}", r.service, r.role->name));
}

nlohmann::json NodeServices::local_endpoints() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& r : instances_) out[r.service][r.role->name] = r.endpoint();
  return out;
}

void NodeServices::learn_endpoints(const std::vector<nlohmann::json>& by_rank) {
  for (const auto& service : services_) {
    for (const auto& file : service.files) {
      nlohmann::json content = nlohmann::json::object();
      for (const auto& [key, role] : file.lists) {
        content[key] = nlohmann::json::array();
        for (const auto& eps : by_rank) {
          if (eps.contains(service.name) && eps[service.name].contains(role))
            content[key].push_back(eps[service.name][role]);
        }
      }
      // Render the path with any local instance of the service (or generic values).
      RoleInstance any;
      any.service = service.name;
      any.role = &service.roles.front();
      any.values = {{"JOB_ID", context_.job_id},
                    {"NODE", context_.node},
                    {"JOB_DIR", context_.job_dir},
                    {"SERVICE_DIR", context_.job_dir + "/" + service.name}};
      std::string path = render(file.path, any);
      fs::create_directories(fs::path(path).parent_path());
      std::string tmp = fmt::format("{}.{}.tmp", path, context_.rank);
      std::ofstream(tmp) << content.dump(2) << "\n";
      fs::rename(tmp, path);  // ranks sharing the directory write the same content
    }
  }
}

unsigned NodeServices::last_phase() const {
  unsigned last = 0;
  for (const auto& s : services_) last = std::max(last, s.last_phase());
  return last;
}

std::chrono::milliseconds NodeServices::phase_limit(unsigned phase) const {
  auto longest = context_.settings.ready_timeout;
  for (const auto& service : services_) {
    for (const auto& role : service.roles) {
      if (role.phase == phase) longest = std::max(longest, role.ready.timeout.value_or(longest));
    }
  }
  return longest;
}

std::optional<std::string> NodeServices::start(RoleInstance& r) {
  const ServiceRole& role = *r.role;
  auto fail = [&](const std::string& why) {
    return fmt::format("{}/{} on {}: {}", r.service, role.name, context_.node, why);
  };
  try {
    for (const auto& d : role.directories) fs::create_directories(render(d, r));
    std::string program = role.program;
    if (program.find('/') == std::string::npos) {
      std::string beside = context_.bin_dir + "/" + program;
      if (access(beside.c_str(), X_OK) == 0) {
        program = beside;
      } else if (auto found = process::find_program(program)) {
        program = *found;
      } else {
        return fail(
            fmt::format("program {} not found beside converge-launch or on PATH", role.program));
      }
    }
    process::SpawnOptions options;
    options.argv.push_back(program);
    for (const auto& a : role.args) options.argv.push_back(render(a, r));
    options.extra_env = {service_marker(context_.job_id, context_.node)};
    if (!secret_file_.empty())
      options.extra_env.push_back(
          fmt::format("{}={}", rpc::JobSecret::kFileVariable, secret_file_));
    options.log_path = r.log_path;
    options.cpus = r.cpus;
    // A program that binds its ports itself gets them free, just before it
    // starts (the reservation only kept them from this job's other roles).
    if (!role.inherits_ports) r.listeners.clear();
    for (const auto& l : r.listeners) options.listening_fds.push_back(l.get());
    if (role.ready.kind == ReadyCheck::Kind::mounted)
      mounts_.push_back(render(role.ready.target, r));
    r.process = process::spawn_detached(options);
    r.listeners.clear();  // the service has them now
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return std::nullopt;
}

void NodeServices::use_secret(const rpc::JobSecret& secret) {
  secret_file_ = context_.job_dir + "/secret";
  secret.save(secret_file_);
  auth_.secret = secret;
}

bool NodeServices::ready(const RoleInstance& r) const {
  const ReadyCheck& check = r.role->ready;
  switch (check.kind) {
    case ReadyCheck::Kind::none:
      return true;
    case ReadyCheck::Kind::rpc:
      return rpc_answers(render(check.target, r), auth_);
    case ReadyCheck::Kind::http_proof:
      return http_proves(render(check.target, r), auth_);
    case ReadyCheck::Kind::tcp:
      return tcp_connects(render(check.target, r));
    case ReadyCheck::Kind::mounted:
      return mounts::is_mounted(render(check.target, r));
    case ReadyCheck::Kind::command: {
      std::vector<std::string> argv;
      for (const auto& a : check.argv) argv.push_back(render(a, r));
      return process::run(argv).exit_code == 0;
    }
  }
  return false;
}

std::optional<std::string> NodeServices::start_phase(unsigned phase) {
  auto started_at = std::chrono::steady_clock::now();
  std::vector<RoleInstance*> starting;
  for (auto& r : instances_) {
    if (r.role->phase != phase) continue;
    if (auto error = start(r)) return error;
    starting.push_back(&r);
  }
  // Wait for all of this phase together; a role that exits first fails the phase.
  std::optional<std::string> failure;
  std::vector<bool> done(starting.size(), false);
  auto limit_of = [&](const RoleInstance& r) {
    return r.role->ready.timeout.value_or(context_.settings.ready_timeout);
  };
  auto longest = context_.settings.ready_timeout;
  for (const RoleInstance* r : starting) longest = std::max(longest, limit_of(*r));
  std::optional<std::size_t> late;  // the first role past its own limit
  bool all = poll_until(longest, 10ms, [&] {
    bool every = true;
    for (std::size_t i = 0; i < starting.size(); ++i) {
      if (done[i]) continue;
      RoleInstance& r = *starting[i];
      if (auto status = exit_status(*r.process)) {
        std::string last = last_line_of(r.log_path);
        failure = fmt::format("{}/{} on {}: {} before it was ready{}", r.service, r.role->name,
                              context_.node, *status, last.empty() ? "" : ": " + last);
        r.process.reset();
        return true;
      }
      if (ready(r)) {
        done[i] = true;
        r.ready_after = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started_at);
      } else if (std::chrono::steady_clock::now() - started_at >= limit_of(r)) {
        late = i;
        return true;
      } else {
        every = false;
      }
    }
    return every;
  });
  if (late) all = false;
  if (!failure && all) {
    // Ready, and still there: one that died right after its check fails too.
    for (RoleInstance* r : starting) {
      if (auto status = exit_status(*r->process)) {
        failure = fmt::format("{}/{} on {}: {} right after it was ready", r->service, r->role->name,
                              context_.node, *status);
        r->process.reset();
        break;
      }
    }
  }
  if (failure) return failure;
  if (!all) {
    for (std::size_t i = late.value_or(0); i < starting.size(); ++i) {
      if (!done[i]) {
        return fmt::format("{}/{} on {}: not ready after {} ms (see {})", starting[i]->service,
                           starting[i]->role->name, context_.node, limit_of(*starting[i]).count(),
                           starting[i]->log_path);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> NodeServices::check_running() {
  for (auto& r : instances_) {
    if (!r.process) continue;
    if (auto status = exit_status(*r.process)) {
      r.process.reset();
      return fmt::format("{}/{} on {} {}", r.service, r.role->name, context_.node, *status);
    }
  }
  return std::nullopt;
}

void NodeServices::stop_all() {
  // Later phases first: a mount goes before the servers it talks to.
  std::vector<RoleInstance*> order;
  for (auto& r : instances_) {
    if (r.process) order.push_back(&r);
  }
  std::stable_sort(order.begin(), order.end(), [](const RoleInstance* a, const RoleInstance* b) {
    return a->role->phase > b->role->phase;
  });
  for (RoleInstance* r : order) {
    // A FUSE daemon ends when its file system is unmounted; others on SIGTERM.
    if (r->role->ready.kind == ReadyCheck::Kind::mounted)
      mounts::unmount(render(r->role->ready.target, *r));
    process::terminate(*r->process, 3000ms);
    waitpid(r->process->pid, nullptr, WNOHANG);
    r->process.reset();
  }
  for (const auto& m : mounts_) mounts::unmount(m);
}

}  // namespace converge::launch
