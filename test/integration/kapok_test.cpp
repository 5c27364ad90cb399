// SPDX-License-Identifier: GPL-2.0-or-later
//
// Kapok on a real local instance: 4 metadata and 4 data servers started by
// kapok-local (the CTest fixture "kapok"), driven through libkapok.
#include "kapok/client/client.h"
#include "kapok/client/open_file.h"
#include "converge/poll.h"
#include "converge/process.h"
#include "support/abuse.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

using namespace kapok;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace process = converge::process;

namespace {

const std::string kDir = KAPOK_TEST_DIR;
const std::string kBin = CONVERGE_BIN_DIR;

Client make_client(std::chrono::milliseconds timeout = 10s) {
  Settings settings;
  settings.rpc_timeout = timeout;
  return Client(Members::load(kDir + "/members.json"), settings);
}

std::string pattern(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

int errno_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

// A directory of its own for each test.
std::uint64_t fresh_dir(Client& c, const std::string& name) {
  return c.mkdir(kRootIno, name + "-" + std::to_string(getpid()), 0755, 0, 0).ino;
}

// Two fresh directories whose entries live on different metadata servers.
std::pair<std::uint64_t, std::uint64_t> dirs_on_two_servers(Client& c, const std::string& name) {
  Placement placement(4);
  std::uint64_t first = fresh_dir(c, name + "-a");
  for (int i = 0;; ++i) {
    std::uint64_t d = fresh_dir(c, name + "-b" + std::to_string(i));
    if (placement.home(d) != placement.home(first)) return {first, d};
  }
}

std::vector<std::uint64_t> status_counts(Client& c, const std::string& field) {
  std::vector<std::uint64_t> out;
  for (std::uint32_t i = 0; i < 4; ++i)
    out.push_back(nlohmann::json::parse(c.server_status(true, i))[field].get<std::uint64_t>());
  return out;
}

int chunk_dirs(std::uint64_t ino) {
  int n = 0;
  for (int i = 0; i < 4; ++i)
    n += fs::exists(fmt::format("{}/servers/ds{}/chunks/{:016x}", kDir, i, ino));
  return n;
}

}  // namespace

TEST(Kapok, SmallFilesStayInlineAndLargeFilesStripe) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "placement");
  Attr small = c.create(dir, "small", S_IFREG | 0644, 0, 0, true);
  c.write(small.ino, 0, "tiny");
  EXPECT_TRUE(c.getattr(small.ino).inline_data);
  EXPECT_EQ(c.read(small.ino, 0, 100), "tiny");

  Attr big = c.create(dir, "big", S_IFREG | 0644, 0, 0, true);
  std::string data = pattern(3 * (1u << 20) + 12345, 1);
  c.write(big.ino, 0, data);
  Attr a = c.getattr(big.ino);
  EXPECT_FALSE(a.inline_data);
  EXPECT_EQ(a.size, data.size());
  EXPECT_EQ(a.layout.servers.size(), 4u);  // all data servers by default
  EXPECT_EQ(c.read(big.ino, 0, data.size()), data);
  EXPECT_EQ(c.read(big.ino, (1u << 20) - 10, 20),
            data.substr((1u << 20) - 10, 20));  // across a chunk boundary
}

TEST(Kapok, GrowingPastTheInlineThresholdKeepsTheData) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "grow");
  Attr f = c.create(dir, "f", S_IFREG | 0644, 0, 0, true);
  std::string head = pattern(40000, 2), tail = pattern(60000, 3);
  c.write(f.ino, 0, head);
  ASSERT_TRUE(c.getattr(f.ino).inline_data);
  c.write(f.ino, head.size(), tail);  // 100000 bytes > 64 KiB: moves out of line
  Attr a = c.getattr(f.ino);
  EXPECT_FALSE(a.inline_data);
  EXPECT_EQ(c.read(f.ino, 0, 200000), head + tail);
}

TEST(Kapok, TruncateShrinksGrowsAndReadsHolesAsZeros) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "truncate");
  Attr f = c.create(dir, "f", S_IFREG | 0644, 0, 0, true);
  std::string data = pattern(2500000, 4);
  c.write(f.ino, 0, data);
  c.truncate(f.ino, 1500000);
  EXPECT_EQ(c.getattr(f.ino).size, 1500000u);
  EXPECT_EQ(c.read(f.ino, 0, 3000000), data.substr(0, 1500000));
  c.truncate(f.ino, 2000000);
  std::string grown = c.read(f.ino, 0, 3000000);
  EXPECT_EQ(grown.substr(0, 1500000), data.substr(0, 1500000));
  EXPECT_EQ(grown.substr(1500000), std::string(500000, '\0'));
  Attr s = c.create(dir, "s", S_IFREG | 0644, 0, 0, true);
  c.write(s.ino, 10, "x");  // a hole in an inline file
  EXPECT_EQ(c.read(s.ino, 0, 100), std::string(10, '\0') + "x");
}

