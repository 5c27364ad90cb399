// SPDX-License-Identifier: GPL-2.0-or-later
//
// Topo's distributed operations and file I/O on real MPI ranks, each against
// a sequential reference computed on every rank.
#include "topo/core/dataset.h"
#include "topo_test_context.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>

using topo::Dataset;
using topo::test::context;
using KV = std::pair<std::string, int>;

namespace {

// Words with a skewed distribution; word i of the sequence is the same
// whatever the number of ranks.
std::string word(std::uint64_t i) {
  static const char* const kWords[] = {"the", "pipe", "of", "a", "stencil", "grid", "rank", "node"};
  return kWords[(i * i + 3 * i) % 8 % (1 + i % 8)];
}

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A file name every rank agrees on (rank 0's, broadcast).
std::string shared_temp(const std::string& name) {
  char buffer[256] = {};
  if (context().rank() == 0) {
    auto path = std::filesystem::temp_directory_path() /
                ("topo-test-" + std::to_string(::getpid()) + "-" + name);
    std::snprintf(buffer, sizeof buffer, "%s", path.c_str());
  }
  MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  return buffer;
}

void write_on_rank0(const std::string& path, const std::string& text) {
  if (context().rank() == 0) std::ofstream(path, std::ios::binary) << text;
  MPI_Barrier(MPI_COMM_WORLD);
}

void remove_on_rank0(const std::string& path) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (context().rank() == 0) std::filesystem::remove(path);
}

}  // namespace

TEST(Distributed, ReduceByKeyCountsWords) {
  auto words = Dataset<std::string>::generate(context(), 5000, word);
  auto counts = words.map([](const std::string& w) { return KV(w, 1); })
                    .reduce_by_key([](int a, int b) { return a + b; })
                    .collect();
  std::map<std::string, int> expected;
  for (std::uint64_t i = 0; i < 5000; ++i) ++expected[word(i)];
  EXPECT_EQ(sorted(counts), std::vector<KV>(expected.begin(), expected.end()));
}

TEST(Distributed, GroupByKeyKeepsEachKeysValuesInGlobalOrder) {
  auto d = Dataset<std::pair<int, int>>::generate(
      context(), 1000, [](std::uint64_t i) { return std::pair<int, int>(int(i % 7), int(i)); });
  auto groups = d.group_by_key().collect();
  ASSERT_EQ(groups.size(), 7u);
  for (const auto& [key, values] : groups) {
    std::vector<int> expected;
    for (int i = key; i < 1000; i += 7) expected.push_back(i);
    EXPECT_EQ(values, expected) << key;
  }
}

TEST(Distributed, AggregateByKeyBuildsPerKeyAverages) {
  auto d = Dataset<std::pair<int, double>>::generate(context(), 999, [](std::uint64_t i) {
    return std::pair<int, double>(int(i % 3), double(i));
  });
  using Acc = std::pair<double, int>;  // (sum, count)
  auto sums = d.aggregate_by_key(
                   Acc{0, 0},
                   [](Acc a, double v) {
                     return Acc{a.first + v, a.second + 1};
                   },
                   [](Acc a, Acc b) {
                     return Acc{a.first + b.first, a.second + b.second};
                   })
                  .collect();
  ASSERT_EQ(sums.size(), 3u);
  for (const auto& [key, acc] : sums) {
    EXPECT_EQ(acc.second, 333);
    EXPECT_DOUBLE_EQ(acc.first / acc.second, 498.0 + key) << key;
  }
}

