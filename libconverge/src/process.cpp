// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/process.h"

#include "converge/net.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

extern char** environ;

namespace converge::process {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Field 3 (state) and field 22 (starttime) of /proc/PID/stat; the command
// name in parentheses may contain spaces, so parse after the last ')'.
std::optional<std::pair<char, std::uint64_t>> stat_of(pid_t pid) {
  std::string stat = read_whole(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  char state = 0;
  fields >> state;
  std::string skip;
  for (int i = 4; i < 22; ++i) fields >> skip;
  std::uint64_t start = 0;
  if (!(fields >> start)) return std::nullopt;
  return std::make_pair(state, start);
}

std::vector<char*> to_c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& x : extra) {
      auto eq = x.find('=');
      if (entry.substr(0, entry.find('=')) == std::string_view(x).substr(0, eq)) overridden = true;
    }
    if (!overridden) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

std::optional<std::uint64_t> start_time_of(pid_t pid) {
  auto s = stat_of(pid);
  if (!s) return std::nullopt;
  return s->second;
}

bool alive(const ProcessId& id) {
  if (id.pid <= 0) return false;
  auto s = stat_of(id.pid);
  return s && s->second == id.start_time && s->first != 'Z' && s->first != 'X';
}

// Listening sockets one service can be handed (a fixed array in the child,
// which must not allocate between fork and exec).
constexpr int kMostListeningFds = 64;

ProcessId spawn_detached(const SpawnOptions& options) {
  if (options.argv.empty()) throw Error("spawn: empty command");
  std::vector<std::string> argv = options.argv;
  std::vector<std::string> extra_env = options.extra_env;
  const int handed = int(options.listening_fds.size());
  if (handed > kMostListeningFds) throw Error("spawn: too many listening sockets to hand down");
  if (handed > 0) extra_env.push_back(fmt::format("{}={}", net::kListenFdsVariable, handed));
  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> c_argv = to_c_array(argv);
  std::vector<char*> c_env = to_c_array(env);

  int report[2];  // carries errno from the child if exec fails
  if (pipe2(report, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
  int log_fd = -1;
  if (!options.log_path.empty()) {
    log_fd = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      close(report[0]);
      close(report[1]);
      throw Error(fmt::format("cannot open {}: {}", options.log_path, std::strerror(errno)));
    }
  }
  pid_t pid = fork();
  if (pid < 0) throw Error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    setsid();
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd >= 0 ? log_fd : null_fd, STDOUT_FILENO);
    dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;  // a daemon starts with no signal blocked, whatever its parent blocks
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!options.cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (unsigned cpu : options.cpus) CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);  // best effort: a CPU may be offline
    }
    // The sockets go to 3, 4, ...: first every descriptor involved moves
    // above that range, so no move overwrites one still to be made.
    int report_fd = handed > 0 ? fcntl(report[1], F_DUPFD_CLOEXEC, 3 + handed) : report[1];
    int above[kMostListeningFds];
    for (int i = 0; i < handed; ++i)
      above[i] = fcntl(options.listening_fds[std::size_t(i)], F_DUPFD_CLOEXEC, 3 + handed);
    for (int i = 0; i < handed; ++i) {
      if (above[i] < 0 || dup2(above[i], 3 + i) < 0) {  // dup2's copy stays open across exec
        int err = errno;
        [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
        _exit(127);
      }
    }
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
      int err = errno;
      [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
      _exit(127);
    }
    execve(c_argv[0], c_argv.data(), c_env.data());
    int err = errno;
    [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
    _exit(127);
  }
  close(report[1]);
  if (log_fd >= 0) close(log_fd);
  int child_errno = 0;
  ssize_t n = read(report[0], &child_errno, sizeof child_errno);
  close(report[0]);
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    throw Error(fmt::format("cannot run {}: {}", options.argv[0], std::strerror(child_errno)));
  }
  auto start = start_time_of(pid);
  return ProcessId{pid, start.value_or(0)};
}

