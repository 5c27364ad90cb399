// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/bounded_json.h"

#include <gtest/gtest.h>

#include <string>

using namespace converge;

TEST(BoundedJson, DepthCountsNestingOutsideStrings) {
  EXPECT_EQ(json_depth("{}"), 1u);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": [2]}]})"), 4u);
  EXPECT_EQ(json_depth(R"({"a": "[[[[{{{{\" ]"})"), 1u);
  EXPECT_EQ(json_depth("42"), 0u);
}

TEST(BoundedJson, DeepDocumentsAreRefusedBeforeParsing) {
  std::string deep(2'000'000, '[');
  deep += std::string(2'000'000, ']');
  EXPECT_THROW(parse_bounded_json(deep), JsonLimitError);
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_NO_THROW(parse_bounded_json(ok));
  EXPECT_THROW(parse_bounded_json(std::string(65, '[') + std::string(65, ']')), JsonLimitError);
  EXPECT_THROW(parse_bounded_json("{not json"), nlohmann::json::parse_error);
}
