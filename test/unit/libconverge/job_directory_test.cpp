// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/job_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace fs = std::filesystem;
using converge::JobDirectoryError;
using converge::JobDirectoryOutcome;
using converge::prepare_job_directory;

namespace {

constexpr uid_t kUser = 65534;  // nobody: any uid other than ours
constexpr gid_t kGroup = 65534;

class JobDirectory : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("converge-jobdir-test-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static struct stat stat_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
    return st;
  }

  fs::path root_;
};

TEST_F(JobDirectory, IsMadeForTheJobsUserWithPrivateModeUnderANewRootOwnedParent) {
  if (geteuid() != 0) GTEST_SKIP() << "giving a directory to another user needs root";
  auto dir = root_ / "jobs" / "42";
  EXPECT_EQ(prepare_job_directory(dir, kUser, kGroup), JobDirectoryOutcome::kCreated);
  auto st = stat_of(dir);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, kUser);
  EXPECT_EQ(st.st_gid, kGroup);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto parent = stat_of(root_ / "jobs");
  EXPECT_EQ(parent.st_uid, 0u);
  EXPECT_EQ(parent.st_mode & 07777, 0755u);
  // Every later step of the job (on any node) finds it ready.
  EXPECT_EQ(prepare_job_directory(dir, kUser, kGroup), JobDirectoryOutcome::kAlreadyThere);
}

TEST_F(JobDirectory, ADirectorySomeoneElseMadeFirstIsRefused) {
  auto dir = root_ / "7";
  fs::create_directory(dir);  // ours, not the job user's
  try {
    prepare_job_directory(dir, geteuid() + 1, kGroup);
    FAIL() << "accepted a directory of another user";
  } catch (const JobDirectoryError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists and belongs to uid"), std::string::npos)
        << e.what();
  }
}

TEST_F(JobDirectory, ASymlinkInItsPlaceIsRefusedAndItsTargetUntouched) {
  auto target = root_ / "victim";
  fs::create_directory(target);
  fs::permissions(target, fs::perms(0750));
  fs::create_directory_symlink(target, root_ / "8");
  EXPECT_THROW(prepare_job_directory(root_ / "8", geteuid(), getegid()), JobDirectoryError);
  EXPECT_EQ(stat_of(target).st_mode & 07777, 0750u);
}

TEST_F(JobDirectory, AParentOthersCanWriteOrThatIsALinkIsRefused) {
  auto open_parent = root_ / "open";
  fs::create_directory(open_parent);
  chmod(open_parent.c_str(), 0777);
  EXPECT_THROW(prepare_job_directory(open_parent / "9", geteuid(), getegid()), JobDirectoryError);
  chmod(open_parent.c_str(), 01777);  // sticky, like /tmp: others cannot rename what is ours
  EXPECT_EQ(prepare_job_directory(open_parent / "9", geteuid(), getegid()),
            JobDirectoryOutcome::kCreated);

  fs::create_directory_symlink(open_parent, root_ / "linked");
  EXPECT_THROW(prepare_job_directory(root_ / "linked" / "10", geteuid(), getegid()),
               JobDirectoryError);
  EXPECT_THROW(prepare_job_directory("relative/11", geteuid(), getegid()), JobDirectoryError);
}

TEST_F(JobDirectory, AParentOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "making a directory of another user needs root";
  auto parent = root_ / "users";
  fs::create_directory(parent);
  ASSERT_EQ(chown(parent.c_str(), kUser, kGroup), 0);
  try {
    prepare_job_directory(parent / "12", kUser, kGroup);
    FAIL() << "accepted a parent owned by a user";
  } catch (const JobDirectoryError& e) {
    EXPECT_NE(std::string(e.what()).find("not root"), std::string::npos) << e.what();
  }
}

}  // namespace
