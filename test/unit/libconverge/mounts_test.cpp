// SPDX-License-Identifier: GPL-2.0-or-later
//
// mounts::unmount_owned against a real FUSE mount served from this process,
// whose lookups never answer: a walk that asked it anything would hang.
#define FUSE_USE_VERSION 35
#include "converge/mounts.h"

#include <fuse_lowlevel.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <thread>

namespace mounts = converge::mounts;
namespace fs = std::filesystem;

namespace {

constexpr const char* kType = "fuse.convergetest";

void root_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st {};
  st.st_ino = FUSE_ROOT_ID;
  st.st_mode = S_IFDIR | 0755;
  st.st_nlink = 2;
  fuse_reply_attr(req, &st, 0);
}

// Never answered (until the mount goes): the daemon that stalls a walk.
void stalled_lookup(fuse_req_t, fuse_ino_t, const char*) {}

// A FUSE file system mounted at `point` by this process (so user_id=0),
// served by a thread until the mount is gone.
class StalledFuse {
 public:
  explicit StalledFuse(const fs::path& point) : point_(point) {
    static const fuse_lowlevel_ops ops = [] {
      fuse_lowlevel_ops o{};
      o.getattr = root_getattr;
      o.lookup = stalled_lookup;
      return o;
    }();
    const char* argv[] = {"mounts_test", "-o", "subtype=convergetest,fsname=convergetest"};
    fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
    session_ = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    fuse_opt_free_args(&args);
    if (!session_ || fuse_session_mount(session_, point_.c_str()) != 0) {
      throw std::runtime_error("cannot mount a FUSE file system at " + point_.string());
    }
    loop_ = std::thread([this] { fuse_session_loop(session_); });
  }
  ~StalledFuse() {
    fuse_session_exit(session_);
    // Detaching the mount ends the loop's read of /dev/fuse.
    mounts::unmount(point_.string());
    loop_.join();
    fuse_session_unmount(session_);
    fuse_session_destroy(session_);
  }

 private:
  fs::path point_;
  fuse_session* session_ = nullptr;
  std::thread loop_;
};

class UnmountOwned : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "root's cleanup path: needs root";
    if (access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/fuse";
    dir_ = fs::temp_directory_path() / ("converge-mounts-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "job" / "mnt");
  }
  void TearDown() override {
    if (!dir_.empty()) {
      mounts::unmount((dir_ / "job" / "mnt").string());
      fs::remove_all(dir_);
    }
  }
  fs::path dir_;
};

}  // namespace

TEST_F(UnmountOwned, DetachesTheOwnersMountOnly) {
  const fs::path point = dir_ / "job" / "mnt";
  StalledFuse fuse(point);
  ASSERT_TRUE(mounts::is_mounted(point.string(), kType));

  std::string why;
  EXPECT_EQ(mounts::unmount_owned(point.string(), "fuse.kapok", 0),
            mounts::UnmountOutcome::kNotMounted);
  EXPECT_EQ(mounts::unmount_owned(point.string(), kType, 4242, &why),
            mounts::UnmountOutcome::kNotMounted);
  EXPECT_TRUE(mounts::is_mounted(point.string(), kType));

  EXPECT_EQ(mounts::unmount_owned(point.string(), kType, 0, &why),
            mounts::UnmountOutcome::kDetached)
      << why;
  EXPECT_FALSE(mounts::is_mounted(point.string()));
  EXPECT_EQ(mounts::unmount_owned(point.string(), kType, 0), mounts::UnmountOutcome::kNotMounted);
}

// The job's user swaps a directory of the path for a symlink (to somebody
// else's job directory, say): root does not follow it.
TEST_F(UnmountOwned, RefusesASymlinkInThePath) {
  StalledFuse fuse(dir_ / "job" / "mnt");
  fs::rename(dir_ / "job", dir_ / "job-real");
  fs::create_directory_symlink(dir_ / "job-real", dir_ / "job");
  std::string why;
  EXPECT_EQ(mounts::unmount_owned((dir_ / "job" / "mnt").string(), kType, 0, &why),
            mounts::UnmountOutcome::kRefused);
  EXPECT_NE(why.find("symlink"), std::string::npos) << why;
  EXPECT_TRUE(mounts::is_mounted((dir_ / "job-real" / "mnt").string(), kType));
  fs::remove(dir_ / "job");
  fs::rename(dir_ / "job-real", dir_ / "job");
}

// A path that runs through a FUSE file system (the user's own, say, whose
// daemon never answers) is refused without asking the daemon anything.
TEST_F(UnmountOwned, NeverLooksUpInsideAFuseFileSystem) {
  const fs::path point = dir_ / "job" / "mnt";
  StalledFuse fuse(point);
  std::string why;
  // A test that hangs here has asked the stalled daemon for "inner".
  EXPECT_EQ(mounts::unmount_owned((point / "inner" / "mnt").string(), kType, 0, &why),
            mounts::UnmountOutcome::kRefused);
  EXPECT_NE(why.find("FUSE"), std::string::npos) << why;
  EXPECT_TRUE(mounts::is_mounted(point.string(), kType));
}

TEST_F(UnmountOwned, AMissingPathIsNotMounted) {
  EXPECT_EQ(mounts::unmount_owned((dir_ / "nowhere" / "mnt").string(), kType, 0),
            mounts::UnmountOutcome::kNotMounted);
  EXPECT_EQ(mounts::unmount_owned("relative/mnt", kType, 0), mounts::UnmountOutcome::kRefused);
}
