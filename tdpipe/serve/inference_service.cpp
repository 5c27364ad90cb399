// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/inference_service.h"

#include "tdpipe/engine/sequence.h"
#include "tdpipe/serve/completion_api.h"

#include "converge/log.h"

#include <cstdio>
#include <sstream>

namespace tdpipe {
namespace {

RunnerOptions runner_options(const ModelConfig& config, const ServeSettings& s,
                             std::function<int(const Request&)> predict) {
  RunnerOptions o;
  o.kv_blocks = s.kv_blocks > 0 ? s.kv_blocks : s.max_batch_seqs * blocks_for(config.seq_len);
  o.step_tokens = s.step_tokens;
  o.scheduler = s.scheduler;
  o.max_batch_seqs = s.max_batch_seqs;
  o.predict_output = std::move(predict);
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

InferenceService::InferenceService(Weights weights, std::optional<Tokenizer> tokenizer,
                                   std::string model_name, int eos, const ServeSettings& settings,
                                   std::function<int(const Request&)> predict)
    : weights_(std::move(weights)),
      tokenizer_(std::move(tokenizer)),
      model_name_(std::move(model_name)),
      eos_(eos),
      settings_(settings),
      runner_(weights_, runner_options(weights_.config, settings, std::move(predict))) {
  runner_.table().on_token = [this](std::uint64_t id, int token) { on_token(id, token); };
  runner_.table().on_finished = [this](std::uint64_t id, Completion&& c) {
    on_finished(id, std::move(c));
  };
  counters_.total_blocks = counters_.free_blocks = runner_.cache().total_blocks();
  engine_ = std::thread([this] { loop(); });
}

InferenceService::~InferenceService() {
  {
    converge::MutexLock lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  engine_.join();
}

std::shared_ptr<Stream> InferenceService::submit(const Request& request) {
  converge::MutexLock lock(mutex_);
  if (draining_) {
    ++counters_.unavailable;
    throw ApiError(503, "the server is shutting down");
  }
  if (!failure_.empty()) {
    ++counters_.unavailable;
    throw ApiError(503, "the engine failed (" + failure_ + "); restart the server");
  }
  if (pending_.size() + counters_.waiting >= std::size_t(settings_.max_waiting)) {
    ++counters_.busy;
    throw ApiError(429, "too many requests are waiting; try again later");
  }
  const std::uint64_t id = next_id_;
  try {
    check_admissible(id, request, weights_.config, runner_.cache().total_blocks());
  } catch (const std::invalid_argument& e) {
    ++counters_.bad_request;
    throw ApiError(400, e.what());
  }
  ++next_id_;
  auto stream = std::make_shared<Stream>();
  pending_.push_back({id, request, stream, std::chrono::steady_clock::now()});
  ++outstanding_;
  ++counters_.accepted;
  counters_.prompt_tokens += request.prompt.size();
  wake_.notify_one();
  return stream;
}

void InferenceService::count_rejection(int status) {
  converge::MutexLock lock(mutex_);
  ++(status == 429   ? counters_.busy
     : status >= 500 ? counters_.unavailable
                     : counters_.bad_request);
}

void InferenceService::drain() {
  converge::MutexLock lock(mutex_);
  draining_ = true;
}

bool InferenceService::draining() const {
  converge::MutexLock lock(mutex_);
  return draining_;
}

bool InferenceService::healthy() const {
  converge::MutexLock lock(mutex_);
  return failure_.empty();
}

void InferenceService::wait_idle() {
  converge::MutexLock lock(mutex_);
  while (outstanding_ != 0) idle_.wait(mutex_);
}

void InferenceService::loop() {
  try {
    bool busy = false;
    while (true) {
      {
        converge::MutexLock lock(mutex_);
        while (!stop_ && !busy && pending_.empty()) wake_.wait(mutex_);
        if (stop_) return;
        while (!pending_.empty()) {
          Pending p = std::move(pending_.front());
          pending_.pop_front();
          active_[p.id] = {p.stream, p.arrived, false};
          runner_.submit(p.id, p.request);  // checked in submit()
        }
      }
      busy = runner_.step();
      converge::MutexLock lock(mutex_);
      counters_.scheduler = runner_.stats();
      counters_.waiting = runner_.scheduler().waiting();
      counters_.running = runner_.scheduler().running();
      counters_.free_blocks = runner_.cache().free_blocks();
    }
  } catch (const std::exception& e) {
    fail_everything(e.what());
  }
}

void InferenceService::fail_everything(const std::string& why) {
  // The engine's state cannot be trusted after an error: every request in
  // it ends with finish reason "error", and new ones are refused (503),
  // until the service is restarted.
  converge::log::error("the engine failed: {}", why);
  std::vector<std::shared_ptr<Stream>> streams;
  {
    converge::MutexLock lock(mutex_);
    failure_ = why;
    for (auto& [id, a] : active_) streams.push_back(a.stream);
    for (auto& p : pending_) streams.push_back(p.stream);
    active_.clear();
    pending_.clear();
    outstanding_ = 0;
  }
  for (auto& stream : streams) {
    {
      converge::MutexLock lock(stream->mutex);
      stream->completion.finish_reason = "error";
      stream->done = true;
    }
    stream->changed.notify_all();
  }
  idle_.notify_all();
}

void InferenceService::on_token(std::uint64_t id, int token) {
  std::shared_ptr<Stream> stream;
  {
    converge::MutexLock lock(mutex_);
    Active& a = active_.at(id);
    stream = a.stream;
    ++counters_.generated;
    if (!a.first_token) {
      a.first_token = true;
      counters_.first_token_sum += seconds_since(a.arrived);
      ++counters_.first_token_count;
    }
  }
  {
    converge::MutexLock lock(stream->mutex);
    stream->tokens.push_back(token);
  }
  stream->changed.notify_all();
}

void InferenceService::on_finished(std::uint64_t id, Completion&& completion) {
  std::shared_ptr<Stream> stream;
  {
    converge::MutexLock lock(mutex_);
    auto it = active_.find(id);
    stream = it->second.stream;
    counters_.duration_sum += seconds_since(it->second.arrived);
    ++(completion.finish_reason == "stop" ? counters_.finished_stop : counters_.finished_length);
    active_.erase(it);
  }
  {
    converge::MutexLock lock(stream->mutex);
    stream->completion = std::move(completion);
    stream->done = true;
  }
  stream->changed.notify_all();
  converge::MutexLock lock(mutex_);
  if (--outstanding_ == 0) idle_.notify_all();
}

std::string InferenceService::metrics() const {
  Counters c;
  bool draining = false;
  {
    converge::MutexLock lock(mutex_);
    c = counters_;
    c.waiting += pending_.size();
    draining = draining_;
  }
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value,
                    const std::string& labels = "") {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << labels << " " << value << "\n";
  };
  const std::string model = "{model=\"" + model_name_ + "\"}";
  metric("tdpipe_requests_accepted_total", "counter", "Requests accepted.", c.accepted, model);
  out << "# HELP tdpipe_requests_rejected_total Requests refused, by reason.\n"
      << "# TYPE tdpipe_requests_rejected_total counter\n"
      << "tdpipe_requests_rejected_total{reason=\"bad_request\"} " << c.bad_request << "\n"
      << "tdpipe_requests_rejected_total{reason=\"busy\"} " << c.busy << "\n"
      << "tdpipe_requests_rejected_total{reason=\"unavailable\"} " << c.unavailable << "\n";
  out << "# HELP tdpipe_requests_finished_total Requests finished, by finish reason.\n"
      << "# TYPE tdpipe_requests_finished_total counter\n"
      << "tdpipe_requests_finished_total{finish_reason=\"stop\"} " << c.finished_stop << "\n"
      << "tdpipe_requests_finished_total{finish_reason=\"length\"} " << c.finished_length << "\n";
  metric("tdpipe_requests_waiting", "gauge", "Requests waiting to be admitted.", c.waiting);
  metric("tdpipe_requests_running", "gauge", "Requests admitted and not finished.", c.running);
  metric("tdpipe_prompt_tokens_total", "counter", "Prompt tokens accepted.", c.prompt_tokens);
  metric("tdpipe_generation_tokens_total", "counter", "Tokens generated.", c.generated);
  metric("tdpipe_batches_total", "counter", "Micro-batches run.", c.scheduler.batches);
  metric("tdpipe_preemptions_total", "counter", "Sequences preempted by recomputation.",
         c.scheduler.preemptions);
  metric("tdpipe_phase_switches_total", "counter", "TD-Pipe switches from decode to prefill.",
         c.scheduler.phase_switches);
  metric("tdpipe_kv_blocks_total", "gauge", "KV cache blocks of 16 positions.", c.total_blocks);
  metric("tdpipe_kv_blocks_free", "gauge", "KV cache blocks free.", c.free_blocks);
  out << "# HELP tdpipe_request_duration_seconds Time from arrival to the last token.\n"
      << "# TYPE tdpipe_request_duration_seconds summary\n"
      << "tdpipe_request_duration_seconds_sum " << c.duration_sum << "\n"
      << "tdpipe_request_duration_seconds_count " << (c.finished_stop + c.finished_length) << "\n";
  out << "# HELP tdpipe_time_to_first_token_seconds Time from arrival to the first token.\n"
      << "# TYPE tdpipe_time_to_first_token_seconds summary\n"
      << "tdpipe_time_to_first_token_seconds_sum " << c.first_token_sum << "\n"
      << "tdpipe_time_to_first_token_seconds_count " << c.first_token_count << "\n";
  metric("tdpipe_draining", "gauge", "1 while shutting down.", draining ? 1 : 0);
  return out.str();
}

}  // namespace tdpipe