TEST(Distributed, JoinAndCogroupMatchKeysOnBothSides) {
  auto& ctx = context();
  auto left = Dataset<std::pair<int, std::string>>::generate(ctx, 30, [](std::uint64_t i) {
    return std::pair<int, std::string>(int(i % 10), "L" + std::to_string(i));
  });
  auto right = Dataset<std::pair<int, double>>::generate(ctx, 8, [](std::uint64_t i) {
    return std::pair<int, double>(int(i + 5), i * 0.5);  // keys 5..12
  });
  auto joined = sorted(left.join(right).collect());
  std::vector<std::pair<int, std::pair<std::string, double>>> expected;
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < 8; ++j)
      if (i % 10 == j + 5) expected.push_back({i % 10, {"L" + std::to_string(i), j * 0.5}});
  EXPECT_EQ(joined, sorted(expected));

  auto groups = left.cogroup(right).collect();
  std::map<int, std::pair<std::vector<std::string>, std::vector<double>>> by_key(groups.begin(),
                                                                                 groups.end());
  ASSERT_EQ(by_key.size(), 13u);  // keys 0..12
  EXPECT_EQ(by_key[0].first, (std::vector<std::string>{"L0", "L10", "L20"}));
  EXPECT_TRUE(by_key[0].second.empty());
  EXPECT_TRUE(by_key[12].first.empty());
  EXPECT_EQ(by_key[12].second, std::vector<double>{3.5});
  EXPECT_EQ(by_key[7].second, std::vector<double>{1.0});
}

TEST(Distributed, DistinctKeepsOneOfEach) {
  auto d = Dataset<std::string>::generate(context(), 3000, word);
  std::set<std::string> expected;
  for (std::uint64_t i = 0; i < 3000; ++i) expected.insert(word(i));
  EXPECT_EQ(sorted(d.distinct().collect()),
            std::vector<std::string>(expected.begin(), expected.end()));
}

TEST(Distributed, SortOrdersEverythingAcrossRanks) {
  auto& ctx = context();
  auto values = [](std::uint64_t i) { return long((i * 2654435761u) % 1000) - 500; };  // repeats
  auto d = Dataset<long>::generate(ctx, 20000, values);
  auto result = d.sort();
  std::vector<long> expected(20000);
  for (std::uint64_t i = 0; i < expected.size(); ++i) expected[i] = values(i);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(result.collect(), expected);
  // Each rank holds a fair share: the splitters come from samples.
  EXPECT_GT(result.local().size(), 20000u / ctx.size() / 2);
  // A custom order on strings.
  auto words = Dataset<std::string>::generate(ctx, 500, word).sort(std::greater<>());
  auto all = words.collect();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), std::greater<>()));
  EXPECT_EQ(all.size(), 500u);
}

TEST(Distributed, SortByKeyOrdersPairsByTheirKey) {
  auto d = Dataset<std::pair<int, int>>::generate(context(), 777, [](std::uint64_t i) {
    return std::pair<int, int>(int((i * 7919) % 777), int(i));
  });
  auto all = d.sort_by_key().collect();
  ASSERT_EQ(all.size(), 777u);
  for (int i = 0; i < 777; ++i) EXPECT_EQ(all[i].first, i);
}

TEST(Distributed, UnionZipAndIndexKeepTheGlobalOrder) {
  auto& ctx = context();
  auto a = Dataset<int>::generate(ctx, 10, [](std::uint64_t i) { return int(i); });
  auto b = Dataset<int>::generate(ctx, 25, [](std::uint64_t i) { return 100 + int(i); });
  std::vector<int> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(i);
  for (int i = 0; i < 25; ++i) expected.push_back(100 + i);
  auto both = a.union_with(b);
  EXPECT_EQ(both.collect(), expected);
  EXPECT_NEAR(double(both.local().size()), 35.0 / ctx.size(), 1.0);

  // Zip with a dataset split differently (a filter left its parts uneven).
  auto odd = Dataset<int>::generate(ctx, 70, [](std::uint64_t i) {
               return int(i);
             }).filter([](int x) { return x % 2 == 1; });
  auto zipped = both.zip(odd).collect();
  ASSERT_EQ(zipped.size(), 35u);
  for (std::size_t i = 0; i < 35; ++i) {
    EXPECT_EQ(zipped[i].first, expected[i]);
    EXPECT_EQ(zipped[i].second, int(2 * i + 1));
  }
  EXPECT_THROW(a.zip(b), std::invalid_argument);

  auto indexed = odd.zip_with_index().collect();
  for (std::size_t i = 0; i < indexed.size(); ++i) EXPECT_EQ(indexed[i].second, i);
}