TEST(Kapok, ErrorsAreErrnoValues) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "errors");
  c.create(dir, "f", S_IFREG | 0644, 0, 0, true);
  EXPECT_EQ(errno_of([&] { c.create(dir, "f", S_IFREG | 0644, 0, 0, true); }), EEXIST);
  EXPECT_EQ(errno_of([&] { c.create(dir, "f", S_IFREG | 0644, 0, 0, false); }),
            0);  // O_CREAT without O_EXCL
  EXPECT_EQ(errno_of([&] { c.lookup(dir, "missing"); }), ENOENT);
  EXPECT_EQ(errno_of([&] { c.create(dir, "bad/name", S_IFREG | 0644, 0, 0, true); }), EINVAL);
  EXPECT_EQ(errno_of([&] { c.create(dir, std::string(256, 'n'), S_IFREG | 0644, 0, 0, true); }),
            ENAMETOOLONG);
  Attr sub = c.mkdir(dir, "sub", 0755, 0, 0);
  c.create(sub.ino, "inside", S_IFREG | 0644, 0, 0, true);
  EXPECT_EQ(errno_of([&] { c.rmdir(dir, "sub"); }), ENOTEMPTY);
  EXPECT_EQ(errno_of([&] { c.unlink(dir, "sub"); }), EISDIR);
  EXPECT_EQ(errno_of([&] { c.rmdir(dir, "f"); }), ENOTDIR);
  EXPECT_EQ(errno_of([&] { c.read(sub.ino, 0, 10); }), EISDIR);
  c.unlink(sub.ino, "inside");
  EXPECT_EQ(errno_of([&] { c.rmdir(dir, "sub"); }), 0);
  EXPECT_EQ(errno_of([&] { c.getattr(sub.ino); }), ENOENT);
}

TEST(Kapok, RenameAndUnlinkRemoveWhatTheyReplace) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "rename");
  Attr a = c.create(dir, "a", S_IFREG | 0644, 0, 0, true);
  Attr b = c.create(dir, "b", S_IFREG | 0644, 0, 0, true);
  c.write(a.ino, 0, pattern(200000, 5));
  c.write(b.ino, 0, pattern(200000, 6));
  c.rename(dir, "a", dir, "b");  // replaces b: its chunks go
  EXPECT_EQ(errno_of([&] { c.lookup(dir, "a"); }), ENOENT);
  EXPECT_EQ(c.lookup(dir, "b").ino, a.ino);
  EXPECT_EQ(c.read(a.ino, 0, 200000), pattern(200000, 5));
  EXPECT_EQ(errno_of([&] { c.getattr(b.ino); }), ENOENT);
  EXPECT_EQ(chunk_dirs(b.ino), 0);
  EXPECT_GT(chunk_dirs(a.ino), 0);
  c.unlink(dir, "b");
  EXPECT_EQ(chunk_dirs(a.ino), 0);
}

