// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/runner.h"

#include <chrono>
#include <stdexcept>

namespace tdpipe {

SchedulerConfig scheduler_config(const RunnerOptions& options, int stages, const StageCost* cost) {
  SchedulerConfig c;
  c.stages = stages;
  c.kv_blocks = options.kv_blocks;
  c.max_batch_tokens = options.step_tokens;
  c.max_batch_seqs = options.max_batch_seqs;
  c.chunk_tokens = options.chunk_tokens;
  c.kv_fraction = options.kv_fraction;
  c.cost = cost;
  return c;
}

Runner::Runner(const Weights& weights, RunnerOptions options)
    : model_(weights, 0, weights.config.n_layers, options.kv_blocks),
      scheduler_(make_scheduler(options.scheduler, scheduler_config(options, 1, &cost_))),
      table_(model_.cache(), model_.config()),
      predict_(std::move(options.predict_output)) {}

void Runner::submit(std::uint64_t id, const Request& request) {
  table_.submit(*scheduler_, id, request, model_.cache().total_blocks(),
                predict_ ? predict_(request) : 0);
  ++submitted_;
}

bool Runner::step() {
  using Clock = std::chrono::steady_clock;
  if (scheduler_->idle()) return false;
  std::optional<Plan> plan = scheduler_->next();
  if (!plan) throw std::logic_error("the scheduler has work but planned none");
  RequestTable::Inputs in = table_.prepare(*plan);
  auto start = Clock::now();
  std::vector<float> x;
  model_.embed(in.tokens, x);
  model_.forward(in.chunks, x);
  std::vector<float> logits = model_.logits(in.chunks, x);
  cost_.record(plan->shape(), std::chrono::duration<double>(Clock::now() - start).count());
  table_.finish(scheduler_->complete(*plan, table_.sample(*plan, logits.data())));
  return true;
}

std::map<std::uint64_t, Completion> Runner::run() {
  while (step()) {
  }
  auto done = table_.take_finished();
  if (done.size() != submitted_) throw std::logic_error("a request was lost");
  submitted_ = 0;
  return done;
}

}  // namespace tdpipe
