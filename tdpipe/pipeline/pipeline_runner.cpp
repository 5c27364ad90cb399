// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/pipeline/pipeline_runner.h"

#include "tdpipe/model/layer_split.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tdpipe {
namespace {

constexpr int kBatchTag = 71, kLogitsTag = 72;

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int size_of(MPI_Comm comm) {
  int n = 1;
  MPI_Comm_size(comm, &n);
  return n;
}

std::vector<char> receive_bytes(MPI_Comm comm, int source, int tag) {
  MPI_Status status;
  MPI_Probe(source, tag, comm, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<char> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_BYTE, source, tag, comm, MPI_STATUS_IGNORE);
  return bytes;
}

}  // namespace

void serve_stage(const Weights& weights, MPI_Comm comm, int kv_blocks) {
  const int rank = rank_of(comm), stages = size_of(comm);
  auto [first, last] = split_layers(weights.config.n_layers, stages)[rank];
  StageModel stage(weights, first, last, kv_blocks);
  std::vector<float> x;
  while (true) {
    MicroBatchHeader h = unpack(receive_bytes(comm, rank - 1, kBatchTag), x);
    if (h.id < 0) {
      if (!stage.last()) {
        auto stop = pack(h, {});
        MPI_Send(stop.data(), int(stop.size()), MPI_BYTE, rank + 1, kBatchTag, comm);
      }
      return;
    }
    std::vector<std::vector<int>> tables;
    for (auto& c : h.chunks) tables.push_back(c.blocks);
    std::vector<Chunk> chunks;
    for (std::size_t i = 0; i < h.chunks.size(); ++i)
      chunks.push_back({&tables[i], h.chunks[i].start, h.chunks[i].count});
    stage.forward(chunks, x);
    if (stage.last()) {
      std::vector<float> logits = stage.logits(chunks, x);
      std::vector<char> out(4 + logits.size() * 4);
      std::memcpy(out.data(), &h.id, 4);
      std::memcpy(out.data() + 4, logits.data(), logits.size() * 4);
      MPI_Send(out.data(), int(out.size()), MPI_BYTE, 0, kLogitsTag, comm);
    } else {
      auto out = pack(h, x);
      MPI_Send(out.data(), int(out.size()), MPI_BYTE, rank + 1, kBatchTag, comm);
    }
  }
}

PipelineRunner::PipelineRunner(const Weights& weights, MPI_Comm comm, RunnerOptions options)
    : stage_(weights, 0, split_layers(weights.config.n_layers, size_of(comm))[0].second,
             options.kv_blocks),
      comm_(comm),
      stages_(size_of(comm)),
      scheduler_(make_scheduler(options.scheduler, scheduler_config(options, stages_, &cost_))),
      table_(stage_.cache(), stage_.config()),
      predict_(std::move(options.predict_output)) {
  if (rank_of(comm) != 0) throw std::logic_error("the pipeline's scheduler runs on rank 0");
}

PipelineRunner::~PipelineRunner() {
  stop_stages();
}

void PipelineRunner::stop_stages() {
  if (stopped_ || stages_ == 1) return;
  stopped_ = true;
  auto stop = pack({-1, {}}, {});
  MPI_Send(stop.data(), int(stop.size()), MPI_BYTE, 1, kBatchTag, comm_);
}

void PipelineRunner::submit(std::uint64_t id, const Request& request) {
  table_.submit(*scheduler_, id, request, stage_.cache().total_blocks(),
                predict_ ? predict_(request) : 0);
  ++submitted_;
}

void PipelineRunner::launch(Plan plan) {
  using Clock = std::chrono::steady_clock;
  RequestTable::Inputs in = table_.prepare(plan);
  MicroBatchHeader header{next_batch_++, {}};
  for (std::size_t i = 0; i < plan.chunks.size(); ++i)
    header.chunks.push_back({std::int32_t(plan.chunks[i].seq->id), in.chunks[i].start,
                             in.chunks[i].count, *in.chunks[i].table});
  auto start = Clock::now();
  std::vector<float> x;
  stage_.embed(in.tokens, x);
  stage_.forward(in.chunks, x);
  if (stages_ == 1) {
    std::vector<float> logits = stage_.logits(in.chunks, x);
    cost_.record(plan.shape(), std::chrono::duration<double>(Clock::now() - start).count());
    complete(plan, logits.data());
    return;
  }
  cost_.record(plan.shape(), std::chrono::duration<double>(Clock::now() - start).count());
  in_flight_.push_back({header.id, std::move(plan), pack(header, x), MPI_REQUEST_NULL});
  InFlight& batch = in_flight_.back();
  MPI_Isend(batch.message.data(), int(batch.message.size()), MPI_BYTE, 1, kBatchTag, comm_,
            &batch.send);
}

void PipelineRunner::complete(const Plan& plan, const float* logits) {
  table_.finish(scheduler_->complete(plan, table_.sample(plan, logits)));
}

void PipelineRunner::receive_one() {
  std::vector<char> bytes = receive_bytes(comm_, stages_ - 1, kLogitsTag);
  std::int32_t id = 0;
  std::memcpy(&id, bytes.data(), 4);
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [&](const InFlight& b) { return b.id == id; });
  if (it == in_flight_.end()) throw std::logic_error("logits of an unknown micro-batch");
  MPI_Wait(&it->send, MPI_STATUS_IGNORE);
  std::vector<float> logits((bytes.size() - 4) / 4);
  std::memcpy(logits.data(), bytes.data() + 4, logits.size() * 4);
  InFlight batch = std::move(*it);
  in_flight_.erase(it);
  complete(batch.plan, logits.data());
}

std::map<std::uint64_t, Completion> PipelineRunner::run() {
  while (!scheduler_->idle()) {
    while (int(in_flight_.size()) < stages_) {
      std::optional<Plan> plan = scheduler_->next();
      if (!plan) break;
      launch(std::move(*plan));
    }
    if (!in_flight_.empty())
      receive_one();
    else if (!scheduler_->idle() && scheduler_->in_flight() == 0)
      throw std::logic_error("the scheduler has work but planned none");
  }
  auto done = table_.take_finished();
  if (done.size() != submitted_) throw std::logic_error("a request was lost");
  submitted_ = 0;
  return done;
}

}  // namespace tdpipe
