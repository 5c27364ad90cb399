// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/cost_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tdpipe::sim {
namespace {

// Piecewise linear through sorted points, extrapolated from the end segments.
double interpolate(const ProfileLayerCost::Points& p, double x) {
  if (p.size() == 1) return p[0].second * (x / std::max(p[0].first, 1.0));
  std::size_t i = 1;
  while (i + 1 < p.size() && p[i].first < x) ++i;
  auto [x0, y0] = p[i - 1];
  auto [x1, y1] = p[i];
  double y = y0 + (y1 - y0) * (x - x0) / (x1 - x0);
  return std::max(y, std::min(y0, y1) * 0.5);  // never near zero below the table
}

double context_of(const BatchShape& s) {
  return s.decode_tokens > 0 ? s.decode_context : 0;
}

}  // namespace

ProfileLayerCost::ProfileLayerCost(const std::string& csv_path, const std::string& model) {
  std::ifstream in(csv_path);
  if (!in) throw std::runtime_error("cannot read the profile " + csv_path);
  std::string line;
  int number = 0;
  std::map<double, std::map<double, double>> decode;
  std::map<double, double> prefill;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1 || line.empty()) continue;  // header
    std::stringstream row(line);
    std::string name, phase, n, context, ms;
    std::getline(row, name, ',');
    std::getline(row, phase, ',');
    std::getline(row, n, ',');
    std::getline(row, context, ',');
    std::getline(row, ms, ',');
    double nv = 0, cv = 0, mv = 0;
    try {
      nv = std::stod(n);
      cv = std::stod(context);
      mv = std::stod(ms);
    } catch (const std::exception&) {
      throw std::runtime_error(csv_path + ":" + std::to_string(number) + ": not a profile row");
    }
    if ((phase != "prefill" && phase != "decode") || nv <= 0 || mv <= 0)
      throw std::runtime_error(csv_path + ":" + std::to_string(number) + ": not a profile row");
    if (name != model) continue;
    if (phase == "prefill")
      prefill[nv] = mv / 1e3;
    else
      decode[cv][nv] = mv / 1e3;
  }
  if (prefill.size() < 2 || decode.empty())
    throw std::runtime_error(csv_path + " has no prefill and decode rows for " + model);
  for (auto [x, y] : prefill) prefill_.emplace_back(x, y);
  for (auto& [c, rows] : decode)
    for (auto [x, y] : rows) decode_[c].emplace_back(x, y);
}

double ProfileLayerCost::prefill_seconds(double tokens) const {
  return interpolate(prefill_, tokens);
}

double ProfileLayerCost::decode_seconds(double batch, double context) const {
  // Linear in context between the profiled contexts (and beyond them).
  auto hi = decode_.lower_bound(context);
  if (hi == decode_.end()) hi = std::prev(decode_.end());
  if (hi == decode_.begin()) {
    if (decode_.size() == 1) return interpolate(hi->second, batch);
    hi = std::next(hi);
  }
  auto lo = std::prev(hi);
  double y0 = interpolate(lo->second, batch), y1 = interpolate(hi->second, batch);
  double y = y0 + (y1 - y0) * (context - lo->first) / (hi->first - lo->first);
  return std::max(y, std::min(y0, y1) * 0.25);
}

double ProfileLayerCost::seconds(const BatchShape& s) const {
  if (s.prefill_tokens == 0)
    return s.decode_tokens > 0 ? decode_seconds(s.decode_tokens, s.decode_context) : 0;
  double t = prefill_seconds(s.prefill_tokens + s.decode_tokens);
  if (s.decode_tokens > 0) {
    // The decodes' attention: their decode time beyond that at no context
    // (extrapolated from the two shortest profiled contexts).
    t += std::max(
        0.0, decode_seconds(s.decode_tokens, context_of(s)) - decode_seconds(s.decode_tokens, 0));
  }
  return t;
}

RooflineLayerCost::RooflineLayerCost(const LlamaShape& shape, const Gpu& gpu, RooflineFit fit,
                                     int gpus)
    : shape_(shape), gpu_(gpu), fit_(fit), gpus_(gpus) {
  if (gpus < 1) throw std::invalid_argument("tensor parallelism over fewer than one GPU");
}

double RooflineLayerCost::seconds(const BatchShape& s) const {
  const double tokens = s.prefill_tokens + s.decode_tokens;
  if (tokens == 0) return 0;
  const double prompt = std::min(double(s.prefill_tokens), 512.0);  // packed as profiled
  const double context = context_of(s);
  const double dim = shape_.dim, kv_bytes = shape_.kv_bytes_per_token_layer();
  // Matrix products, then attention: q.K and a.V over the attended positions.
  double flops = 2 * shape_.layer_params() * tokens;
  flops += 4 * dim * (s.prefill_tokens * prompt / 2 + s.decode_tokens * context);
  double bytes = 2 * shape_.layer_params() + tokens * kv_bytes;  // weights, new keys and values
  bytes += s.decode_tokens * context * kv_bytes;                 // cached keys and values read
  double t = std::max(flops / gpus_ / (gpu_.flops * fit_.compute),
                      bytes / gpus_ / (gpu_.bandwidth * fit_.memory));
  t += fit_.overhead;
  if (gpus_ > 1) {  // two ring all-reduces of the activations per layer
    double volume = 2.0 * (gpus_ - 1) / gpus_ * tokens * dim * 2;
    t += 2 * (volume / gpu_.link + 2 * (gpus_ - 1) * gpu_.link_latency);
  }
  return t;
}

RooflineFit fit_roofline(const std::string& csv_path) {
  std::vector<std::pair<std::unique_ptr<ProfileLayerCost>, const LlamaShape*>> models;
  for (const auto& shape : shapes()) {
    try {
      models.emplace_back(std::make_unique<ProfileLayerCost>(csv_path, shape.name), &shape);
    } catch (const std::runtime_error&) {
      // a profile without this model fits on the others
    }
  }
  if (models.empty()) throw std::runtime_error(csv_path + " profiles none of the known models");
  const Gpu& h200 = gpu_named("h200");
  RooflineFit best;
  double best_error = 1e300;
  for (double compute = 0.30; compute <= 0.951; compute += 0.025)
    for (double memory = 0.40; memory <= 0.951; memory += 0.025)
      for (double overhead = 0; overhead <= 200e-6; overhead += 5e-6) {
        RooflineFit fit{compute, memory, overhead};
        double error = 0;
        for (const auto& [profile, shape] : models) {
          RooflineLayerCost roof(*shape, h200, fit);
          for (auto [n, t] : profile->prefill_points()) {
            double r = roof.seconds({int(n), 0, 0}) / t - 1;
            error += r * r;
          }
          for (const auto& [context, rows] : profile->decode_points())
            for (auto [b, t] : rows) {
              double r = roof.seconds({0, int(b), context}) / t - 1;
              error += r * r;
            }
        }
        if (error < best_error) {
          best_error = error;
          best = fit;
        }
      }
  return best;
}

}  // namespace tdpipe::sim
