// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/http_server.h"

#include "tdpipe/serve/api_key.h"
#include "tdpipe/serve/completion_api.h"

#include "tdpipe/serve/listener.h"

#include <httplib.h>

#include <chrono>
#include <ctime>

namespace tdpipe {
namespace {

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, message).dump() + "\n", "application/json");
}

// Counts a response from its handler until its last byte is handed over.
class InProgress {
 public:
  explicit InProgress(std::shared_ptr<std::atomic<int>> count) : count_(std::move(count)) {
    ++*count_;
  }
  ~InProgress() { --*count_; }
  InProgress(const InProgress&) = delete;
  InProgress& operator=(const InProgress&) = delete;

 private:
  std::shared_ptr<std::atomic<int>> count_;
};

}  // namespace

HttpServer::HttpServer(InferenceService& service, const ServeSettings& settings)
    : service_(service),
      settings_(settings),
      // A thread per request up to `threads`, so many clients can wait on
      // their completions while the engine batches them.
      listener_(std::make_unique<Listener>(settings.listener_limits())),
      in_progress_(std::make_shared<std::atomic<int>>(0)) {
  routes();
}

HttpServer::~HttpServer() = default;

void HttpServer::require_api_key(const std::string& key) {
  tdpipe::require_api_key(listener_->server(), key);
}

int HttpServer::bind(const std::string& host, int port) {
  return listener_->bind(host, port);
}

void HttpServer::serve() {
  listener_->serve();
}

void HttpServer::stop() {
  listener_->stop();
}

void HttpServer::routes() {
  listener_->server().set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string why = res.status == 404   ? "no such endpoint"
                      : res.status == 413 ? "the request body is too large"
                                          : "the request could not be served";
    send_error(res, res.status, why);
  });
  listener_->server().set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        send_error(res, 500, "internal error");
      });

  listener_->server().Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json j{{"model", service_.model_name()}};
    if (service_.draining() || !service_.healthy()) {
      j["status"] = service_.healthy() ? "draining" : "failed";
      res.status = 503;
    } else {
      j["status"] = "ok";
    }
    res.set_content(j.dump() + "\n", "application/json");
  });
  listener_->server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.metrics(), "text/plain; version=0.0.4");
  });
  listener_->server().Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json model{
        {"id", service_.model_name()}, {"object", "model"}, {"owned_by", "tdpipe"}};
    res.set_content(nlohmann::json{{"object", "list"}, {"data", {model}}}.dump() + "\n",
                    "application/json");
  });

  listener_->server().Post("/v1/completions", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    auto guard = std::make_shared<InProgress>(in_progress_);
    CompletionRequest c;
    std::shared_ptr<Stream> stream;
    try {
      c = parse_completion_request(req.body, service_.eos(), service_.tokenizer(),
                                   service_.config().seq_len);
      if (!c.model.empty() && c.model != service_.model_name())
        throw ApiError(
            404, "model \"" + c.model + "\" is not served here (" + service_.model_name() + " is)");
    } catch (const ApiError& e) {
      service_.count_rejection(e.status());
      send_error(res, e.status(), e.what());
      return;
    }
    try {
      stream = service_.submit(c.request);  // counts its own refusals
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what());
      return;
    }
    static std::atomic<std::uint64_t> serial{0};
    const std::string id = "cmpl-" + std::to_string(++serial);
    const long created = long(std::time(nullptr));
    const std::string model = service_.model_name();
    const Tokenizer* tokenizer = service_.tokenizer();
    if (!c.stream) {
      converge::MutexLock lock(stream->mutex);
      while (!stream->done) stream->changed.wait(stream->mutex);
      if (stream->completion.finish_reason == "error")
        return send_error(res, 500, "the engine failed while serving this request");
      std::string text;
      if (tokenizer) {
        int previous = c.request.prompt.back();
        for (int t : stream->completion.tokens) {
          text += tokenizer->decode(previous, t);
          previous = t;
        }
      }
      res.set_content(
          completion_json(id, model, c.request.prompt, stream->completion, text, created).dump() +
              "\n",
          "application/json");
      return;
    }
    // Server-sent events: one per token, then the finish reason, then [DONE].
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream, guard, id, model, created, tokenizer, sent = std::size_t(0),
         previous = c.request.prompt.back()](std::size_t, httplib::DataSink& sink) mutable {
          std::vector<int> fresh;
          bool done = false;
          std::string reason;
          {
            converge::MutexLock lock(stream->mutex);
            while (!stream->done && stream->tokens.size() <= sent)
              stream->changed.wait(stream->mutex);
            fresh.assign(stream->tokens.begin() + long(sent), stream->tokens.end());
            sent = stream->tokens.size();
            done = stream->done;
            reason = stream->completion.finish_reason;
          }
          std::string events;
          for (int token : fresh) {
            const std::string text = tokenizer ? tokenizer->decode(previous, token) : "";
            previous = token;
            events += "data: " + chunk_json(id, model, token, text, "", created).dump() + "\n\n";
          }
          if (done) {
            events += "data: " + chunk_json(id, model, -1, "", reason, created).dump() + "\n\n";
            events += "data: [DONE]\n\n";
          }
          if (!events.empty() && !sink.write(events.data(), events.size())) return false;
          if (done) sink.done();
          return true;
        });
  });
}

}  // namespace tdpipe