void terminate(const ProcessId& id, std::chrono::milliseconds grace) {
  if (!alive(id)) return;
  kill(id.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (alive(id)) {
    // Reap it if it is our child; otherwise wait for its parent or init to.
    waitpid(id.pid, nullptr, WNOHANG);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(id.pid, SIGKILL);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::size_t terminate_all(const std::vector<ProcessId>& ids, std::chrono::milliseconds grace,
                          std::chrono::milliseconds kill_wait) {
  auto living = [&] {
    std::vector<ProcessId> out;
    for (const auto& id : ids) {
      waitpid(id.pid, nullptr, WNOHANG);  // reap our own children
      if (alive(id)) out.push_back(id);
    }
    return out;
  };
  auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
    auto left = living();
    while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      left = living();
    }
    return left;
  };
  for (const auto& id : living()) kill(id.pid, SIGTERM);
  auto left = wait_until(std::chrono::steady_clock::now() + grace);
  for (const auto& id : left) kill(id.pid, SIGKILL);
  if (!left.empty()) left = wait_until(std::chrono::steady_clock::now() + kill_wait);
  return left.size();
}

RunResult run(const std::vector<std::string>& argv_in, const std::vector<std::string>& extra_env) {
  if (argv_in.empty()) throw Error("run: empty command");
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> c_argv = to_c_array(argv);
  std::vector<char*> c_env = to_c_array(env);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) throw Error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execvpe(c_argv[0], c_argv.data(), c_env.data());
    fmt::print(stderr, "cannot run {}: {}\n", argv_in[0], std::strerror(errno));
    _exit(127);
  }
  close(out[1]);
  RunResult result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<std::pair<ProcessId, std::string>> find_by_environment_prefix(
    const std::string& prefix) {
  std::vector<std::pair<ProcessId, std::string>> found;
  DIR* proc = opendir("/proc");
  if (!proc) return found;
  while (dirent* d = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
    std::string env = read_whole(fmt::format("/proc/{}/environ", pid));
    std::size_t pos = 0;
    while (pos < env.size()) {
      std::size_t zero = env.find('\0', pos);
      if (zero == std::string::npos) zero = env.size();
      if (env.compare(pos, prefix.size(), prefix) == 0 && zero - pos >= prefix.size()) {
        ProcessId id{static_cast<pid_t>(pid), start_time_of(static_cast<pid_t>(pid)).value_or(0)};
        if (alive(id)) found.emplace_back(id, env.substr(pos, zero - pos));
        break;
      }
      pos = zero + 1;
    }
  }
  closedir(proc);
  return found;
}

std::vector<ProcessId> find_by_environment(const std::string& entry) {
  auto name_end = entry.find('=');
  std::string prefix = entry.substr(0, name_end == std::string::npos ? entry.size() : name_end + 1);
  std::vector<ProcessId> found;
  for (const auto& [id, matched] : find_by_environment_prefix(prefix))
    if (matched == entry) found.push_back(id);
  return found;
}

std::vector<ProcessId> find_by_environment(const std::string& entry, uid_t uid) {
  auto found = find_by_environment(entry);
  std::erase_if(found, [&](const ProcessId& id) { return !runs_as(id.pid, uid); });
  return found;
}

bool runs_as(pid_t pid, uid_t uid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string key;
  while (status >> key) {
    if (key == "Uid:") {
      uid_t real = 0, effective = 0;
      return static_cast<bool>(status >> real >> effective) && real == uid && effective == uid;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return false;
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream split(dirs);
  std::string dir;
  while (std::getline(split, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::string executable_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

void write_pid_file(const std::string& path, const ProcessId& id) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id.pid << ' ' << id.start_time << '\n';
    if (!out) throw Error(fmt::format("cannot write {}", tmp));
  }
  std::filesystem::rename(tmp, path);
}

std::optional<ProcessId> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  ProcessId id;
  if (!(in >> id.pid >> id.start_time)) return std::nullopt;
  return id;
}

}  // namespace converge::process
