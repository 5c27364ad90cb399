// SPDX-License-Identifier: GPL-2.0-or-later
//
// The intruder suite: a second unprivileged user (TEST_INTRUDER, made by the
// cluster fixture) attacks a live job of the test user on the local cluster,
// one with Kapok, Topo and TD-Pipe, through the file system, raw RPC, HTTP,
// the Kapok client, the job directories and a look-alike service step. Every
// attempt must be refused and leave the victim's data as it was; the test
// counts attempts and refusals and prints them.
#include "cluster_env.h"

#include "converge/launch_settings.h"
#include "converge/mounts.h"
#include "converge/net.h"
#include "converge/poll.h"
#include "converge/rpc/auth.h"
#include "converge/rpc/error.h"
#include "converge/rpc/rpc.h"
#include "converge/rpc/wire.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <iostream>

using namespace converge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace rpc = converge::rpc;
namespace wire = converge::wire;
namespace process = converge::process;

namespace {

const std::string kIntruder = TEST_INTRUDER;

// Attempts and whether each was refused, by kind.
class Tally {
 public:
  void record(const std::string& kind, const std::string& what, bool refused) {
    auto& [attempts, refusals] = counts_[kind];
    ++attempts;
    refusals += refused;
    if (!refused) let_through_.push_back(kind + ": " + what);
  }
  // Lines "kind<TAB>what<TAB>0|1" (from the intruder's process).
  void add_lines(const std::string& text) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      auto a = line.find('\t'), b = line.rfind('\t');
      if (a == std::string::npos || a == b) continue;
      record(line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1) == "1");
    }
  }
  void print() const {
    int attempts = 0, refusals = 0;
    std::cout << "intruder attempts on another user's job:\n";
    for (const auto& [kind, c] : counts_) {
      std::cout << fmt::format("  {:<28} attempts {:>3}  refused {:>3}\n", kind, c.first, c.second);
      attempts += c.first;
      refusals += c.second;
    }
    std::cout << fmt::format("intruder total: {} attempts, {} refused\n", attempts, refusals);
  }
  int attempts_of(const std::string& kind) const {
    auto it = counts_.find(kind);
    return it == counts_.end() ? 0 : it->second.first;
  }
  int attempts() const {
    int n = 0;
    for (const auto& [kind, c] : counts_) n += c.first;
    return n;
  }
  const std::vector<std::string>& let_through() const { return let_through_; }

 private:
  std::map<std::string, std::pair<int, int>> counts_;
  std::vector<std::string> let_through_;
};

// Writes what the intruder's process tried, one line each.
class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  void operator()(const std::string& kind, const std::string& what, bool refused) {
    std::string line = fmt::format("{}\t{}\t{}\n", kind, what, refused ? 1 : 0);
    [[maybe_unused]] auto n = write(fd_, line.data(), line.size());
  }

 private:
  int fd_;
};

