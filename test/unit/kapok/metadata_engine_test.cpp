// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/daemon/metadata_engine.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <fstream>
#include <map>
#include <random>
#include <thread>

using namespace kapok;
namespace fs = std::filesystem;

namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kapok-engine-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.device_path = (dir_ / "md.dev").string();
    options_.device_bytes = 4u << 20;
    options_.group_bytes = 64u << 10;
    options_.block_sizes = {256, 1024, 4096, 16384};
    options_.commit_window = std::chrono::microseconds(500);
    options_.durability = Durability::group_commit;  // the tests of sync set it
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<MetadataEngine> open() { return MetadataEngine::open(options_); }

  // Flips one byte of the first on-device occurrence of `needle`.
  void corrupt_on_device(const std::string& needle) {
    std::ifstream in(options_.device_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    auto pos = bytes.find(needle);
    ASSERT_NE(pos, std::string::npos);
    int fd = ::open(options_.device_path.c_str(), O_WRONLY);
    char flipped = static_cast<char>(bytes[pos] ^ 0x5a);
    ASSERT_EQ(pwrite(fd, &flipped, 1, static_cast<off_t>(pos)), 1);
    close(fd);
  }

  fs::path dir_;
  EngineOptions options_;
};

std::string value_for(int i, std::size_t size) {
  std::string v(size, '\0');
  for (std::size_t k = 0; k < size; ++k) v[k] = static_cast<char>('a' + (i + k) % 26);
  return v;
}

}  // namespace

TEST_F(EngineTest, PutGetOverwriteRemove) {
  auto e = open();
  std::string v;
  EXPECT_FALSE(e->get("missing", v));
  for (std::size_t size : {0ul, 10ul, 200ul, 900ul, 3000ul, 16000ul}) {
    e->put("k" + std::to_string(size), value_for(1, size));
  }
  for (std::size_t size : {0ul, 10ul, 200ul, 900ul, 3000ul, 16000ul}) {
    ASSERT_TRUE(e->get("k" + std::to_string(size), v));
    EXPECT_EQ(v, value_for(1, size));
  }
  e->put("k10", "new");
  ASSERT_TRUE(e->get("k10", v));
  EXPECT_EQ(v, "new");
  EXPECT_TRUE(e->remove("k10"));
  EXPECT_FALSE(e->remove("k10"));
  EXPECT_FALSE(e->get("k10", v));
  EXPECT_FALSE(e->contains("k10"));
  EXPECT_THROW(e->put("big", std::string(e->max_value_size(3) + 1, 'x')), std::length_error);
  EXPECT_NO_THROW(e->put("big", std::string(e->max_value_size(3), 'x')));
  EXPECT_THROW(e->put("", "x"), std::invalid_argument);
}

TEST_F(EngineTest, EverythingSurvivesReopenInBothDurabilityModes) {
  for (Durability mode : {Durability::sync, Durability::group_commit}) {
    options_.durability = mode;
    fs::remove(options_.device_path);
    {
      auto e = open();
      for (int i = 0; i < 500; ++i)
        e->put("key" + std::to_string(i), value_for(i, static_cast<std::size_t>(i * 7 % 3000)));
      for (int i = 0; i < 500; i += 3) e->remove("key" + std::to_string(i));
      e->put("key1", "rewritten");
    }
    auto e = open();
    std::string v;
    for (int i = 0; i < 500; ++i) {
      bool present = e->get("key" + std::to_string(i), v);
      EXPECT_EQ(present, i % 3 != 0) << i;
      if (i == 1) {
        EXPECT_EQ(v, "rewritten");
      } else if (present) {
        EXPECT_EQ(v, value_for(i, static_cast<std::size_t>(i * 7 % 3000))) << i;
      }
    }
    EXPECT_EQ(e->stats().live_keys, 333u);
  }
}

TEST_F(EngineTest, CorruptRecordIsDetectedNotServed) {
  {
    auto e = open();
    e->put("good", "payload-good");
    e->put("victim", "payload-victim-0123456789");
    std::string v;
    corrupt_on_device("payload-victim");
    EXPECT_THROW(e->get("victim", v), CorruptRecord);
    ASSERT_TRUE(e->get("good", v));
  }
  auto e = open();  // recovery reports it and leaves it out
  EXPECT_EQ(e->stats().corrupt_records, 1u);
  std::string v;
  EXPECT_FALSE(e->get("victim", v));
  ASSERT_TRUE(e->get("good", v));
  EXPECT_EQ(v, "payload-good");
}

