// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok-bench: file system benchmarks that run on any mounted path (Kapok
// through FUSE, a local directory, another parallel file system) or natively
// through libkapok, so one run measures Kapok against its references.
//
//   mdtest     each client creates, stats, reads and removes N files of W
//              bytes, in one shared directory or in a directory of its own
//   smallread  random whole-file reads of the files mdtest leaves (--keep)
//   ior        N-1 (one shared file, interleaved blocks) or N-N (a file per
//              client): write, fsync, then read back
#include "kapok/client/client.h"
#include "converge/cli.h"
#include "converge/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

namespace {

namespace log = converge::log;
using Clock = std::chrono::steady_clock;

// The operations the benchmarks need, on a path or through libkapok.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void mkdir(const std::string& path) = 0;
  virtual void write_file(const std::string& path, std::string_view data) = 0;  // create + write
  virtual void stat(const std::string& path) = 0;
  virtual std::string read_file(const std::string& path, std::size_t size) = 0;
  virtual void remove(const std::string& path) = 0;
  virtual void rmdir(const std::string& path) = 0;
  // ior: write/read a block of a file that may be shared.
  virtual void write_at(const std::string& path, std::uint64_t offset, std::string_view data) = 0;
  virtual std::string read_at(const std::string& path, std::uint64_t offset, std::size_t size) = 0;
  virtual void fsync(const std::string& path) = 0;
};

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

class PosixBackend : public Backend {
 public:
  explicit PosixBackend(std::string root) : root_(std::move(root)) {}
  void mkdir(const std::string& p) override {
    if (::mkdir(full(p).c_str(), 0755) != 0 && errno != EEXIST) fail_errno("mkdir", p);
  }
  void write_file(const std::string& p, std::string_view data) override {
    int fd = ::open(full(p).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) fail_errno("create", p);
    if (!data.empty() &&
        ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      fail_errno("write", p);
    }
    ::close(fd);
  }
  void stat(const std::string& p) override {
    struct stat st;
    if (::stat(full(p).c_str(), &st) != 0) fail_errno("stat", p);
  }
  std::string read_file(const std::string& p, std::size_t size) override {
    return read_at(p, 0, size);
  }
  void remove(const std::string& p) override {
    if (::unlink(full(p).c_str()) != 0) fail_errno("unlink", p);
  }
  void rmdir(const std::string& p) override { ::rmdir(full(p).c_str()); }
  void write_at(const std::string& p, std::uint64_t offset, std::string_view data) override {
    int fd = ::open(full(p).c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd < 0) fail_errno("open", p);
    if (::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(data.size())) {
      fail_errno("pwrite", p);
    }
    ::close(fd);
  }
  std::string read_at(const std::string& p, std::uint64_t offset, std::size_t size) override {
    int fd = ::open(full(p).c_str(), O_RDONLY);
    if (fd < 0) fail_errno("open", p);
    std::string out(size, '\0');
    ssize_t n = ::pread(fd, out.data(), size, static_cast<off_t>(offset));
    ::close(fd);
    if (n < 0) fail_errno("pread", p);
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  void fsync(const std::string& p) override {
    int fd = ::open(full(p).c_str(), O_RDONLY);
    if (fd < 0) fail_errno("open", p);
    ::fsync(fd);
    ::close(fd);
  }

 private:
  std::string full(const std::string& p) const { return root_ + p; }
  std::string root_;
};

class NativeBackend : public Backend {
 public:
  NativeBackend(const kapok::Members& members, const kapok::Settings& settings)
      : client_(members, settings) {}
  void mkdir(const std::string& p) override {
    auto [dir, name] = client_.parent_of(p);
    try {
      client_.mkdir(dir, name, 0755, 0, 0);
    } catch (const kapok::Error& e) {
      if (e.code() != EEXIST) throw;
    }
  }
  void write_file(const std::string& p, std::string_view data) override {
    auto [dir, name] = client_.parent_of(p);
    kapok::Attr a = client_.create(dir, name, S_IFREG | 0644, 0, 0, false);
    client_.write(a.ino, 0, data);
  }
  void stat(const std::string& p) override { client_.stat(p); }
  std::string read_file(const std::string& p, std::size_t size) override {
    return client_.read(client_.stat(p).ino, 0, size);
  }
  void remove(const std::string& p) override {
    auto [dir, name] = client_.parent_of(p);
    client_.unlink(dir, name);
  }
  void rmdir(const std::string& p) override {
    auto [dir, name] = client_.parent_of(p);
    try {
      client_.rmdir(dir, name);
    } catch (const kapok::Error&) {
    }
  }
  void write_at(const std::string& p, std::uint64_t offset, std::string_view data) override {
    client_.write(ino_of(p), offset, data);
  }
  std::string read_at(const std::string& p, std::uint64_t offset, std::size_t size) override {
    return client_.read(ino_of(p), offset, size);
  }
  void fsync(const std::string& p) override { client_.fsync(ino_of(p)); }

