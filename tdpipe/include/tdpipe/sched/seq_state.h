// SPDX-License-Identifier: GPL-2.0-or-later
//
// A request as the schedulers see it: lengths and KV blocks only, no
// tokens, so the same scheduler drives the real engine (which keeps the
// tokens, samplers and block tables beside it, by id) and the simulator
// (which knows in advance how long each request will run).
#pragma once

#include <cstdint>

namespace tdpipe {

struct SeqState {
  std::uint64_t id = 0;
  int prompt = 0;          // prompt tokens
  int limit = 0;           // most positions it may ever hold: prompt + max_tokens, at most seq_len
  int predicted = 0;       // predicted output tokens (TD-Pipe's projection; 0: unknown)
  int generated = 0;       // tokens generated so far
  int cached = 0;          // positions whose keys and values are in the cache
  int blocks = 0;          // KV blocks held
  int pool = 0;            // which share of the KV blocks it uses (one per vLLM virtual engine)
  bool running = false;    // admitted (holds or is getting its blocks), not waiting
  bool in_flight = false;  // in a micro-batch the pipeline is running
  std::uint64_t admitted = 0;  // admission order; preemption takes the latest
  std::uint64_t returned = 0;  // when its last micro-batch came back (a count of them)

  // Everything fed so far or to feed: the prompt, then generated tokens.
  int length() const { return prompt + generated; }
  // Whether all but the newest token are cached: the next chunk is a
  // decode (one position, which samples).
  bool prefilled() const { return cached >= length() - 1; }
};

}  // namespace tdpipe
