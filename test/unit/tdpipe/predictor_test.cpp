// SPDX-License-Identifier: GPL-2.0-or-later
//
// The output-length predictor, trained on real stories260K runs
// (tdpipe/data/stories260K_lengths.txt, from tdpipe-predictor collect):
// on held-out requests it must beat always guessing the most common bucket.
#include "tdpipe/predict/length_buckets.h"
#include "tdpipe/predict/length_predictor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

using namespace tdpipe;

TEST(TdpipePredictor, BeatsTheMostCommonBucketOnHeldOutStories260KRuns) {
  auto all = read_examples(std::string(TDPIPE_DATA_DIR) + "/stories260K_lengths.txt");
  ASSERT_GE(all.size(), 1000u);
  std::mt19937 rng(11);
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<LengthExample> held(all.begin(), all.begin() + 300),
      training(all.begin() + 300, all.end());
  LengthPredictor p = LengthPredictor::train(training);
  std::map<int, int> counts;
  for (const auto& e : training) ++counts[bucket_of(e.produced)];
  int common = std::max_element(counts.begin(), counts.end(), [](auto a, auto b) {
                 return a.second < b.second;
               })->first;
  double baseline = 0;
  for (const auto& e : held) baseline += bucket_of(e.produced) == common;
  baseline /= double(held.size());
  const double accuracy = p.accuracy(held);
  EXPECT_GT(accuracy, baseline + 0.05) << "baseline " << baseline;
  // Saved and loaded, it predicts the same.
  const std::string path = ::testing::TempDir() + "/predictor.json";
  p.save(path);
  LengthPredictor q = LengthPredictor::load(path);
  for (const auto& e : held) ASSERT_EQ(q.predict_bucket(e.request), p.predict_bucket(e.request));
  EXPECT_EQ(q.predict_tokens(held[0].request), bucket_limit(p.predict_bucket(held[0].request)));
}

TEST(TdpipePredictor, BadFilesAreRefusedWithTheirName) {
  const std::string path = ::testing::TempDir() + "/not-a-predictor.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"kind\": \"something else\"}", f);
  std::fclose(f);
  try {
    LengthPredictor::load(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  const std::string data = ::testing::TempDir() + "/bad-examples.txt";
  f = std::fopen(data.c_str(), "w");
  std::fputs("12 0.5 7 1 2 3\nseven 0.5 7 1\n", f);
  std::fclose(f);
  EXPECT_THROW(read_examples(data), std::runtime_error);
}