// Runs `attack` in a child process as the intruder (uid, gid, no other
// groups) and returns what it reported.
std::string as_intruder(const std::function<void(Report&)>& attack,
                        const std::string& on_node_network = "") {
  const passwd* user = getpwnam(kIntruder.c_str());
  if (!user) throw std::runtime_error("no user " + kIntruder);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    // A user logged in on that node: in its network namespace (root may
    // enter it; the intruder then drops to its own uid).
    if (!on_node_network.empty()) {
      int ns = open(node_namespace(on_node_network).c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(102);
      close(ns);
    }
    if (setgroups(0, nullptr) != 0 || setgid(user->pw_gid) != 0 || setuid(user->pw_uid) != 0)
      _exit(101);
    Report report(fds[1]);
    try {
      attack(report);
    } catch (const std::exception& e) {
      report("crashed", e.what(), false);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    out += "intruder\tits process ended badly\t0\n";
  return out;
}

int connect_to(const rpc::Endpoint& endpoint) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(endpoint.port);
  inet_pton(AF_INET, endpoint.host.c_str(), &addr.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` and reads until the peer closes (or 5 s pass).
std::string exchange(const rpc::Endpoint& endpoint, const std::string& bytes) {
  int fd = connect_to(endpoint);
  if (fd < 0) return "";
  [[maybe_unused]] auto n = write(fd, bytes.data(), bytes.size());
  std::string answer;
  char buffer[4096];
  for (ssize_t got; (got = read(fd, buffer, sizeof buffer)) > 0;) answer.append(buffer, got);
  close(fd);
  return answer;
}

// One call with the intruder's own MUNGE credential (and, if given, a
// made-up job secret): true if the server refused to talk.
bool rpc_refused(const rpc::Endpoint& endpoint, std::uint32_t method, uid_t victim,
                 bool with_forged_secret) {
  rpc::AuthSettings auth{std::nullopt, victim};
  if (with_forged_secret) auth.secret = rpc::JobSecret::generate();
  try {
    rpc::Client client(endpoint, 5s, auth);
    client.call(method, "");
    return false;
  } catch (const rpc::Error& e) {
    return e.code() == EACCES;
  }
}

// A well-formed request frame sent with no handshake before it.
bool raw_frame_refused(const rpc::Endpoint& endpoint, std::uint32_t method,
                       const std::string& body) {
  wire::Writer frame;
  frame.u32(static_cast<std::uint32_t>(16 + body.size()));
  frame.u64(1);
  frame.u32(method);
  frame.u32(0);
  frame.raw(body);
  std::string answer = exchange(endpoint, frame.data());
  return answer.empty() || answer.find("authenticate first") != std::string::npos;
}

// The HTTP status of one request, 0 if none came.
int http_status(const rpc::Endpoint& endpoint, const std::string& request) {
  std::string answer = exchange(endpoint, request);
  if (answer.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::atoi(answer.c_str() + 9);
}

std::string completion_request(const std::string& authorization) {
  std::string body = R"({"prompt": "Once upon a time", "max_tokens": 8})";
  return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         "Content-Type: application/json\r\n" +
         authorization + fmt::format("Content-Length: {}\r\n\r\n", body.size()) + body;
}

std::vector<rpc::Endpoint> endpoints_of(const nlohmann::json& endpoints, const std::string& service,
                                        const std::string& role) {
  std::vector<rpc::Endpoint> found;
  for (const auto& e : endpoints["services"][service][role])
    found.push_back(rpc::Endpoint::parse(e["endpoint"].get<std::string>()));
  return found;
}

bool cannot_open(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return true;
  close(fd);
  return false;
}

}  // namespace

TEST(Intruder, EveryAttemptOnAnotherUsersJobIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "acts as two users: needs root";
  ASSERT_TRUE(cluster_idle());
  const passwd* victim_user = getpwnam(kTestUser.c_str());
  ASSERT_NE(victim_user, nullptr);
  const uid_t victim = victim_user->pw_uid;
  const std::string dir = user_dir(kClusterDir + "/test-output/intruder");
  const std::string secret = "victim-secret-" + std::to_string(getpid());
  fs::remove(dir + "/ready");
  fs::remove(dir + "/go");

  // The victim: all three services on n1, a secret in Kapok, then it waits
  // (bounded) for the attacks to end and reads its data back.
  std::ofstream(dir + "/victim.sh")
      << "#!/bin/sh\nset -e\n"
      << "echo " << secret << " > $CONVERGE_KAPOK_MOUNT/secret.txt\n"
      << "touch " << dir << "/ready\n"
      << "i=0; while [ ! -e " << dir << "/go ] && [ $i -lt 1500 ]; do sleep 0.2; i=$((i+1)); done\n"
      << "echo READ=$(cat $CONVERGE_KAPOK_MOUNT/secret.txt)\n"
      << "echo LIST=$(ls $CONVERGE_KAPOK_MOUNT | tr '\\n' ,)\n";
  fs::permissions(dir + "/victim.sh", fs::perms::owner_all, fs::perm_options::add);
  std::string id = submit("-N1 -n1 -w n1 --converge-services=kapok,topo,tdpipe -o " + dir +
                          "/victim.out " + dir + "/victim.sh");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(converge::poll_until(150s, 100ms, [&] { return fs::exists(dir + "/ready"); }))
      << read_file(dir + "/victim.out");

  const converge::LaunchSettings settings =
      converge::LaunchSettings::load(kClusterDir + "/etc/converge.json");
  const std::string job_dir = settings.job_dir_of(id);
  const std::string mount = settings.kapok_mount_of(id, "n1");
  auto endpoints = nlohmann::json::parse(read_file(job_dir + "/endpoints.json"));
  auto kapok_servers = endpoints_of(endpoints, "kapok", "server");
  auto topo_queues = endpoints_of(endpoints, "topo", "queue");
  auto tdpipe_http = endpoints_of(endpoints, "tdpipe", "instance");
  for (const auto& d : endpoints_of(endpoints, "tdpipe", "dispatcher")) tdpipe_http.push_back(d);
  ASSERT_FALSE(kapok_servers.empty());
  ASSERT_FALSE(topo_queues.empty());
  ASSERT_FALSE(tdpipe_http.empty());
  auto service_pids = process::find_by_environment(converge::service_marker(id, "n1"), victim);
  ASSERT_FALSE(service_pids.empty());
  // What an intruder could learn from `ps` or the network: the servers.
  const std::string members_copy = dir + "/../intruder-members.json";
  fs::copy_file(job_dir + "/kapok/members.json", members_copy,
                fs::copy_options::overwrite_existing);
  fs::permissions(members_copy,
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  Tally tally;
  tally.add_lines(as_intruder([&](Report& report) {
    // The file system: the job directory is 0700 and the mount not allow_other.
    report("file system", "read the secret", cannot_open(mount + "/secret.txt", O_RDONLY));
    report("file system", "create a file", cannot_open(mount + "/evil", O_WRONLY | O_CREAT));
    DIR* listing = opendir(mount.c_str());
    report("file system", "list the mount", listing == nullptr);
    if (listing) closedir(listing);
    report("file system", "read members.json",
           cannot_open(job_dir + "/kapok/members.json", O_RDONLY));
    report("file system", "read the endpoints", cannot_open(job_dir + "/endpoints.json", O_RDONLY));
    for (const auto& p : service_pids) {
      report("file system", fmt::format("read service {}'s environment (the secret)", p.pid),
             cannot_open(fmt::format("/proc/{}/environ", p.pid), O_RDONLY));
    }
    // The next jobs' directories, under their root-owned parent.
    const std::string next = settings.job_dir_of(std::to_string(std::stoul(id) + 1));
    report("job directories", "create the next job's", mkdir(next.c_str(), 0777) != 0);
    const std::string after = settings.job_dir_of(std::to_string(std::stoul(id) + 2));
    report("job directories", "symlink the one after", symlink("/tmp", after.c_str()) != 0);
    report("job directories", "write into the victim's",
           cannot_open(job_dir + "/planted", O_WRONLY | O_CREAT));

    // Raw RPC: every method, with the intruder's credential, with and
    // without a made-up secret, and a frame with no handshake at all.
    std::vector<std::uint32_t> kapok_methods;
    for (std::uint32_t m = 100; m <= 120; ++m) kapok_methods.push_back(m);
    for (std::uint32_t m = 200; m <= 205; ++m) kapok_methods.push_back(m);
    for (const auto& server : kapok_servers) {
      for (auto m : kapok_methods) {
        for (bool forged : {false, true}) {
          report("kapok rpc",
                 fmt::format("{} method {}{}", server.to_string(), m,
                             forged ? " (forged secret)" : ""),
                 rpc_refused(server, m, victim, forged));
        }
      }
      wire::Writer getattr;
      getattr.u64(1);
      report("kapok rpc", server.to_string() + " getattr / without a handshake",
             raw_frame_refused(server, 101, getattr.data()));
    }
    for (const auto& queue : topo_queues) {
      for (std::uint32_t m = 1; m <= 5; ++m) {
        for (bool forged : {false, true}) {
          report(
              "topo rpc",
              fmt::format("{} method {}{}", queue.to_string(), m, forged ? " (forged secret)" : ""),
              rpc_refused(queue, m, victim, forged));
        }
      }
      report("topo rpc", queue.to_string() + " status without a handshake",
             raw_frame_refused(queue, 5, ""));
    }

    // TD-Pipe's HTTP: no key, a wrong key.
    for (const auto& http : tdpipe_http) {
      report("tdpipe http", http.to_string() + " completion without a key",
             http_status(http, completion_request("")) == 401);
      report(
          "tdpipe http", http.to_string() + " completion with a wrong key",
          http_status(http, completion_request("Authorization: Bearer tdpipe-guess\r\n")) == 401);
      report("tdpipe http", http.to_string() + " metrics without a key",
             http_status(http, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") ==
                 401);
    }
  }));

  // Nothing planted where the next jobs' directories go (before the
  // intruder's own job below takes the next id).
  for (const std::string& planted : {settings.job_dir_of(std::to_string(std::stoul(id) + 1)),
                                     settings.job_dir_of(std::to_string(std::stoul(id) + 2))}) {
    struct stat st {};
    if (lstat(planted.c_str(), &st) == 0)
      ADD_FAILURE() << planted << " exists, owned by uid " << st.st_uid;
  }

  // The Kapok client with the servers' addresses in hand.
  for (const std::string& args :
       {std::string("ls /"), std::string("get /secret.txt /dev/stdout"),
        std::string("put /etc/hostname /evil"), std::string("mkdir /planted")}) {
    auto r =
        process::run({"setpriv", "--reuid=" + kIntruder, "--regid=" + kIntruder, "--init-groups",
                      "/bin/sh", "-c", kBinDir + "/kapok --members " + members_copy + " " + args});
    tally.record("kapok client", args,
                 r.exit_code != 0 && r.output.find(secret) == std::string::npos);
  }

  // A look-alike service step of the intruder's own job on the victim's
  // node, whose Kapok mount path leads by a symlink to the victim's mount:
  // root's cleanup at the step's end must leave the victim's mount alone.
  const std::string intruder_dir = kClusterDir + "/intruder-output";
  std::ofstream(intruder_dir + "/converge-launch") << "#!/bin/sh\nexit 0\n";
  std::ofstream(intruder_dir + "/lookalike.sh")
      << "#!/bin/sh\n"
      << "jd=" << settings.job_dir_of("$SLURM_JOB_ID") << "\n"
      << "rm -rf $jd/kapok && ln -s " << job_dir << "/kapok $jd/kapok\n"
      << "srun -n1 " << intruder_dir << "/converge-launch serve\n";
  for (const char* f : {"/converge-launch", "/lookalike.sh"}) {
    fs::permissions(intruder_dir + f, fs::perms::all, fs::perm_options::add);
  }
  auto lookalike =
      process::run({"setpriv", "--reuid=" + kIntruder, "--regid=" + kIntruder, "--init-groups",
                    "sbatch", "--parsable", "-N1", "-n1", "-w", "n1", "-o",
                    intruder_dir + "/lookalike.out", intruder_dir + "/lookalike.sh"},
                   {"SLURM_CONF=" + kSlurmConf});
  ASSERT_EQ(lookalike.exit_code, 0) << lookalike.output;
  std::string lookalike_id = lookalike.output.substr(0, lookalike.output.find_first_of(";\n"));
  wait_for_job(lookalike_id);
  tally.record("root cleanup", "look-alike step with a symlinked mount path",
               converge::mounts::is_mounted(mount, "fuse.kapok"));

  std::ofstream(dir + "/go").flush();
  EXPECT_EQ(wait_for_job(id), 0) << read_file(dir + "/victim.out");
  std::string out = read_file(dir + "/victim.out");
  EXPECT_NE(out.find("READ=" + secret), std::string::npos) << out;
  EXPECT_NE(out.find("LIST=secret.txt,\n"), std::string::npos) << out;

  tally.print();
  // Every kind of attack ran (a crashed intruder process would have cut
  // the list short): 92 attempts with one node of each service.
  for (const char* kind : {"file system", "job directories", "kapok rpc", "topo rpc", "tdpipe http",
                           "kapok client", "root cleanup"})
    EXPECT_GT(tally.attempts_of(kind), 0) << kind;
  EXPECT_GE(tally.attempts(), 90);
  EXPECT_TRUE(tally.let_through().empty())
      << fmt::format("{}", fmt::join(tally.let_through(), "\n"));
  fs::remove(members_copy);
}

// The intruder, a user on the victim's node, listens on the ports a held
// job of the victim's will try first there (they follow from its id),
// before the job starts. The launcher
// reserves each port by listening on it itself and hands that socket to the
// service, so it passes over the squatted ones: the job comes up on others,
// and no connection ever reaches the squatter.
TEST(Intruder, ASquatterOnTheNextJobsPortsGetsNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "acts as two users: needs root";
  ASSERT_TRUE(cluster_idle());
  const std::string dir = user_dir(kClusterDir + "/test-output/squat");
  const std::string signals = kClusterDir + "/intruder-output";  // the intruder's own
  fs::remove(signals + "/squatting");
  fs::remove(signals + "/done");
  std::ofstream(dir + "/victim.sh") << "#!/bin/sh\nset -e\n"
                                    << "echo kept > $CONVERGE_KAPOK_MOUNT/data.txt\n"
                                    << "echo READ=$(cat $CONVERGE_KAPOK_MOUNT/data.txt)\n"
                                    << "echo ENDPOINTS=$(tr -d ' \\n' < $CONVERGE_ENDPOINTS)\n";
  fs::permissions(dir + "/victim.sh", fs::perms::owner_all, fs::perm_options::add);
  std::string id = submit("-H -N1 -n1 -w n1 --converge-services=kapok,topo,tdpipe -o " + dir +
                          "/victim.out " + dir + "/victim.sh");
  ASSERT_FALSE(id.empty());

  constexpr int kSquatted = 8;  // more than one node's services take
  const std::uint16_t first =
      converge::net::first_service_port(id, 0, converge::net::service_port_range());
  auto squatter = std::async(std::launch::async, [&] {
    return as_intruder(
        [&](Report& report) {
          std::vector<converge::UniqueFd> held;
          for (int i = 0; i < kSquatted; ++i) {
            try {
              held.push_back(converge::net::listen_tcp("0.0.0.0", std::uint16_t(first + i)));
            } catch (const std::exception&) {
            }
          }
          std::ofstream(signals + "/squatting") << held.size() << "\n";
          converge::poll_until(200s, 100ms, [&] { return fs::exists(signals + "/done"); });
          for (const auto& fd : held) {
            fcntl(fd.get(), F_SETFL, O_NONBLOCK);  // what has connected, without waiting
            int got = accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
            report("squatted port", fmt::format("port {}", converge::net::local_port(fd.get())),
                   got < 0);
            if (got >= 0) close(got);
          }
        },
        "n1");  // on the victim's node
  });
  ASSERT_TRUE(converge::poll_until(30s, 50ms, [&] { return fs::exists(signals + "/squatting"); }));
  const int squatting = std::stoi(read_file(signals + "/squatting"));
  EXPECT_EQ(admin("scontrol release " + id).exit_code, 0);
  const int status = wait_for_job(id);
  std::ofstream(signals + "/done").flush();
  Tally tally;
  tally.add_lines(squatter.get());
  tally.print();
  EXPECT_EQ(status, 0) << read_file(dir + "/victim.out");
  const std::string out = read_file(dir + "/victim.out");
  EXPECT_NE(out.find("READ=kept"), std::string::npos) << out;
  // The job's services are on other ports than the squatted ones.
  EXPECT_NE(out.find("ENDPOINTS={"), std::string::npos) << out;
  for (int i = 0; i < kSquatted; ++i)
    EXPECT_EQ(out.find(fmt::format(":{}\"", first + i)), std::string::npos) << out;
  EXPECT_GE(squatting, kSquatted / 2) << "the intruder could hold too few of the ports";
  EXPECT_EQ(tally.attempts_of("squatted port"), squatting);
  EXPECT_TRUE(tally.let_through().empty())
      << fmt::format("{}", fmt::join(tally.let_through(), "\n"));
}