 private:
  std::uint64_t ino_of(const std::string& p) {
    auto [dir, name] = client_.parent_of(p);
    try {
      return client_.lookup(dir, name).ino;
    } catch (const kapok::Error& e) {
      if (e.code() != ENOENT) throw;
      return client_.create(dir, name, S_IFREG | 0644, 0, 0, false).ino;
    }
  }
  kapok::Client client_;
};

struct Options {
  std::string path, members, config, mode, label, json;
  int clients = 2, files = 1000, reads = 2000;
  std::size_t size = 4096, block = 1u << 20;
  int blocks = 16;
  bool unique_dirs = false, n_n = false;
};

struct Phase {
  std::string name;
  double seconds = 0;
  double ops = 0;
  double bytes = 0;
};

// Runs `body(client)` on every client at once and times the slowest.
template <typename Body>
Phase timed(const std::string& name, int clients, double ops, double bytes, Body&& body) {
  std::barrier start(clients + 1);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  std::exception_ptr error;
  std::mutex error_mutex;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      start.arrive_and_wait();
      try {
        body(c);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        error = std::current_exception();
      }
    });
  }
  start.arrive_and_wait();
  auto t0 = Clock::now();
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (error) std::rethrow_exception(error);
  return {name, seconds, ops, bytes};
}