TEST(Distributed, RepartitionBalancesWithoutReordering) {
  auto& ctx = context();
  // Everything on the last rank after the filter.
  auto d = Dataset<int>::generate(ctx, 300, [](std::uint64_t i) {
             return int(i);
           }).filter([](int x) { return x >= 290; });
  auto balanced = d.repartition();
  std::vector<int> expected(10);
  std::iota(expected.begin(), expected.end(), 290);
  EXPECT_EQ(balanced.collect(), expected);
  EXPECT_NEAR(double(balanced.local().size()), 10.0 / ctx.size(), 1.0);
}

TEST(Distributed, WindowSeesItsNeighboursAcrossRanks) {
  auto& ctx = context();
  auto d = Dataset<int>::generate(ctx, 20, [](std::uint64_t i) { return int(i * i); });
  auto sums = d.window(3, [](std::span<const int> w) { return w[0] + w[1] + w[2]; }).collect();
  ASSERT_EQ(sums.size(), 18u);
  for (int i = 0; i < 18; ++i) EXPECT_EQ(sums[i], i * i + (i + 1) * (i + 1) + (i + 2) * (i + 2));
  // Windows longer than a rank's part reach over several ranks.
  auto wide = d.window(15, [](std::span<const int> w) { return w.back() - w.front(); }).collect();
  ASSERT_EQ(wide.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(wide[i], (i + 14) * (i + 14) - i * i);
  EXPECT_EQ(d.window(21, [](std::span<const int>) { return 0; }).count(), 0u);
  EXPECT_THROW(d.window(0, [](std::span<const int>) { return 0; }), std::invalid_argument);
}

TEST(Actions, TakeAndTakeOrdered) {
  auto& ctx = context();
  auto d = Dataset<int>::generate(ctx, 100, [](std::uint64_t i) { return int((i * 37) % 100); });
  auto first = d.take(40);
  ASSERT_EQ(first.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(first[i], (i * 37) % 100);
  EXPECT_EQ(d.take(1000).size(), 100u);
  EXPECT_TRUE(d.take(0).empty());
  EXPECT_EQ(d.take_ordered(5), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(d.take_ordered(3, std::greater<>()), (std::vector<int>{99, 98, 97}));
}

TEST(Actions, ForeachVisitsEveryLocalElementOnce) {
  auto& ctx = context();
  auto d = Dataset<long>::generate(ctx, 10000, [](std::uint64_t i) { return long(i); });
  std::atomic<long> sum{0};
  d.foreach ([&](long x) { sum += x; });
  EXPECT_EQ(long(ctx.sum(static_cast<std::uint64_t>(sum.load()))), 10000L * 9999 / 2);
}

TEST(Local, MapPartitionsAndDistribute) {
  auto& ctx = context();
  std::vector<int> values(50);
  std::iota(values.begin(), values.end(), 0);
  auto d = Dataset<int>::distribute(ctx, ctx.rank() == 0 ? values : std::vector<int>{});
  EXPECT_EQ(d.collect(), values);
  EXPECT_NEAR(double(d.local().size()), 50.0 / ctx.size(), 1.0);
  // One result per rank: its part's size.
  auto sizes = d.map_partitions([](const std::vector<int>& part) {
                  return std::vector<std::size_t>{part.size()};
                }).collect();
  EXPECT_EQ(sizes.size(), std::size_t(ctx.size()));
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), 50u);
}

TEST(Local, SampleIsTheSameWhateverTheNumberOfRanks) {
  auto& ctx = context();
  auto gen = [](std::uint64_t i) { return long(i); };
  auto d = Dataset<long>::generate(ctx, 10000, gen);
  auto sample = d.sample(0.3, 42).collect();
  EXPECT_NEAR(double(sample.size()), 3000.0, 200.0);
  EXPECT_EQ(d.sample(0.0, 1).count(), 0u);
  EXPECT_EQ(d.sample(1.0, 1).count(), 10000u);
  EXPECT_NE(d.sample(0.3, 43).collect(), sample);
  // The same sample computed by rank 0 alone.
  if (ctx.rank() == 0) {
    topo::Context alone(MPI_COMM_SELF, topo::test::scheduler());
    EXPECT_EQ(Dataset<long>::generate(alone, 10000, gen).sample(0.3, 42).collect(), sample);
  }
}

TEST(Files, TextRoundTripKeepsEveryLineInOrder) {
  auto& ctx = context();
  std::string path = shared_temp("lines.txt");
  auto lines = Dataset<std::string>::generate(ctx, 1234, [](std::uint64_t i) {
    return i % 97 == 0 ? std::string() : std::string(i % 300, char('a' + i % 26));
  });
  lines.save_text(path);
  auto back = Dataset<std::string>::read_text(ctx, path);
  EXPECT_EQ(back.collect(), lines.collect());
  remove_on_rank0(path);
}

TEST(Files, ReadTextHandlesLongLinesTinyFilesAndNoFinalNewline) {
  auto& ctx = context();
  std::string path = shared_temp("odd.txt");
  std::string long_line(200000, 'x');  // longer than every rank's range
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"", {}},
           {"a", {"a"}},
           {"\n", {""}},
           {"ab\ncd", {"ab", "cd"}},
           {"one\n\nthree\n", {"one", "", "three"}},
           {"s\n" + long_line + "\nt\n", {"s", long_line, "t"}}}) {
    write_on_rank0(path, text);
    EXPECT_EQ(Dataset<std::string>::read_text(ctx, path).collect(), expected)
        << "file of " << text.size() << " bytes";
  }
  remove_on_rank0(path);
}