TEST_F(EngineTest, TornLastRecordFallsBackToThePreviousVersion) {
  {
    auto e = open();
    e->put("k", "version-one");
    e->put("k", "version-two");
  }
  corrupt_on_device("version-two");
  auto e = open();
  std::string v;
  ASSERT_TRUE(e->get("k", v));
  EXPECT_EQ(v, "version-one");
}

TEST_F(EngineTest, TruncatedDeviceRecovers) {
  {
    auto e = open();
    for (int i = 0; i < 300; ++i) e->put("key" + std::to_string(i), value_for(i, 100));
  }
  // Cut the device inside its first group: what was there is gone, the rest stays readable.
  fs::resize_file(options_.device_path, 4096 + 4096 + 30 * 256);
  auto e = open();
  std::string v;
  int present = 0;
  for (int i = 0; i < 300; ++i) {
    if (e->get("key" + std::to_string(i), v)) {
      ++present;
      EXPECT_EQ(v, value_for(i, 100));
    }
  }
  EXPECT_EQ(present, 30);
  e->put("after", "works");
  ASSERT_TRUE(e->get("after", v));
}

TEST_F(EngineTest, CompactionReclaimsDeadRecordsAndKeepsLiveOnes) {
  auto e = open();
  // Long-lived keys interleaved with a hot key make partly dead groups that
  // only compaction can reclaim; the device holds 63 groups of 60 1-KiB blocks.
  std::map<std::string, std::string> expected;
  for (int round = 0; round < 45; ++round) {
    std::string key = "cold" + std::to_string(round);
    expected[key] = value_for(round, 900);
    e->put(key, expected[key]);
    for (int i = 0; i < 29; ++i) e->put("hot", value_for(round * 100 + i, 900));
  }
  expected["hot"] = value_for(44 * 100 + 28, 900);
  EXPECT_LT(e->stats().groups_free, 45u);
  e->compact();
  EXPECT_GT(e->stats().compactions, 0u);
  EXPECT_GE(e->stats().groups_free, 60u);
  std::string v;
  for (const auto& [k, val] : expected) {
    ASSERT_TRUE(e->get(k, v)) << k;
    EXPECT_EQ(v, val) << k;
  }
  e.reset();
  e = open();
  for (const auto& [k, val] : expected) {
    ASSERT_TRUE(e->get(k, v)) << k;
    EXPECT_EQ(v, val) << k;
  }
}

TEST_F(EngineTest, RemovedKeysStayRemovedThroughCompactionAndRecovery) {
  {
    auto e = open();
    for (int i = 0; i < 100; ++i) e->put("gone" + std::to_string(i), value_for(i, 150));
    for (int i = 0; i < 100; ++i) e->remove("gone" + std::to_string(i));
    for (int i = 0; i < 1500; ++i) e->put("churn" + std::to_string(i % 50), value_for(i, 150));
    e->compact();
  }
  auto e = open();
  std::string v;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(e->get("gone" + std::to_string(i), v)) << i;
  EXPECT_EQ(e->stats().live_keys, 50u);
}

TEST_F(EngineTest, FullDeviceSaysNoSpaceAndStaysUsable) {
  options_.device_bytes = 1u << 20;  // 15 groups
  auto e = open();
  int stored = 0;
  try {
    for (; stored < 100000; ++stored)
      e->put("fill" + std::to_string(stored), value_for(stored, 900));
    FAIL() << "a 1 MiB device took 100000 records of 900 bytes";
  } catch (const NoSpace&) {
  }
  EXPECT_GT(stored, 500);
  std::string v;
  ASSERT_TRUE(e->get("fill0", v));
  EXPECT_EQ(v, value_for(0, 900));
  try {
    EXPECT_TRUE(e->remove("fill0"));
  } catch (const NoSpace&) {
    // A tombstone needs room too; failing cleanly is fine.
  }
  ASSERT_TRUE(e->get("fill1", v));
  EXPECT_EQ(v, value_for(1, 900));
}