std::vector<Phase> run(const Options& o,
                       const std::function<std::unique_ptr<Backend>()>& make_backend) {
  std::vector<std::unique_ptr<Backend>> backends;
  backends.reserve(static_cast<std::size_t>(o.clients));
  for (int c = 0; c < o.clients; ++c) backends.push_back(make_backend());
  Backend& b0 = *backends[0];
  std::string base = fmt::format("/kapok-bench-{}", getpid());
  b0.mkdir(base);
  auto dir_of = [&](int c) { return o.unique_dirs ? fmt::format("{}/client{}", base, c) : base; };
  auto file_of = [&](int c, int i) { return fmt::format("{}/f{}-{}", dir_of(c), c, i); };
  std::vector<Phase> phases;
  double n = static_cast<double>(o.clients) * o.files;
  if (o.mode == "mdtest" || o.mode == "smallread") {
    if (o.unique_dirs) {
      for (int c = 0; c < o.clients; ++c) b0.mkdir(dir_of(c));
    }
    std::string payload(o.size, 'k');
    phases.push_back(timed("create", o.clients, n, n * o.size, [&](int c) {
      for (int i = 0; i < o.files; ++i) backends[c]->write_file(file_of(c, i), payload);
    }));
    if (o.mode == "mdtest") {
      phases.push_back(timed("stat", o.clients, n, 0, [&](int c) {
        for (int i = 0; i < o.files; ++i) backends[c]->stat(file_of(c, i));
      }));
      phases.push_back(timed("read", o.clients, n, n * o.size, [&](int c) {
        for (int i = 0; i < o.files; ++i) {
          if (backends[c]->read_file(file_of(c, i), o.size).size() != o.size)
            throw std::runtime_error("short read");
        }
      }));
    } else {
      double reads = static_cast<double>(o.clients) * o.reads;
      phases.push_back(timed("random read", o.clients, reads, reads * o.size, [&](int c) {
        std::mt19937 rng(static_cast<unsigned>(c + 1));
        for (int r = 0; r < o.reads; ++r) {
          int owner = static_cast<int>(rng() % static_cast<unsigned>(o.clients));
          int i = static_cast<int>(rng() % static_cast<unsigned>(o.files));
          if (backends[c]->read_file(file_of(owner, i), o.size).size() != o.size)
            throw std::runtime_error("short read");
        }
      }));
    }
    phases.push_back(timed("remove", o.clients, n, 0, [&](int c) {
      for (int i = 0; i < o.files; ++i) backends[c]->remove(file_of(c, i));
    }));
    if (o.unique_dirs) {
      for (int c = 0; c < o.clients; ++c) b0.rmdir(dir_of(c));
    }
  } else if (o.mode == "ior") {
    std::string block(o.block, 'i');
    double total = static_cast<double>(o.clients) * o.blocks * o.block;
    auto file = [&](int c) {
      return o.n_n ? fmt::format("{}/ior{}", base, c) : base + "/ior-shared";
    };
    // N-1 interleaves: block k of client c at (k * clients + c) * block.
    auto offset = [&](int c, int k) {
      return o.n_n ? std::uint64_t(k) * o.block : (std::uint64_t(k) * o.clients + c) * o.block;
    };
    phases.push_back(timed("write", o.clients, o.clients * o.blocks, total, [&](int c) {
      for (int k = 0; k < o.blocks; ++k) backends[c]->write_at(file(c), offset(c, k), block);
      backends[c]->fsync(file(c));
    }));
    phases.push_back(timed("read", o.clients, o.clients * o.blocks, total, [&](int c) {
      for (int k = 0; k < o.blocks; ++k) {
        if (backends[c]->read_at(file(c), offset(c, k), o.block).size() != o.block) {
          throw std::runtime_error("short read");
        }
      }
    }));
    for (int c = 0; c < (o.n_n ? o.clients : 1); ++c) b0.remove(file(c));
  } else {
    throw std::invalid_argument(fmt::format("unknown mode \"{}\" (see --help)", o.mode));
  }
  b0.rmdir(base);
  return phases;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("kapok-bench");
  return converge::cli::run("kapok-bench", [&] {
    Options o;
    CLI::App app{"mdtest-, small-read- and IOR-like loads on a path or on Kapok (native)",
                 "kapok-bench"};
    app.add_option("mode", o.mode, "mdtest, smallread or ior")
        ->required()
        ->check(CLI::IsMember({"mdtest", "smallread", "ior"}));
    auto* path = app.add_option("--path", o.path, "a mounted file system's directory");
    auto* members = app.add_option("--members", o.members, "Kapok's members file (native client)");
    path->excludes(members);
    app.add_option("--config", o.config, "converge.json with a \"kapok\" section")->needs(members);
    app.add_option("--clients", o.clients, "concurrent clients (threads)")
        ->check(CLI::Range(1, 4096));
    app.add_option("--files", o.files, "files per client (mdtest, smallread)")
        ->check(CLI::Range(1, 100000000));
    app.add_option("--size", o.size, "bytes per file (mdtest, smallread)");
    app.add_flag("--unique-dirs", o.unique_dirs, "mdtest: a directory per client");
    app.add_option("--reads", o.reads, "smallread: reads per client")
        ->check(CLI::Range(1, 1000000000));
    app.add_option("--block", o.block, "ior: block size in bytes")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 34));
    app.add_option("--blocks", o.blocks, "ior: blocks per client")->check(CLI::Range(1, 100000000));
    app.add_flag("--n-n", o.n_n, "ior: a file per client instead of one shared file");
    app.add_option("--label", o.label, "name of this run in the output (default: the backend)");
    app.add_option("--json", o.json, "append the results as one JSON line to FILE");
    converge::cli::parse(app, argc, argv);
    if (o.path.empty() == o.members.empty())
      throw std::invalid_argument("give exactly one of --path and --members");
    std::function<std::unique_ptr<Backend>()> make;
    if (!o.path.empty()) {
      make = [&] { return std::make_unique<PosixBackend>(o.path); };
      if (o.label.empty()) o.label = o.path;
    } else {
      kapok::Members members = kapok::Members::load(o.members);
      kapok::Settings settings = kapok::Settings::load(o.config);
      make = [members, settings] { return std::make_unique<NativeBackend>(members, settings); };
      if (o.label.empty()) o.label = "kapok native";
    }
    auto phases = run(o, make);
    std::string shape = o.mode == "ior"
                            ? fmt::format("{} clients x {} blocks of {} B, {}", o.clients, o.blocks,
                                          o.block, o.n_n ? "N-N" : "N-1")
                            : fmt::format("{} clients x {} files of {} B, {}", o.clients, o.files,
                                          o.size, o.unique_dirs ? "unique dirs" : "one shared dir");
    fmt::print("{} on {} ({})\n", o.mode, o.label, shape);
    fmt::print("  {:<12} {:>10} {:>12} {:>10}\n", "phase", "seconds", "ops/s", "MiB/s");
    nlohmann::json j{
        {"mode", o.mode}, {"label", o.label}, {"shape", shape}, {"clients", o.clients}};
    for (const auto& p : phases) {
      double ops = p.ops / p.seconds, mib = p.bytes / p.seconds / (1 << 20);
      fmt::print("  {:<12} {:>10.3f} {:>12.0f} {:>10.1f}\n", p.name, p.seconds, ops, mib);
      j["phases"].push_back(
          {{"phase", p.name}, {"seconds", p.seconds}, {"ops_per_s", ops}, {"mib_per_s", mib}});
    }
    if (!o.json.empty()) std::ofstream(o.json, std::ios::app) << j.dump() << '\n';
    return 0;
  });
}
