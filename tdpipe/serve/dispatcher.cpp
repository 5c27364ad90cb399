// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/dispatcher.h"

#include "tdpipe/serve/api_key.h"
#include "tdpipe/serve/completion_api.h"

#include "tdpipe/serve/listener.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace tdpipe {
namespace {

constexpr std::int64_t kDownMs = 3000;  // how long an unreachable instance is skipped

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, message).dump() + "\n", "application/json");
}

// A backend's streamed response, read by a thread of its own and relayed.
struct Relay {
  std::mutex mutex;
  std::condition_variable changed;
  int status = 0;  // 0 until the headers arrived
  std::string content_type;
  std::deque<std::string> chunks;
  bool done = false, failed = false, abandoned = false;
};

// Counts a request against its backend while it is being served.
class Outstanding {
 public:
  explicit Outstanding(Dispatcher::Backend& b) : b_(b) { ++b_.outstanding; }
  ~Outstanding() { --b_.outstanding; }
  Outstanding(const Outstanding&) = delete;
  Outstanding& operator=(const Outstanding&) = delete;

 private:
  Dispatcher::Backend& b_;
};

}  // namespace

Address parse_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("expected HOST:PORT, got \"" + text + "\"");
  Address a;
  a.host = text.substr(0, colon);
  std::size_t used = 0;
  try {
    a.port = std::stoi(text.substr(colon + 1), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() - colon - 1 || a.port < 0 || a.port > 65535)
    throw std::invalid_argument("expected HOST:PORT, got \"" + text + "\"");
  return a;
}

Dispatcher::Dispatcher(const std::vector<Address>& backends, const ListenerLimits& limits)
    : listener_(std::make_unique<Listener>(limits)) {
  if (backends.empty()) throw std::invalid_argument("the dispatcher needs at least one instance");
  for (const auto& a : backends) {
    backends_.push_back(std::make_unique<Backend>());
    backends_.back()->address = a;
  }
  routes();
}

Dispatcher::~Dispatcher() = default;

int Dispatcher::bind(const std::string& host, int port) {
  return listener_->bind(host, port);
}

void Dispatcher::serve() {
  listener_->serve();
}

void Dispatcher::stop() {
  listener_->stop();
}

int Dispatcher::outstanding() const {
  int n = 0;
  for (const auto& b : backends_) n += b->outstanding;
  return n;
}

Dispatcher::Backend* Dispatcher::pick() {
  const std::int64_t now = now_ms();
  const std::size_t start = turn_++;
  Backend* best = nullptr;
  for (std::size_t k = 0; k < backends_.size(); ++k) {
    Backend* b = backends_[(start + k) % backends_.size()].get();
    if (b->down_until_ms > now) continue;
    if (!best || b->outstanding < best->outstanding) best = b;
  }
  return best;
}

namespace {

httplib::Headers bearer(const std::string& key) {
  if (key.empty()) return {};
  return {{"Authorization", "Bearer " + key}};
}

}  // namespace

void Dispatcher::use_api_key(const std::string& key) {
  api_key_ = key;
  require_api_key(listener_->server(), key);
}

