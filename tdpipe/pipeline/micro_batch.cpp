// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/pipeline/micro_batch.h"

#include <cstring>
#include <stdexcept>

namespace tdpipe {

std::vector<char> pack(const MicroBatchHeader& header, const std::vector<float>& activations) {
  std::vector<std::int32_t> ints{header.id, std::int32_t(header.chunks.size())};
  for (const auto& c : header.chunks) {
    ints.insert(ints.end(), {c.sequence, c.start, c.count, std::int32_t(c.blocks.size())});
    ints.insert(ints.end(), c.blocks.begin(), c.blocks.end());
  }
  std::int32_t count = std::int32_t(ints.size());
  std::vector<char> out(4 + ints.size() * 4 + activations.size() * 4);
  std::memcpy(out.data(), &count, 4);
  std::memcpy(out.data() + 4, ints.data(), ints.size() * 4);
  if (!activations.empty())
    std::memcpy(out.data() + 4 + ints.size() * 4, activations.data(), activations.size() * 4);
  return out;
}

MicroBatchHeader unpack(const std::vector<char>& message, std::vector<float>& activations) {
  auto fail = [] { throw std::runtime_error("malformed micro-batch message"); };
  if (message.size() < 4) fail();
  std::int32_t count = 0;
  std::memcpy(&count, message.data(), 4);
  if (count < 2 || std::size_t(count) * 4 + 4 > message.size()) fail();
  std::vector<std::int32_t> ints(count);
  std::memcpy(ints.data(), message.data() + 4, std::size_t(count) * 4);
  MicroBatchHeader h;
  h.id = ints[0];
  std::size_t at = 2;
  for (std::int32_t c = 0; c < ints[1]; ++c) {
    if (at + 4 > ints.size()) fail();
    ChunkHeader ch{ints[at], ints[at + 1], ints[at + 2], {}};
    std::int32_t blocks = ints[at + 3];
    at += 4;
    if (blocks < 0 || at + std::size_t(blocks) > ints.size()) fail();
    ch.blocks.assign(ints.begin() + long(at), ints.begin() + long(at) + blocks);
    at += std::size_t(blocks);
    h.chunks.push_back(std::move(ch));
  }
  std::size_t rest = message.size() - 4 - std::size_t(count) * 4;
  if (rest % 4) fail();
  activations.resize(rest / 4);
  if (rest) std::memcpy(activations.data(), message.data() + 4 + std::size_t(count) * 4, rest);
  return h;
}

}  // namespace tdpipe
