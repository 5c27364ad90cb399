// SPDX-License-Identifier: GPL-2.0-or-later
//
// The simulator's cost model: how long one decoder layer takes for a
// micro-batch, from a measured profile (profile.csv: one Llama-2 layer on
// an H200) or from a roofline of a GPU's published figures whose
// efficiencies are fitted to that profile; a pipeline stage costs its
// layers' time. Tensor parallelism splits each layer's work over the GPUs
// and adds two all-reduces per layer. docs/tdpipe.md states the model.
#pragma once

#include "tdpipe/sched/stage_cost.h"
#include "tdpipe/sim/hardware.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tdpipe::sim {

class LayerCost {
 public:
  virtual ~LayerCost() = default;
  virtual double seconds(const BatchShape& shape) const = 0;  // one decoder layer
};

// One model's rows of the profile: prefill by packed tokens, decode by
// batch and mean context; interpolated linearly, extrapolated from the
// last two points. A mixed batch (chunked prefill) costs the prefill of
// all its tokens plus what its decodes' attention adds over a short context.
class ProfileLayerCost : public LayerCost {
 public:
  // Throws std::runtime_error naming the file and line of a bad row, or
  // if the model has no rows.
  ProfileLayerCost(const std::string& csv_path, const std::string& model);
  double seconds(const BatchShape& shape) const override;
  double prefill_seconds(double tokens) const;
  double decode_seconds(double batch, double context) const;

  using Points = std::vector<std::pair<double, double>>;  // x, seconds
  const Points& prefill_points() const { return prefill_; }
  const std::map<double, Points>& decode_points() const { return decode_; }

 private:
  Points prefill_;
  std::map<double, Points> decode_;  // by context
};

// Efficiencies of the roofline: achieved fractions of peak FLOP/s and of
// memory bandwidth, and a fixed time per layer (kernel launches, norms).
struct RooflineFit {
  double compute = 0.6, memory = 0.8, overhead = 20e-6;
};

class RooflineLayerCost : public LayerCost {
 public:
  // One layer of `shape` on `gpus` GPUs in tensor parallelism.
  RooflineLayerCost(const LlamaShape& shape, const Gpu& gpu, RooflineFit fit, int gpus = 1);
  double seconds(const BatchShape& shape) const override;

 private:
  LlamaShape shape_;
  Gpu gpu_;
  RooflineFit fit_;
  int gpus_;
};

// The efficiencies with which the H200 roofline best matches the profile's
// rows of every model (least squares of relative error, grid search).
RooflineFit fit_roofline(const std::string& csv_path);

// A measured layer scaled by the roofline's ratio: the profile's GPU in
// tensor parallelism over `gpus` GPUs.
class ScaledLayerCost : public LayerCost {
 public:
  ScaledLayerCost(std::shared_ptr<const LayerCost> measured, std::shared_ptr<const LayerCost> one,
                  std::shared_ptr<const LayerCost> many)
      : measured_(std::move(measured)), one_(std::move(one)), many_(std::move(many)) {}
  double seconds(const BatchShape& shape) const override {
    return measured_->seconds(shape) * many_->seconds(shape) / one_->seconds(shape);
  }

 private:
  std::shared_ptr<const LayerCost> measured_, one_, many_;
};

// A pipeline stage of `layers` layers.
class LayersCost : public StageCost {
 public:
  LayersCost(std::shared_ptr<const LayerCost> layer, int layers)
      : layer_(std::move(layer)), layers_(layers) {}
  double seconds(const BatchShape& shape) const override {
    return layers_ * layer_->seconds(shape);
  }

 private:
  std::shared_ptr<const LayerCost> layer_;
  int layers_;
};

}  // namespace tdpipe::sim