TEST_F(EngineTest, ConcurrentWritersShareGroupCommits) {
  {
    auto e = open();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i)
          e->put(fmt::format("t{}-{}", t, i), value_for(t * 1000 + i, 64));
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_LT(e->stats().commits, 2000u);  // fewer syncs than writes
  }
  auto e = open();
  std::string v;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(e->get(fmt::format("t{}-{}", t, i), v));
      EXPECT_EQ(v, value_for(t * 1000 + i, 64));
    }
  }
}

// Two size classes written at once: one class's buffer fills (and moves to
// "flushing") while the flusher, the lock dropped, writes the other class's.
// That buffer must be written by the next round, not released unwritten with
// this one's (its records then read back as failing their checksum).
TEST_F(EngineTest, ABufferThatFillsDuringAnotherClassesCommitKeepsItsRecords) {
  options_.device_bytes = 48u << 20;
  options_.buffer_bytes = 256;  // one block a buffer: every record fills one
  constexpr int kSmall = 6000, kLarge = 600;
  auto small_key = [](int i) { return fmt::format("s{}", i); };
  auto large_key = [](int i) { return fmt::format("l{}", i); };
  {
    auto e = open();
    std::uint64_t last_small = 0, last_large = 0;
    std::thread small([&] {
      for (int i = 0; i < kSmall; ++i) last_small = e->put_nowait(small_key(i), value_for(i, 100));
    });
    std::thread large([&] {
      for (int i = 0; i < kLarge; ++i) last_large = e->put_nowait(large_key(i), value_for(i, 3000));
    });
    small.join();
    large.join();
    e->wait_durable(std::max(last_small, last_large));
    std::string v;
    for (int i = 0; i < kSmall; ++i) {
      ASSERT_TRUE(e->get(small_key(i), v)) << small_key(i);
      ASSERT_EQ(v, value_for(i, 100));
    }
    for (int i = 0; i < kLarge; ++i) {
      ASSERT_TRUE(e->get(large_key(i), v)) << large_key(i);
      ASSERT_EQ(v, value_for(i, 3000));
    }
  }
  auto e = open();
  EXPECT_EQ(e->stats().corrupt_records, 0u);
  std::string v;
  for (int i = 0; i < kSmall; ++i) ASSERT_TRUE(e->get(small_key(i), v)) << small_key(i);
  for (int i = 0; i < kLarge; ++i) ASSERT_TRUE(e->get(large_key(i), v)) << large_key(i);
}

TEST_F(EngineTest, KillNineLosesNothingAcknowledged) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    auto e = open();
    for (int i = 0;; ++i) {
      e->put("ack" + std::to_string(i), value_for(i, static_cast<std::size_t>(50 + i % 2000)));
      if (i % 7 == 0) e->put("ack" + std::to_string(i / 2), value_for(i, 10));  // overwrites too
      if (write(pipe_fds[1], &i, sizeof i) != sizeof i) _exit(1);
    }
  }
  close(pipe_fds[1]);
  int last = -1, got;
  while (last < 1500 && read(pipe_fds[0], &got, sizeof got) == sizeof got) last = got;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  while (read(pipe_fds[0], &got, sizeof got) == sizeof got) last = got;
  close(pipe_fds[0]);
  ASSERT_GE(last, 1500);

  // Replay what the child was told is durable and compare.
  std::map<std::string, std::string> expected;
  for (int i = 0; i <= last; ++i) {
    expected["ack" + std::to_string(i)] = value_for(i, static_cast<std::size_t>(50 + i % 2000));
    if (i % 7 == 0) expected["ack" + std::to_string(i / 2)] = value_for(i, 10);
  }
  auto e = open();
  std::string v;
  for (const auto& [k, val] : expected) {
    ASSERT_TRUE(e->get(k, v)) << k;
    EXPECT_EQ(v, val) << k;
  }
}

TEST_F(EngineTest, WaitingOnADurableRecordDoesNotStallLaterWriters) {
  // Regression: a commit request with nothing to write made the flusher spin
  // while holding the engine lock, so no writer could get in.
  options_.durability = Durability::sync;
  auto e = open();
  std::uint64_t seq = e->put_nowait("a", "1");
  e->wait_durable(seq);
  e->wait_durable(seq);
  auto later = std::async(std::launch::async, [&] { e->put("b", "2"); });
  ASSERT_EQ(later.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  std::string v;
  ASSERT_TRUE(e->get("b", v));
}