TEST(Kapok, RenameAndHardLinksAcrossMetadataServers) {
  Client c = make_client();
  auto [a, b] = dirs_on_two_servers(c, "across");
  Attr f = c.create(a, "f", S_IFREG | 0644, 0, 0, true);
  Attr old = c.create(b, "old", S_IFREG | 0644, 0, 0, true);
  c.write(f.ino, 0, pattern(200000, 7));
  c.write(old.ino, 0, pattern(150000, 8));
  c.rename(a, "f", b, "old");  // across servers, replacing a striped file
  EXPECT_EQ(errno_of([&] { c.lookup(a, "f"); }), ENOENT);
  Attr moved = c.lookup(b, "old");
  EXPECT_EQ(moved.ino, f.ino);
  EXPECT_EQ(moved.nlink, 1u);
  EXPECT_EQ(c.read(f.ino, 0, 300000), pattern(200000, 7));
  EXPECT_EQ(errno_of([&] { c.getattr(old.ino); }), ENOENT);
  EXPECT_EQ(chunk_dirs(old.ino), 0);
  EXPECT_EQ(errno_of([&] {
              c.rename(b, "old", a, "x", false);
              c.rename(a, "x", b, "old");
            }),
            0);

  Attr linked = c.link(f.ino, a, "again");  // entry on one server, inode on another
  EXPECT_EQ(linked.nlink, 2u);
  EXPECT_EQ(c.lookup(a, "again").ino, f.ino);
  EXPECT_EQ(errno_of([&] { c.link(f.ino, a, "again"); }), EEXIST);
  EXPECT_EQ(c.getattr(f.ino).nlink, 2u);
  c.unlink(b, "old");
  EXPECT_EQ(c.getattr(f.ino).nlink, 1u);
  EXPECT_EQ(c.read(f.ino, 0, 300000), pattern(200000, 7));
  c.unlink(a, "again");
  EXPECT_EQ(errno_of([&] { c.getattr(f.ino); }), ENOENT);
  EXPECT_EQ(chunk_dirs(f.ino), 0);

  // Directories move with their contents; only an empty one may be replaced.
  Attr sub = c.mkdir(a, "sub", 0755, 0, 0);
  c.create(sub.ino, "inner", S_IFREG | 0644, 0, 0, true);
  c.rename(a, "sub", b, "sub");
  EXPECT_EQ(c.lookup(b, "sub").ino, sub.ino);
  EXPECT_EQ(c.getattr(sub.ino).nlink, 2u);
  ASSERT_EQ(c.readdir(sub.ino).size(), 1u);
  Attr vacant = c.mkdir(a, "vacant", 0755, 0, 0);
  EXPECT_EQ(errno_of([&] { c.rename(a, "vacant", b, "sub"); }), ENOTEMPTY);
  EXPECT_EQ(c.create(sub.ino, "after", S_IFREG | 0644, 0, 0, true).nlink, 1u);  // thawed
  c.rename(b, "sub", a, "vacant");
  EXPECT_EQ(errno_of([&] { c.getattr(vacant.ino); }), ENOENT);
  EXPECT_EQ(c.lookup(a, "vacant").ino, sub.ino);
  EXPECT_EQ(errno_of([&] { c.rename(a, "vacant", b, "new", true); }), 0);
  c.create(a, "taken", S_IFREG | 0644, 0, 0, true);
  EXPECT_EQ(errno_of([&] { c.rename(b, "new", a, "taken", true); }), EEXIST);
}

TEST(Kapok, LargeDirectoriesSplitOverAllMetadataServers) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "split");
  auto before = status_counts(c, "directory_entries");
  constexpr int kFiles = 1000;  // the test instance splits directories past 64 entries
  for (int i = 0; i < kFiles; ++i) {
    Attr f = c.create(dir, "f" + std::to_string(i), S_IFREG | 0644, 0, 0, true);
    if (i % 100 == 0) c.write(f.ino, 0, "data " + std::to_string(i));
  }
  auto after = status_counts(c, "directory_entries");
  for (std::size_t s = 0; s < 4; ++s) EXPECT_GT(after[s] - before[s], kFiles / 8u) << "mds" << s;
  for (auto n : status_counts(c, "split_directories")) EXPECT_GE(n, 1u);

  // A client that has never seen the directory is redirected by its home.
  Client fresh = make_client();
  auto listed = fresh.readdir(dir);
  ASSERT_EQ(listed.size(), std::size_t{kFiles});
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end(),
                             [](const DirEntry& x, const DirEntry& y) { return x.name < y.name; }));
  for (int i = 0; i < kFiles; i += 7) EXPECT_NO_THROW(fresh.lookup(dir, "f" + std::to_string(i)));
  EXPECT_EQ(fresh.read(fresh.lookup(dir, "f500").ino, 0, 100), "data 500");

  // Renames between virtual directories keep the file under one name.
  for (int i = 0; i < 50; ++i)
    fresh.rename(dir, "f" + std::to_string(i), dir, "g" + std::to_string(i));
  EXPECT_EQ(errno_of([&] { c.lookup(dir, "f0"); }), ENOENT);
  EXPECT_EQ(c.read(c.lookup(dir, "g0").ino, 0, 100), "data 0");
  EXPECT_EQ(c.readdir(dir).size(), std::size_t{kFiles});

  // rmdir sees an entry left on any server.
  Placement placement(4);
  std::string last;
  for (const auto& e : c.readdir(dir)) {
    if (last.empty() && placement.server_of(dir, e.name, true) != placement.home(dir)) {
      last = e.name;
      continue;
    }
    c.unlink(dir, e.name);
  }
  ASSERT_FALSE(last.empty());
  auto [parent, name] = c.parent_of(fmt::format("/split-{}", getpid()));
  EXPECT_EQ(errno_of([&] { c.rmdir(parent, name); }), ENOTEMPTY);
  c.unlink(dir, last);
  EXPECT_EQ(errno_of([&] { c.rmdir(parent, name); }), 0);
  EXPECT_EQ(errno_of([&] { fresh.create(dir, "late", S_IFREG | 0644, 0, 0, true); }), ENOENT);
}

