// SPDX-License-Identifier: GPL-2.0-or-later
//
// What travels between pipeline stages: one message per micro-batch, a
// header of int32 (its id, then per chunk: sequence, first position, token
// count, and the sequence's KV block table) followed by the activations
// (one row of dim floats per token). The scheduler on stage 0 owns the
// block allocator; every stage keeps its layers' keys and values in the
// same blocks, so stages need no allocator of their own. An id of -1
// stops the pipeline.
#pragma once

#include <cstdint>
#include <vector>

namespace tdpipe {

struct ChunkHeader {
  std::int32_t sequence = 0, start = 0, count = 0;
  std::vector<int> blocks;
};

struct MicroBatchHeader {
  std::int32_t id = 0;
  std::vector<ChunkHeader> chunks;
  int tokens() const {
    int n = 0;
    for (const auto& c : chunks) n += c.count;
    return n;
  }
};

// Header and activations in one byte buffer, and back.
std::vector<char> pack(const MicroBatchHeader& header, const std::vector<float>& activations);
// Throws std::runtime_error on a malformed message.
MicroBatchHeader unpack(const std::vector<char>& message, std::vector<float>& activations);

}  // namespace tdpipe
