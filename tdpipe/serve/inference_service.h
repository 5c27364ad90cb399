// SPDX-License-Identifier: GPL-2.0-or-later
//
// The engine behind tdpipe-serve: one thread runs the batched engine and
// its scheduler step after step; HTTP threads submit requests and wait on
// each request's Stream for its tokens as they are generated. Draining
// (SIGTERM) refuses new requests and lets the submitted ones finish.
#pragma once

#include "tdpipe/engine/runner.h"
#include "tdpipe/model/tokenizer.h"
#include "tdpipe/model/weights.h"
#include "tdpipe/serve/settings.h"

#include "converge/mutex.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

namespace tdpipe {

// One request's results, filled in by the engine thread.
struct Stream {
  converge::Mutex mutex;
  converge::CondVar changed;
  std::vector<int> tokens CONVERGE_GUARDED_BY(mutex);
  bool done CONVERGE_GUARDED_BY(mutex) = false;
  Completion completion CONVERGE_GUARDED_BY(mutex);
};

class InferenceService {
 public:
  // `predict` gives TD-Pipe's projection a request's output length (may be empty).
  // The model's `tokenizer` (may be empty) reads text prompts and writes
  // completions' text; `eos` ends a sequence (-1: none).
  InferenceService(Weights weights, std::optional<Tokenizer> tokenizer, std::string model_name,
                   int eos, const ServeSettings& settings,
                   std::function<int(const Request&)> predict);
  ~InferenceService();
  InferenceService(const InferenceService&) = delete;
  InferenceService& operator=(const InferenceService&) = delete;

  // Queues a request. Throws ApiError: 400 for one the model cannot take
  // (the reason), 429 when the queue is full, 503 while draining.
  std::shared_ptr<Stream> submit(const Request& request);
  // Refuses new requests from now on; returns at once.
  void drain();
  // Waits until every submitted request has finished.
  void wait_idle();
  bool draining() const;
  // False once the engine failed (then every request is refused).
  bool healthy() const;

  const std::string& model_name() const { return model_name_; }
  int eos() const { return eos_; }
  const Tokenizer* tokenizer() const { return tokenizer_ ? &*tokenizer_ : nullptr; }
  const ModelConfig& config() const { return weights_.config; }
  // The Prometheus text exposition of the service's counters.
  std::string metrics() const;
  // Rejections are counted here too (bad requests never reach submit()).
  void count_rejection(int status);

 private:
  struct Counters {
    std::uint64_t accepted = 0, prompt_tokens = 0, generated = 0, finished_stop = 0,
                  finished_length = 0, bad_request = 0, busy = 0, unavailable = 0;
    double duration_sum = 0, first_token_sum = 0;
    std::uint64_t first_token_count = 0;
    SchedulerStats scheduler;
    std::size_t waiting = 0, running = 0;
    int free_blocks = 0, total_blocks = 0;
  };
  struct Pending {
    std::uint64_t id;
    Request request;
    std::shared_ptr<Stream> stream;
    std::chrono::steady_clock::time_point arrived;
  };
  struct Active {
    std::shared_ptr<Stream> stream;
    std::chrono::steady_clock::time_point arrived;
    bool first_token = false;
  };

  void loop();
  void on_token(std::uint64_t id, int token);
  void on_finished(std::uint64_t id, Completion&& completion);
  void fail_everything(const std::string& why);

  Weights weights_;
  std::optional<Tokenizer> tokenizer_;
  std::string model_name_;
  int eos_;
  ServeSettings settings_;
  // The engine thread's, but for submit()'s admission check, which reads
  // the cache's fixed size.
  Runner runner_;

  mutable converge::Mutex mutex_;
  converge::CondVar wake_, idle_;
  std::deque<Pending> pending_ CONVERGE_GUARDED_BY(mutex_);
  std::unordered_map<std::uint64_t, Active> active_ CONVERGE_GUARDED_BY(mutex_);
  std::uint64_t next_id_ CONVERGE_GUARDED_BY(mutex_) = 0;
  std::size_t outstanding_ CONVERGE_GUARDED_BY(mutex_) = 0;
  bool stop_ CONVERGE_GUARDED_BY(mutex_) = false;
  bool draining_ CONVERGE_GUARDED_BY(mutex_) = false;
  // Why the engine failed; empty while it works.
  std::string failure_ CONVERGE_GUARDED_BY(mutex_);
  Counters counters_ CONVERGE_GUARDED_BY(mutex_);
  std::thread engine_;
};

}  // namespace tdpipe
