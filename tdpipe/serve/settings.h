// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-serve's settings: the "tdpipe" section of converge.json (one
// config format for every service), then command-line options over it.
#pragma once

#include "tdpipe/serve/listener.h"

#include "converge/config.h"

#include <string>

namespace tdpipe {

struct ServeSettings {
  std::string model;  // empty: the stories260K installed with Converge
  // The output-length predictor (tdpipe-predictor train); empty: the
  // model's own, MODEL.predictor.json beside it (MODEL without .bin), if any.
  std::string predictor;
  std::string scheduler = "tdpipe";
  int kv_blocks = 0;      // 0: room for max_batch_seqs sequences of the model's length
  int step_tokens = 512;  // most tokens in one micro-batch
  int max_batch_seqs = 64;
  int max_waiting = 4096;  // requests queued beyond this get 429
  std::size_t max_body_bytes = 1 << 20;
  int threads = 128;                          // HTTP requests answered at once (a stream holds one)
  int max_connections = 1024;                 // open HTTP connections, answered or waiting
  std::size_t max_buffered_bytes = 64 << 20;  // requests still arriving, together
  int request_timeout_ms = 10000;             // a request's first byte to its last
  int keep_alive_ms = 5000;                   // an idle connection between requests

  ListenerLimits listener_limits() const;

  // Reads the "tdpipe" section if the file has one; throws config::Error.
  static ServeSettings load(const std::string& config_file);
  void apply(const converge::config::Node& section);
};

// The model shipped with Converge, beside the running program
// (BIN/../share/converge/models/stories260K.bin).
std::string default_model_path();
// The predictor for `model` when none is set: beside it, or empty.
std::string default_predictor_path(const std::string& model);

}  // namespace tdpipe
