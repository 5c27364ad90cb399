// SPDX-License-Identifier: GPL-2.0-or-later
//
// The output-length predictor: a multinomial logistic-regression
// classifier of a request into the length buckets of length_buckets.h,
// from its features (features()): the prompt's length (in bins of 32
// tokens), its last tokens and its bag of tokens (hashed), and the sampling
// temperature. TD-Pipe's
// projection takes the predicted bucket's upper bound as the request's
// output length. Trained on real runs (tdpipe-predictor collect / train);
// saved as JSON.
#pragma once

#include "tdpipe/engine/generate.h"

#include <string>
#include <vector>

namespace tdpipe {

// One training example: a request and how many tokens the model really
// produced for it before the end of sequence.
struct LengthExample {
  Request request;
  int produced = 0;
};

struct TrainOptions {
  int epochs = 60;
  double learning_rate = 0.05, l2 = 3e-3;
  unsigned seed = 1;
};

class LengthPredictor {
 public:
  static constexpr int kFeatures = 32 + 4 + 64 + 128 + 1;

  // Feature vector of a request (kFeatures values).
  static std::vector<float> features(const Request& request);

  static LengthPredictor train(const std::vector<LengthExample>& examples,
                               const TrainOptions& options = {});
  int predict_bucket(const Request& request) const;
  // The predicted bucket's upper bound, in tokens.
  int predict_tokens(const Request& request) const;
  // Fraction of examples whose bucket it predicts.
  double accuracy(const std::vector<LengthExample>& examples) const;

  void save(const std::string& path) const;
  // Throws std::runtime_error naming the file for a missing or bad one.
  static LengthPredictor load(const std::string& path);

 private:
  std::vector<float> weights_;  // bucket x kFeatures
  std::vector<float> bias_;     // bucket
};

// Training data files: one example per line,
// "produced temperature seed id id id ...".
void write_examples(const std::string& path, const std::vector<LengthExample>& examples);
// Throws std::runtime_error naming the file and line of a bad one.
std::vector<LengthExample> read_examples(const std::string& path);

}  // namespace tdpipe