TEST(Files, BinaryAndTextOfPairs) {
  auto& ctx = context();
  std::string path = shared_temp("values.bin");
  auto d = Dataset<double>::generate(ctx, 5001, [](std::uint64_t i) { return i / 7.0; });
  d.save_binary(path);
  EXPECT_EQ(Dataset<double>::read_binary(ctx, path).collect(), d.collect());
  // A size that is not a whole number of records is refused on every rank.
  write_on_rank0(path, std::string(9, 'z'));
  EXPECT_THROW(Dataset<double>::read_binary(ctx, path), std::runtime_error);
  remove_on_rank0(path);

  std::string text = shared_temp("pairs.txt");
  Dataset<std::pair<std::string, double>>::generate(ctx, 3, [](std::uint64_t i) {
    return std::pair<std::string, double>("k" + std::to_string(i), 0.1 * double(i));
  }).save_text(text);
  EXPECT_EQ(Dataset<std::string>::read_text(ctx, text).collect(),
            (std::vector<std::string>{"k0\t0", "k1\t0.1", "k2\t0.2"}));
  remove_on_rank0(text);
  EXPECT_THROW(Dataset<std::string>::read_text(ctx, "/nonexistent/topo/input"), std::runtime_error);
}

TEST(Files, TextChunksHoldWholeLinesAndTogetherTheWholeFile) {
  auto& ctx = context();
  std::string path = shared_temp("chunks.txt");
  std::string text;
  for (int i = 0; i < 3000; ++i) text += std::string(i % 50, char('a' + i % 26)) + "\n";
  text += "no final newline";
  write_on_rank0(path, text);
  for (std::size_t chunk : {1u, 100u, 4096u, 1u << 20}) {
    auto chunks = Dataset<std::string>::read_text_chunks(ctx, path, chunk).collect();
    std::string joined;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      joined += chunks[i];
      if (i + 1 < chunks.size()) {
        EXPECT_EQ(chunks[i].back(), '\n') << chunk;
      }
      EXPECT_LE(chunks[i].size(), chunk + 50) << chunk;  // at most one line over
    }
    EXPECT_EQ(joined, text) << chunk;
  }
  remove_on_rank0(path);
}
