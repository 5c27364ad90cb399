// SPDX-License-Identifier: GPL-2.0-or-later
//
// POSIX behaviour through the kapok-fuse mount of the "kapok" fixture, with
// the errno of every failure checked, and a randomized run compared against
// the same operations on a local directory.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "converge/poll.h"
#include "converge/process.h"

namespace fs = std::filesystem;

namespace {

const std::string kMount = std::string(KAPOK_TEST_DIR) + "/mnt";

class Posix : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fmt::format("{}/{}-{}", kMount,
                       ::testing::UnitTest::GetInstance()->current_test_info()->name(), getpid());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0) << std::strerror(errno);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

int errno_after(int rc) {
  return rc < 0 ? errno : 0;
}

}  // namespace

TEST_F(Posix, OpenFlags) {
  int fd = ::open(path("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "hello world", 11), 11);
  close(fd);
  EXPECT_EQ(errno_after(::open(path("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
  EXPECT_EQ(errno_after(::open(path("missing").c_str(), O_RDONLY)), ENOENT);
  fd = ::open(path("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_EQ(write(fd, "!", 1), 1);
  close(fd);
  EXPECT_EQ(read_all(path("f")), "hello world!");
  fd = ::open(path("f").c_str(), O_WRONLY | O_TRUNC);
  close(fd);
  EXPECT_EQ(fs::file_size(path("f")), 0u);
  EXPECT_EQ(errno_after(::open(path("f/x").c_str(), O_CREAT | O_WRONLY, 0644)), ENOTDIR);
  EXPECT_EQ(errno_after(::open(dir_.c_str(), O_WRONLY)), EISDIR);
}

TEST_F(Posix, PreadPwriteAcrossTheInlineThresholdAndTruncate) {
  int fd = ::open(path("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  std::string a(50000, 'a'), b(50000, 'b');
  ASSERT_EQ(pwrite(fd, a.data(), a.size(), 0), 50000);
  ASSERT_EQ(pwrite(fd, b.data(), b.size(), 40000),
            50000);  // crosses 64 KiB: the file moves out of line
  char buffer[20];
  ASSERT_EQ(pread(fd, buffer, 20, 39990), 20);
  EXPECT_EQ(std::string(buffer, 20), std::string(10, 'a') + std::string(10, 'b'));
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 90000);
  ASSERT_EQ(ftruncate(fd, 100), 0);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 100);
  ASSERT_EQ(::truncate(path("f").c_str(), 200), 0);
  std::string all = read_all(path("f"));
  EXPECT_EQ(all, std::string(100, 'a') + std::string(100, '\0'));
  EXPECT_EQ(fsync(fd), 0);
  close(fd);
}

TEST_F(Posix, NamespaceOperations) {
  ASSERT_EQ(::mkdir(path("d").c_str(), 0755), 0);
  EXPECT_EQ(errno_after(::mkdir(path("d").c_str(), 0755)), EEXIST);
  std::ofstream(path("d/inside")) << "x";
  EXPECT_EQ(errno_after(::rmdir(path("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(errno_after(::unlink(path("d").c_str())), EISDIR);
  EXPECT_EQ(errno_after(::rmdir(path("d/inside").c_str())), ENOTDIR);
  EXPECT_EQ(errno_after(::rmdir(path("nothing").c_str())), ENOENT);

  std::ofstream(path("a")) << "content";
  ASSERT_EQ(::rename(path("a").c_str(), path("b").c_str()), 0);
  EXPECT_EQ(errno_after(::access(path("a").c_str(), F_OK)), ENOENT);
  EXPECT_EQ(read_all(path("b")), "content");
  std::ofstream(path("c")) << "other";
  ASSERT_EQ(::rename(path("c").c_str(), path("b").c_str()), 0);  // replaces b
  EXPECT_EQ(read_all(path("b")), "other");

  ASSERT_EQ(::link(path("b").c_str(), path("hard").c_str()), 0);
  struct stat st;
  ASSERT_EQ(::stat(path("b").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(::unlink(path("b").c_str()), 0);
  EXPECT_EQ(read_all(path("hard")), "other");

  ASSERT_EQ(::symlink("hard", path("sym").c_str()), 0);
  char target[64] = {};
  ASSERT_EQ(::readlink(path("sym").c_str(), target, sizeof target), 4);
  EXPECT_STREQ(target, "hard");
  EXPECT_EQ(read_all(path("sym")), "other");
  EXPECT_EQ(errno_after(::readlink(path("hard").c_str(), target, sizeof target)), EINVAL);

  std::set<std::string> names;
  DIR* d = ::opendir(dir_.c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = ::readdir(d)) names.insert(e->d_name);
  ::closedir(d);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "d", "hard", "sym"}));
}

TEST_F(Posix, AttributesAndStatfs) {
  std::ofstream(path("f")) << "x";
  ASSERT_EQ(::chmod(path("f").c_str(), 0600), 0);
  ASSERT_EQ(::chown(path("f").c_str(), 1234, 5678), 0);
  timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path("f").c_str(), times, 0), 0);
  struct stat st;
  ASSERT_EQ(::stat(path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(kMount.c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_namemax, 255u);
  EXPECT_GT(vfs.f_blocks, 0u);
}

TEST_F(Posix, PermissionsAreCheckedByUidAndGid) {
  std::ofstream(path("private")) << "secret";
  ASSERT_EQ(::chmod(path("private").c_str(), 0600), 0);
  std::ofstream(path("readable")) << "public";
  ASSERT_EQ(::chmod(path("readable").c_str(), 0644), 0);
  pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    int result = 0;
    if (errno_after(::open(path("private").c_str(), O_RDONLY)) != EACCES) result |= 1;
    if (errno_after(::open(path("readable").c_str(), O_WRONLY)) != EACCES) result |= 2;
    int fd = ::open(path("readable").c_str(), O_RDONLY);
    if (fd < 0) result |= 4;
    close(fd);
    if (errno_after(::mkdir(path("nope").c_str(), 0755)) != EACCES) result |= 8;
    if (errno_after(::unlink(path("readable").c_str())) != EACCES) result |= 16;
    _exit(result);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit mask of failed checks";
}

TEST_F(Posix, RandomizedOperationsMatchALocalDirectory) {
  std::string local = fmt::format("/tmp/kapok-posix-reference-{}", getpid());
  fs::remove_all(local);
  fs::create_directories(local);
  // Names in three directories, one of them split over the metadata servers
  // (the test instance splits past 64 entries), so renames cross servers.
  for (const std::string& root : {local, dir_}) {
    fs::create_directories(root + "/big");
    fs::create_directories(root + "/sub");
    for (int i = 0; i < 80; ++i) std::ofstream(root + "/big/filler" + std::to_string(i));
  }
  std::mt19937 rng(20261127);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> names{"a", "b", "c", "big/d", "big/e", "big/f", "sub/g", "sub/h"};
  const int count = static_cast<int>(names.size());
  for (int op = 0; op < 500; ++op) {
    std::string name = names[pick(count)], other = names[pick(count)];
    int kind = pick(6);
    // Applies the operation under `root`; returns 0 or the errno it failed with.
    auto apply = [&](const std::string& root) {
      std::string p = root + "/" + name, q = root + "/" + other;
      int rc = 0;
      if (kind == 0) {  // create, or write at a random offset
        int fd = ::open(p.c_str(), O_CREAT | O_WRONLY, 0644);
        if (fd < 0) return errno;
        std::mt19937 data_rng(static_cast<unsigned>(op));
        std::string data(static_cast<std::size_t>(data_rng() % 150000),
                         static_cast<char>('A' + op % 26));
        rc = pwrite(fd, data.data(), data.size(), static_cast<off_t>(data_rng() % 120000)) < 0 ? -1
                                                                                               : 0;
        int saved = errno;
        close(fd);
        errno = saved;
      } else if (kind == 1) {
        rc = ::truncate(p.c_str(), static_cast<off_t>((op * 7919) % 200000));
      } else if (kind == 2) {
        rc = ::rename(p.c_str(), q.c_str());
      } else if (kind == 3) {
        rc = ::unlink(p.c_str());
      } else {
        rc = ::access(p.c_str(), F_OK);
      }
      return rc < 0 ? errno : 0;
    };
    int expected = apply(local);
    ASSERT_EQ(apply(dir_), expected) << "op " << op << " kind " << kind << " on " << name;
    // Compare the whole directory after every operation.
    for (const auto& n : names) {
      bool in_local = fs::exists(local + "/" + n), in_kapok = fs::exists(dir_ + "/" + n);
      ASSERT_EQ(in_local, in_kapok) << "op " << op << " file " << n;
      if (in_local) {
        ASSERT_EQ(read_all(local + "/" + n), read_all(dir_ + "/" + n))
            << "op " << op << " file " << n;
      }
    }
  }
  fs::remove_all(local);
}

namespace {

bool mounted(const std::string& path) {
  std::ifstream mounts("/proc/mounts");
  for (std::string line; std::getline(mounts, line);)
    if (line.find(" " + path + " ") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_F(Posix, ASecondClientSeesWhatTheFirstWroteAndClosedWhenItOpens) {
  // A second FUSE client of the same servers, as on another node.
  std::string other = std::string(KAPOK_TEST_DIR) + "/mnt-other";
  fs::create_directories(other);
  converge::process::SpawnOptions options;
  options.argv = {std::string(CONVERGE_BIN_DIR) + "/kapok-fuse", "--members",
                  std::string(KAPOK_TEST_DIR) + "/members.json", "-f", other};
  options.log_path = std::string(KAPOK_TEST_DIR) + "/log/fuse-other.log";
  auto fuse = converge::process::spawn_detached(options);
  ASSERT_TRUE(converge::poll_until(std::chrono::seconds(20), std::chrono::milliseconds(20),
                                   [&] { return mounted(other); }));
  std::string name = fs::path(dir_).filename().string() + "/grows";
  std::string here = path("grows"), there = other + "/" + name;
  std::string content = "first part\n";
  std::ofstream(here) << content;
  struct stat st {};
  ASSERT_EQ(::stat(there.c_str(), &st), 0);  // the other client caches the size now
  EXPECT_EQ(st.st_size, off_t(content.size()));
  for (int round = 0; round < 5; ++round) {
    std::string more(1000 * (round + 1), char('a' + round));
    std::ofstream(here, std::ios::app) << more;
    content += more;
    // Within the other client's attribute cache time: open, then stat and read.
    int fd = ::open(there.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, off_t(content.size())) << "round " << round;
    ::close(fd);
    EXPECT_EQ(read_all(there), content) << "round " << round;
  }
  converge::process::run({"fusermount3", "-u", other});
  converge::process::terminate(fuse, std::chrono::seconds(5));
}
