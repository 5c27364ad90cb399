// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/simulator.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace tdpipe::sim {
namespace {

struct Launched {
  Plan plan;
  double done;  // when its last stage's result is back on the first stage
};

}  // namespace

SimResult simulate(const SimSetup& setup, const std::vector<SimRequest>& requests,
                   const std::vector<int>& predicted) {
  const int stages = setup.config.stages;
  if (int(setup.stage_costs.size()) != stages)
    throw std::invalid_argument("one stage cost per stage");
  if (predicted.size() != requests.size())
    throw std::invalid_argument("one predicted length per request");
  auto scheduler = make_scheduler(setup.scheduler, setup.config);

  std::vector<double> arrival(requests.size()), finish(requests.size());
  std::vector<int> output(requests.size());
  std::vector<double> stage_free(std::size_t(stages), 0), busy(std::size_t(stages), 0);
  std::deque<Launched> in_flight;
  SimResult result;
  result.scheduler = setup.scheduler;
  std::uint64_t decode_batches = 0, decode_seqs = 0;
  std::size_t next_arrival = 0, finished = 0;
  double now = 0;

  auto arrive = [&](const SimRequest& q) {
    SeqState s;
    s.id = q.id;
    s.prompt = q.prompt;
    s.limit = std::max(q.prompt + q.output, std::min(q.prompt + setup.max_tokens, setup.context));
    s.predicted = predicted[q.id];
    scheduler->add(s);
    arrival[q.id] = q.arrival;
    output[q.id] = q.output;
    result.prompt_tokens += std::uint64_t(q.prompt);
  };
  for (std::size_t i = 0; i < requests.size(); ++i)
    if (requests[i].id != i) throw std::invalid_argument("request ids must be 0, 1, ... in order");

  while (finished < requests.size()) {
    while (next_arrival < requests.size() && requests[next_arrival].arrival <= now)
      arrive(requests[next_arrival++]);
    // Plan and launch while the pipeline has room.
    while (int(in_flight.size()) < stages) {
      std::optional<Plan> plan = scheduler->next();
      if (!plan) break;
      BatchShape shape = plan->shape();
      double t = std::max(now, stage_free[0]);
      int admitted = 0;
      for (const auto& c : plan->chunks) admitted += c.start == 0;
      t += admitted * setup.predictor_seconds;
      if (shape.decode_tokens > 0) {
        ++decode_batches;
        decode_seqs += std::uint64_t(shape.decode_tokens);
      }
      const double bytes = double(plan->tokens()) * setup.transfer_bytes_per_token;
      for (int s = 0; s < stages; ++s) {
        double cost = setup.stage_costs[std::size_t(s)]->seconds(shape);
        double start = std::max(t, stage_free[std::size_t(s)]);
        stage_free[std::size_t(s)] = start + cost;
        busy[std::size_t(s)] += cost;
        t = start + cost + (s + 1 < stages ? bytes / setup.link + setup.link_latency : 0);
      }
      if (stages > 1) t += setup.link_latency;  // sampled token ids back to the first stage
      in_flight.push_back({std::move(*plan), t});
    }
    const bool more_arrivals = next_arrival < requests.size();
    if (in_flight.empty()) {
      if (!more_arrivals) throw std::logic_error("the scheduler has work but planned none");
      now = std::max(now, requests[next_arrival].arrival);
      continue;
    }
    if (more_arrivals && requests[next_arrival].arrival < in_flight.front().done) {
      now = requests[next_arrival].arrival;
      continue;
    }
    // The earliest micro-batch back: stages are first come first served, so
    // micro-batches come back in launch order.
    Launched batch = std::move(in_flight.front());
    in_flight.pop_front();
    now = std::max(now, batch.done);
    std::vector<bool> ended(batch.plan.chunks.size(), false);
    for (std::size_t i = 0; i < ended.size(); ++i) {
      const PlannedChunk& c = batch.plan.chunks[i];
      if (!c.samples()) continue;
      ended[i] = c.seq->generated + 1 >= output[c.seq->id];
      ++result.output_tokens;
    }
    for (std::uint64_t id : scheduler->complete(batch.plan, ended)) {
      finish[id] = now;
      ++finished;
    }
  }
  result.makespan = now;
  result.stats = scheduler->stats();
  double total_busy = 0;
  for (double b : busy) total_busy += b;
  result.busy = now > 0 ? total_busy / (stages * now) : 0;
  result.mean_decode_batch = decode_batches ? double(decode_seqs) / decode_batches : 0;
  double latency = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) latency += finish[i] - arrival[i];
  result.mean_latency = requests.empty() ? 0 : latency / double(requests.size());
  return result;
}

}  // namespace tdpipe::sim