void Dispatcher::routes() {
  listener_->server().set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, "no such endpoint");
  });
  listener_->server().Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    int up = 0;
    for (const auto& b : backends_) {
      httplib::Client client(b->address.host, b->address.port);
      client.set_connection_timeout(1, 0);
      auto r = client.Get("/health");
      bool ok = r && r->status == 200;
      up += ok;
      list.push_back({{"instance", b->address.to_string()}, {"ok", ok}});
    }
    res.status = up > 0 && !draining_ ? 200 : 503;
    nlohmann::json j{{"status", res.status == 200 ? "ok" : (draining_ ? "draining" : "down")},
                     {"instances", list}};
    res.set_content(j.dump() + "\n", "application/json");
  });
  listener_->server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string out =
        "# HELP tdpipe_dispatch_requests_total Completions relayed, by instance.\n"
        "# TYPE tdpipe_dispatch_requests_total counter\n";
    for (const auto& b : backends_)
      out += "tdpipe_dispatch_requests_total{instance=\"" + b->address.to_string() + "\"} " +
             std::to_string(b->served) + "\n";
    out +=
        "# HELP tdpipe_dispatch_outstanding Completions in progress, by instance.\n"
        "# TYPE tdpipe_dispatch_outstanding gauge\n";
    for (const auto& b : backends_)
      out += "tdpipe_dispatch_outstanding{instance=\"" + b->address.to_string() + "\"} " +
             std::to_string(b->outstanding) + "\n";
    out +=
        "# HELP tdpipe_dispatch_errors_total Instances found unreachable.\n"
        "# TYPE tdpipe_dispatch_errors_total counter\n";
    for (const auto& b : backends_)
      out += "tdpipe_dispatch_errors_total{instance=\"" + b->address.to_string() + "\"} " +
             std::to_string(b->errors) + "\n";
    res.set_content(out, "text/plain; version=0.0.4");
  });

  listener_->server().Post(
      "/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
        if (draining_) return send_error(res, 503, "the dispatcher is shutting down");
        nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
        const bool stream = body.is_object() && body.contains("stream") && body["stream"] == true;
        for (std::size_t attempt = 0; attempt < backends_.size(); ++attempt) {
          Backend* b = pick();
          if (!b) break;
          auto guard = std::make_shared<Outstanding>(*b);
          if (!stream) {
            httplib::Client client(b->address.host, b->address.port);
            client.set_connection_timeout(2, 0);
            client.set_read_timeout(3600, 0);
            auto r = client.Post("/v1/completions", bearer(api_key_), req.body, "application/json");
            if (!r) {
              ++b->errors;
              b->down_until_ms = now_ms() + kDownMs;
              continue;
            }
            ++b->served;
            res.status = r->status;
            res.set_content(r->body, r->get_header_value("Content-Type"));
            return;
          }
          // Streamed: read the instance's events on a thread and relay them.
          auto relay = std::make_shared<Relay>();
          // The reader holds the relay as long as it reads, so it can outlive
          // a client that went away.
          std::thread([relay, address = b->address, body = req.body, headers = bearer(api_key_)] {
            httplib::Client client(address.host, address.port);
            client.set_connection_timeout(2, 0);
            client.set_read_timeout(3600, 0);
            httplib::Request up;
            up.method = "POST";
            up.path = "/v1/completions";
            up.body = body;
            up.headers = headers;
            up.set_header("Content-Type", "application/json");
            up.response_handler = [relay](const httplib::Response& r) {
              std::lock_guard lock(relay->mutex);
              relay->status = r.status;
              relay->content_type = r.get_header_value("Content-Type");
              relay->changed.notify_all();
              return true;
            };
            up.content_receiver = [relay](const char* data, std::size_t size, std::uint64_t,
                                          std::uint64_t) {
              std::lock_guard lock(relay->mutex);
              relay->chunks.emplace_back(data, size);
              relay->changed.notify_all();
              return !relay->abandoned;
            };
            httplib::Response response;
            httplib::Error error = httplib::Error::Success;
            bool ok = client.send(up, response, error);
            std::lock_guard lock(relay->mutex);
            relay->failed = !ok && relay->status == 0;
            relay->done = true;
            relay->changed.notify_all();
          }).detach();
          std::unique_lock lock(relay->mutex);
          relay->changed.wait(lock, [&] { return relay->status != 0 || relay->done; });
          if (relay->failed) {
            ++b->errors;
            b->down_until_ms = now_ms() + kDownMs;
            continue;
          }
          ++b->served;
          if (relay->status != 200) {  // an error: the whole body at once
            relay->changed.wait(lock, [&] { return relay->done; });
            std::string all;
            for (auto& c : relay->chunks) all += c;
            res.status = relay->status;
            res.set_content(all, relay->content_type);
            return;
          }
          lock.unlock();
          res.set_header("Cache-Control", "no-cache");
          res.set_chunked_content_provider(
              "text/event-stream", [relay, guard](std::size_t, httplib::DataSink& sink) {
                std::unique_lock lock(relay->mutex);
                relay->changed.wait(lock, [&] { return relay->done || !relay->chunks.empty(); });
                while (!relay->chunks.empty()) {
                  std::string c = std::move(relay->chunks.front());
                  relay->chunks.pop_front();
                  if (!sink.write(c.data(), c.size())) {
                    relay->abandoned = true;
                    return false;
                  }
                }
                if (relay->done) sink.done();
                return true;
              });
          return;
        }
        send_error(res, 503, "no TD-Pipe instance is reachable");
      });
}

}  // namespace tdpipe