TEST(Kapok, RmdirRacingCreatesLeavesNoEntryBehind) {
  Client c = make_client();
  std::uint64_t parent = fresh_dir(c, "race");
  for (int round = 0; round < 10; ++round) {
    std::string name = "r" + std::to_string(round);
    std::uint64_t dir = c.mkdir(parent, name, 0755, 0, 0).ino;
    std::atomic<int> orphans{0}, created{0};
    std::thread creator([&] {
      Client cc = make_client();
      for (int i = 0; i < 200; ++i) {
        std::string f = "x" + std::to_string(i);
        try {
          cc.create(dir, f, S_IFREG | 0644, 0, 0, true);
        } catch (const Error& e) {
          if (e.code() == ENOENT) return;  // the directory is gone
          throw;
        }
        ++created;
        // A file created must still be there to remove: rmdir may not win in between.
        if (errno_of([&] { cc.unlink(dir, f); }) != 0) ++orphans;
      }
    });
    // Race only once the creator is busy.
    ASSERT_TRUE(converge::poll_until(10s, 1ms, [&] { return created >= 20; }));
    int attempts = 0;
    while (errno_of([&] { c.rmdir(parent, name); }) == ENOTEMPTY) ++attempts;
    creator.join();
    EXPECT_EQ(orphans.load(), 0) << "round " << round << " after " << attempts << " attempts";
    EXPECT_EQ(errno_of([&] { c.lookup(parent, name); }), ENOENT);
  }
}

TEST(Kapok, TwoClientsCreatingInOneDirectoryLoseNothing) {
  Client setup = make_client();
  std::uint64_t dir = fresh_dir(setup, "shared");
  constexpr int kPerClient = 50000;  // 100,000 files in one directory
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      Client c = make_client();
      for (int i = 0; i < kPerClient; ++i) {
        Attr f = c.create(dir, fmt::format("c{}-{}", t, i), S_IFREG | 0644, 0, 0, true);
        if (i % 1000 == 999) c.write(f.ino, 0, fmt::format("{}:{}", t, i));
      }
    });
  }
  for (auto& t : clients) t.join();
  auto entries = setup.readdir(dir);
  EXPECT_EQ(entries.size(), 2u * kPerClient);
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.name);
  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < kPerClient; ++i)
      ASSERT_TRUE(names.contains(fmt::format("c{}-{}", t, i))) << t << " " << i;
  }
  EXPECT_EQ(setup.read(setup.lookup(dir, "c1-49999").ino, 0, 100), "1:49999");
  // The directory was split: every metadata server holds a share of it.
  for (auto n : status_counts(setup, "directory_entries")) EXPECT_GT(n, 2u * kPerClient / 8);
}

TEST(Kapok, KillNineOfServersLosesNothingFsynced) {
  Client c = make_client(500ms);
  std::uint64_t dir = fresh_dir(c, "crash");
  std::vector<std::pair<std::uint64_t, std::string>> files;
  for (int i = 0; i < 20; ++i) {
    Attr f = c.create(dir, "f" + std::to_string(i), S_IFREG | 0644, 0, 0, true);
    std::string data = pattern(i % 2 ? 300000 : 3000, 100 + i);
    c.write(f.ino, 0, data);
    c.fsync(f.ino);
    files.emplace_back(f.ino, data);
  }
  // Kill the metadata server of the directory's entries and a data server.
  std::uint32_t mds = kapok::Placement(4).home(dir);
  for (const std::string& name : {fmt::format("mds{}", mds), std::string("ds1")}) {
    auto id = process::read_pid_file(kDir + "/run/" + name + ".pid");
    ASSERT_TRUE(id && process::alive(*id)) << name;
    kill(id->pid, SIGKILL);
    ASSERT_TRUE(converge::poll_until(10s, 10ms, [&] { return !process::alive(*id); }));
  }
  // While they are down, calls that need them fail in bounded time.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(errno_of([&] { c.readdir(dir); }), ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  auto up =
      process::run({kBin + "/kapok-local", "up", "--dir", kDir, "--base-port", KAPOK_TEST_PORT});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("(2 started)"), std::string::npos) << up.output;
  Client after = make_client();
  EXPECT_EQ(after.readdir(dir).size(), files.size());
  for (const auto& [ino, data] : files)
    EXPECT_EQ(after.read(ino, 0, data.size() + 10), data) << ino;
}

