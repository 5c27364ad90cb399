// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/predict/length_predictor.h"

#include "tdpipe/predict/length_buckets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>

namespace tdpipe {
namespace {

constexpr int kBuckets = int(kLengthBuckets.size());
// Feature layout: prompt length (32 bins of 32 tokens, the last open),
// temperature (4 bins), the last 4 tokens (hashed into 64), the bag of
// tokens (hashed into 128, frequencies), a constant.
constexpr int kLengthBins = 32, kLengthBinTokens = 32, kTemperatureBins = 4, kLastBins = 64,
              kBagBins = 128;

std::uint32_t hash(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

}  // namespace

std::vector<float> LengthPredictor::features(const Request& r) {
  std::vector<float> f(kFeatures, 0.0f);
  const int n = int(r.prompt.size());
  f[std::size_t(std::min(kLengthBins - 1, n / kLengthBinTokens))] = 1;
  float t = r.sampling.temperature;
  int tb = t <= 0 ? 0 : t <= 0.6f ? 1 : t <= 0.9f ? 2 : 3;
  f[std::size_t(kLengthBins + tb)] = 1;
  const int last = kLengthBins + kTemperatureBins, bag = last + kLastBins;
  for (int i = std::max(0, n - 4); i < n; ++i)
    f[std::size_t(last +
                  int(hash(std::uint32_t(r.prompt[std::size_t(i)]) * 4 + std::uint32_t(n - i)) %
                      kLastBins))] = 1;
  for (int token : r.prompt)
    f[std::size_t(bag + int(hash(std::uint32_t(token)) % kBagBins))] += 1.0f / float(n);
  f[kFeatures - 1] = 1;
  return f;
}

LengthPredictor LengthPredictor::train(const std::vector<LengthExample>& examples,
                                       const TrainOptions& options) {
  if (examples.empty()) throw std::invalid_argument("no examples to train on");
  LengthPredictor p;
  p.weights_.assign(std::size_t(kBuckets * kFeatures), 0.0f);
  p.bias_.assign(kBuckets, 0.0f);
  std::vector<std::vector<float>> x;
  std::vector<int> y;
  for (const auto& e : examples) {
    x.push_back(features(e.request));
    y.push_back(bucket_of(e.produced));
  }
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(options.seed);
  std::vector<double> prob(kBuckets);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const double rate = options.learning_rate / (1 + epoch * 0.1);
    for (std::size_t i : order) {
      const auto& f = x[i];
      double top = -1e300;
      for (int b = 0; b < kBuckets; ++b) {
        double z = p.bias_[std::size_t(b)];
        for (int k = 0; k < kFeatures; ++k)
          z += double(p.weights_[std::size_t(b * kFeatures + k)]) * f[std::size_t(k)];
        prob[std::size_t(b)] = z;
        top = std::max(top, z);
      }
      double sum = 0;
      for (double& v : prob) sum += (v = std::exp(v - top));
      for (int b = 0; b < kBuckets; ++b) {
        double g = prob[std::size_t(b)] / sum - (b == y[i] ? 1.0 : 0.0);
        p.bias_[std::size_t(b)] -= float(rate * g);
        for (int k = 0; k < kFeatures; ++k) {
          float& w = p.weights_[std::size_t(b * kFeatures + k)];
          w -= float(rate * (g * f[std::size_t(k)] + options.l2 * w));
        }
      }
    }
  }
  return p;
}

int LengthPredictor::predict_bucket(const Request& request) const {
  const std::vector<float> f = features(request);
  int best = 0;
  double best_z = -1e300;
  for (int b = 0; b < kBuckets; ++b) {
    double z = bias_[std::size_t(b)];
    for (int k = 0; k < kFeatures; ++k)
      z += double(weights_[std::size_t(b * kFeatures + k)]) * f[std::size_t(k)];
    if (z > best_z) {
      best_z = z;
      best = b;
    }
  }
  return best;
}

int LengthPredictor::predict_tokens(const Request& request) const {
  return bucket_limit(predict_bucket(request));
}

double LengthPredictor::accuracy(const std::vector<LengthExample>& examples) const {
  if (examples.empty()) return 0;
  int right = 0;
  for (const auto& e : examples) right += predict_bucket(e.request) == bucket_of(e.produced);
  return double(right) / double(examples.size());
}

void LengthPredictor::save(const std::string& path) const {
  nlohmann::json j;
  j["kind"] = "tdpipe-length-predictor";
  j["buckets"] = std::vector<int>(kLengthBuckets.begin(), kLengthBuckets.end());
  j["features"] = kFeatures;
  j["weights"] = weights_;
  j["bias"] = bias_;
  std::ofstream out(path);
  out << j.dump() << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

LengthPredictor LengthPredictor::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the predictor " + path);
  LengthPredictor p;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.at("kind") != "tdpipe-length-predictor" || j.at("features") != kFeatures ||
        j.at("buckets").get<std::vector<int>>() !=
            std::vector<int>(kLengthBuckets.begin(), kLengthBuckets.end()))
      throw std::runtime_error("not a predictor of this version");
    p.weights_ = j.at("weights").get<std::vector<float>>();
    p.bias_ = j.at("bias").get<std::vector<float>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (p.weights_.size() != std::size_t(kBuckets * kFeatures) || p.bias_.size() != kBuckets)
    throw std::runtime_error(path + ": wrong number of weights");
  return p;
}

void write_examples(const std::string& path, const std::vector<LengthExample>& examples) {
  std::ofstream out(path);
  for (const auto& e : examples) {
    out << e.produced << ' ' << e.request.sampling.temperature << ' ' << e.request.sampling.seed;
    for (int t : e.request.prompt) out << ' ' << t;
    out << '\n';
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<LengthExample> read_examples(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<LengthExample> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream row(line);
    LengthExample e;
    int token = 0;
    row >> e.produced >> e.request.sampling.temperature >> e.request.sampling.seed;
    while (row >> token) e.request.prompt.push_back(token);
    if (row.fail() && !row.eof())
      throw std::runtime_error(path + ":" + std::to_string(number) + ": not an example");
    if (e.produced < 0 || e.request.prompt.empty())
      throw std::runtime_error(path + ":" + std::to_string(number) +
                               ": expected \"produced temperature seed id ...\"");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tdpipe
