// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-serve's HTTP front: POST /v1/completions (JSON, or server-sent
// events with "stream": true), GET /v1/models, GET /health (503 while
// draining), GET /metrics (Prometheus text). Every error is a JSON body
// {"error": {"message": ...}} with a 4xx or 5xx status.
#pragma once

#include "tdpipe/serve/inference_service.h"
#include "tdpipe/serve/settings.h"

#include <atomic>
#include <memory>
#include <string>

namespace tdpipe {

class Listener;

class HttpServer {
 public:
  HttpServer(InferenceService& service, const ServeSettings& settings);
  ~HttpServer();
  // From now on every request but GET /health needs the key (api_key.h).
  void require_api_key(const std::string& key);

  // Binds (port 0: any free port) and returns the port; throws
  // std::runtime_error if it cannot.
  int bind(const std::string& host, int port);
  // Serves until stop(); call after bind().
  void serve();
  void stop();
  // Responses still being written (a stream in progress counts).
  int responses_in_progress() const { return *in_progress_; }

 private:
  void routes();

  InferenceService& service_;
  ServeSettings settings_;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<std::atomic<int>> in_progress_;
};

}  // namespace tdpipe
