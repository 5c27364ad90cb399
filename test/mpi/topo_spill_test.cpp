// SPDX-License-Identifier: GPL-2.0-or-later
//
// Shuffles that spill to files: both layouts give exactly what the
// in-memory exchange gives, leave no file behind, and create the number of
// files each layout promises.
#include "topo/core/dataset.h"
#include "topo_test_context.h"

#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <filesystem>
#include <map>

using namespace topo;
namespace fs = std::filesystem;

namespace {

// A directory every rank agrees on, empty.
std::string spill_dir(const std::string& name) {
  char buffer[256] = {};
  if (test::context().rank() == 0) {
    auto dir = fs::temp_directory_path() / ("topo-spill-" + std::to_string(::getpid()) + name);
    fs::create_directories(dir);
    std::snprintf(buffer, sizeof buffer, "%s", dir.c_str());
  }
  MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  return buffer;
}

std::map<long, long> word_counts(Context& ctx) {
  auto d = Dataset<long>::generate(ctx, 20000, [](std::uint64_t i) { return long(i * i % 977); });
  auto counts = d.map([](long x) { return std::pair<long, long>(x, 1); })
                    .reduce_by_key([](long a, long b) { return a + b; })
                    .collect();
  return {counts.begin(), counts.end()};
}

}  // namespace

TEST(Spill, BothFileLayoutsGiveWhatTheMessagesGive) {
  Context ctx(MPI_COMM_WORLD, test::scheduler());
  auto expected = word_counts(ctx);
  auto sorted_expected =
      Dataset<long>::generate(ctx, 5000, [](std::uint64_t i) { return long((i * 7919) % 5003); })
          .sort()
          .collect();
  for (SpillMode mode : {SpillMode::shared_file, SpillMode::file_per_pair}) {
    std::string dir = spill_dir(spill_mode_name(mode));
    Context spilling(MPI_COMM_WORLD, test::scheduler());
    spilling.set_spill({mode, dir, 0});
    EXPECT_EQ(word_counts(spilling), expected) << spill_mode_name(mode);
    EXPECT_EQ(Dataset<long>::generate(spilling, 5000,
                                      [](std::uint64_t i) { return long((i * 7919) % 5003); })
                  .sort()
                  .collect(),
              sorted_expected)
        << spill_mode_name(mode);
    const SpillStats& stats = spilling.spill_stats();
    EXPECT_GE(stats.shuffles, ctx.size() > 1 ? 2u : 1u);  // one rank sorts without a shuffle
    std::uint64_t files = spilling.sum(stats.files_created);
    std::uint64_t removed = spilling.sum(stats.removals);
    EXPECT_EQ(files, removed);
    int p = ctx.size();
    if (mode == SpillMode::shared_file) {
      EXPECT_EQ(files, stats.shuffles);  // one per shuffle, whatever the ranks
    } else {
      EXPECT_GT(files, stats.shuffles * std::uint64_t(p) * (p - 1) / 2);  // about P² per shuffle
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (ctx.rank() == 0) {
      EXPECT_TRUE(fs::is_empty(dir)) << dir;
      fs::remove_all(dir);
    }
  }
}

TEST(Spill, BelowTheThresholdMessagesAreUsed) {
  Context ctx(MPI_COMM_WORLD, test::scheduler());
  ctx.set_spill({SpillMode::shared_file, "/nonexistent", 1u << 30});
  word_counts(ctx);  // would fail if it touched the directory
  EXPECT_EQ(ctx.spill_stats().shuffles, 0u);
}

TEST(Spill, AnUnwritableDirectoryIsAnErrorOnEveryRank) {
  for (SpillMode mode : {SpillMode::shared_file, SpillMode::file_per_pair}) {
    Context ctx(MPI_COMM_WORLD, test::scheduler());
    ctx.set_spill({mode, "/nonexistent/topo", 0});
    EXPECT_THROW(word_counts(ctx), std::runtime_error) << spill_mode_name(mode);
  }
  EXPECT_EQ(parse_spill_mode("file-per-pair"), SpillMode::file_per_pair);
  EXPECT_THROW(parse_spill_mode("tmpfs"), std::invalid_argument);
}
