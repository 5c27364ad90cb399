// SPDX-License-Identifier: GPL-2.0-or-later
#include "pipeline/pipeline_runner.h"

#include "pipeline/plan.h"

#include <algorithm>
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
      options_(options) {
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
  check_admissible(id, request, stage_.config(), stage_.cache().total_blocks());
  waiting_.push_back(std::make_unique<Sequence>(id, request));
}

bool PipelineRunner::launch() {
  KvCache& cache = stage_.cache();
  // Room for the next position of every running sequence not in flight,
  // preempting the latest admitted ones not in flight while there is not.
  std::vector<Sequence*> chosen;
  int budget = options_.step_tokens;
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& s = *running_[i];
    if (s.in_flight) {
      ++i;
      continue;
    }
    if (cache.reserve(s.table, s.length())) {
      chosen.push_back(&s);
      --budget;
      ++i;
      continue;
    }
    // The latest admitted sequence that is not in the pipeline.
    auto victim = std::find_if(running_.rbegin(), running_.rend(), [&](const auto& v) {
      return !v->in_flight && std::find(chosen.begin(), chosen.end(), v.get()) == chosen.end();
    });
    if (victim == running_.rend()) break;  // wait for the pipeline to give blocks back
    Sequence& v = **victim;
    cache.release(v.table);
    v.cached = 0;
    ++stats_.preemptions;
    auto it = std::next(victim).base();
    waiting_.push_front(std::move(*it));
    running_.erase(it);
  }
  while (!waiting_.empty()) {
    Sequence& s = *waiting_.front();
    int tokens = s.length();
    if (tokens > budget && !chosen.empty()) break;
    if (!cache.reserve(s.table, tokens)) break;
    budget -= tokens;
    chosen.push_back(&s);
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  if (chosen.empty()) return false;

  MicroBatchHeader header{next_batch_++, {}};
  std::vector<Chunk> chunks;
  std::vector<int> tokens;
  for (Sequence* s : chosen) {
    int from = s->cached, to = s->length();
    header.chunks.push_back({std::int32_t(s->id), from, to - from, s->table});
    chunks.push_back({&s->table, from, to - from});
    for (int p = from; p < to; ++p) tokens.push_back(s->token_at(p));
    (from == 0 ? stats_.prefill_tokens : stats_.decode_tokens) += std::uint64_t(to - from);
    s->cached = to;
    s->in_flight = true;
  }
  std::vector<float> x;
  stage_.embed(tokens, x);
  stage_.forward(chunks, x);
  ++stats_.steps;
  in_flight_.push_back({header.id, chosen, {}, MPI_REQUEST_NULL});
  if (stages_ == 1) {
    std::vector<float> logits = stage_.logits(chunks, x);
    InFlight batch = std::move(in_flight_.back());
    in_flight_.pop_back();
    complete(batch, logits.data());
    return true;
  }
  InFlight& batch = in_flight_.back();
  batch.message = pack(header, x);
  MPI_Isend(batch.message.data(), int(batch.message.size()), MPI_BYTE, 1, kBatchTag, comm_,
            &batch.send);
  return true;
}

void PipelineRunner::complete(InFlight& batch, const float* logits) {
  const ModelConfig& c = stage_.config();
  for (std::size_t i = 0; i < batch.sequences.size(); ++i) {
    Sequence& s = *batch.sequences[i];
    s.in_flight = false;
    s.take_next(std::span<const float>(logits + i * std::size_t(c.vocab_size), c.vocab_size), c);
  }
  for (std::size_t i = 0; i < running_.size();) {
    if (!running_[i]->done) {
      ++i;
      continue;
    }
    stage_.cache().release(running_[i]->table);
    finished_[running_[i]->id] = std::move(running_[i]->completion);
    running_.erase(running_.begin() + long(i));
  }
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
  complete(batch, logits.data());
}

std::map<std::uint64_t, Completion> PipelineRunner::run() {
  while (!waiting_.empty() || !running_.empty() || !in_flight_.empty()) {
    while (int(in_flight_.size()) < stages_ && launch()) {
    }
    if (!in_flight_.empty())
      receive_one();
    else if (!waiting_.empty() || !running_.empty())
      throw std::logic_error("nothing in flight and nothing can start");
  }
  return std::move(finished_);
}

}  // namespace tdpipe