TEST(Kapok, OpenFilesAggregateWritesAndReadAhead) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "aggregate");
  Attr f = c.create(dir, "f", S_IFREG | 0644, 0, 0, true);
  std::string expected;
  std::uint64_t before = c.calls();
  {
    OpenFile file(c, f.ino);
    for (int i = 0; i < 2000; ++i) {  // 2000 short appends, 400 KB in all
      std::string piece = pattern(200, static_cast<unsigned>(i));
      file.write(expected.size(), piece);
      expected += piece;
    }
    file.fsync();
  }
  std::uint64_t write_calls = c.calls() - before;
  EXPECT_LT(write_calls, 40u) << "2000 writes were not merged";
  EXPECT_EQ(c.read(f.ino, 0, expected.size() + 1), expected);

  // Sequential 4 KiB reads: one call fetches a window ahead for the next ones.
  before = c.calls();
  std::string back;
  {
    OpenFile file(c, f.ino);
    for (std::size_t off = 0; off < expected.size(); off += 4096) back += file.read(off, 4096);
  }
  EXPECT_EQ(back, expected);
  EXPECT_LT(c.calls() - before, 40u) << "98 sequential reads were not served from read-ahead";

  // A read sees the bytes still buffered by the same open file.
  OpenFile file(c, f.ino);
  file.write(10, "XYZ");
  EXPECT_EQ(file.read(8, 7), expected.substr(8, 2) + "XYZ" + expected.substr(13, 2));
}

// ---- the instance belongs to its owner (root here): nobody else gets in ----

TEST(Kapok, AnotherUserCannotReachTheServersNorPassAsOne) {
  Client c = make_client();
  std::uint64_t dir = fresh_dir(c, "intruder");
  Attr victim = c.create(dir, "victim", S_IFREG | 0600, 0, 0, true);
  // A second user, with the members file in hand, calls the servers directly.
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(101);
    Settings settings;
    settings.rpc_timeout = 5s;
    try {
      Client intruder(Members::load(kDir + "/members.json"), settings);
      int refused = 0;
      refused += errno_of([&] { intruder.getattr(victim.ino); }) == EACCES;
      refused += errno_of([&] { intruder.lookup(dir, "victim"); }) == EACCES;
      refused +=
          errno_of([&] { intruder.create(dir, "planted", S_IFREG | 04777, 0, 0, true); }) == EACCES;
      _exit(refused == 3 ? 0 : 1);
    } catch (...) {
      _exit(102);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: a call went through";
  EXPECT_EQ(errno_of([&] { c.lookup(dir, "planted"); }), ENOENT);
  EXPECT_EQ(c.getattr(victim.ino).mode & 07777, 0600u);
}

// One metadata server under the abuse of test/support/abuse.h (1000 idle
// connections, 100 slow senders trickling their handshake, 20 frame headers
// claiming 64 MiB). A well-behaved client is still served within a generous
// bound, and the server's memory stays bounded.
TEST(Kapok, AnAbusedServerKeepsServingWithBoundedMemory) {
  ASSERT_TRUE(converge::testing::raise_file_limit()) << "too few file descriptors for the abuse";
  auto server = process::read_pid_file(kDir + "/run/mds0.pid");
  ASSERT_TRUE(server);
  auto port = Members::load(kDir + "/members.json").mds.at(0).port;
  // A frame header claiming a 64 MiB body, and nothing after it.
  const std::string oversized{'\x00', '\x00', '\x00', '\x04', 0, 0,   0, 0, 0, 0,
                              0,      1,      0,      0,      0, 101, 0, 0, 0, 0};
  auto report = converge::testing::abuse(port, server->pid, oversized, [&] {
    try {
      Client c = make_client(20s);
      c.server_status(true, 0);  // the abused server itself
      return true;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a well-behaved client was not served: " << e.what();
      return false;
    }
  });
  std::cout << fmt::format(
      "abuse of one metadata server: {} of {} well-behaved calls served, slowest {} ms, in {} ms; "
      "resident {} MiB before, {} MiB under abuse\n",
      report.served, report.calls, report.slowest.count(), report.total.count(),
      report.resident_before_kib / 1024, report.resident_during_kib / 1024);
  EXPECT_EQ(report.served, report.calls);
  EXPECT_LT(report.slowest, 10s);
  EXPECT_LT(report.resident_during_kib - report.resident_before_kib, 200 * 1024) << "KiB of growth";
  EXPECT_TRUE(process::alive(*server));
}
