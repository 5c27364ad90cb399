// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/core/serialize.h"
#include "topo/core/text.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace topo;

TEST(TopoSerialize, NestedValuesRoundTrip) {
  using Value = std::pair<std::string, std::tuple<int, std::vector<std::string>, double>>;
  std::vector<Value> values{
      {"", {0, {}, 0.0}},
      {"key", {-7, {"a", "", "ccc"}, 2.5}},
      {std::string(1000, 'x'), {1 << 30, {std::string(3, '\0')}, -1e300}},
  };
  EXPECT_EQ(decode<Value>(encode(values)), values);
  std::vector<std::vector<long>> nested{{}, {1, 2, 3}, {-1}};
  EXPECT_EQ(decode<std::vector<long>>(encode(nested)), nested);
}

TEST(TopoSerialize, TruncatedOrCorruptRecordsAreErrorsNotCrashes) {
  auto bytes = encode(std::vector<std::string>{"hello", "world"});
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    std::vector<char> part(bytes.begin(), bytes.begin() + cut);
    if (cut == 8 + 5) {  // exactly the first record
      EXPECT_EQ(decode<std::string>(part), std::vector<std::string>{"hello"});
      continue;
    }
    EXPECT_THROW(decode<std::string>(part), std::runtime_error) << cut;
  }
  // A length prefix claiming far more than there is.
  std::vector<char> huge(8, '\xff');
  EXPECT_THROW(decode<std::string>(huge), std::runtime_error);
  EXPECT_THROW(decode<double>(std::vector<char>(5)), std::runtime_error);
}

TEST(TopoText, ElementsBecomeTabSeparatedFields) {
  std::string out;
  append_text(out, std::pair<std::string, double>("w", 0.1));
  out += '|';
  append_text(out, std::tuple<int, char, long>(1, 'c', -3));
  out += '|';
  append_text(out, 1e-7);
  EXPECT_EQ(out, "w\t0.1|1\tc\t-3|1e-07");
}
