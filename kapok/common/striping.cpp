// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/striping.h"

#include <algorithm>

namespace kapok {

StripeLayout StripeLayout::for_file(std::uint64_t ino, std::uint32_t data_servers,
                                    std::uint32_t stripe_count, std::uint64_t stripe_size) {
  if (data_servers == 0) throw std::invalid_argument("no data servers");
  if (stripe_size == 0) throw std::invalid_argument("stripe size must be positive");
  std::uint32_t count = stripe_count == 0 ? data_servers : std::min(stripe_count, data_servers);
  StripeLayout layout;
  layout.stripe_size = stripe_size;
  std::uint32_t first = static_cast<std::uint32_t>(ino % data_servers);
  for (std::uint32_t i = 0; i < count; ++i) layout.servers.push_back((first + i) % data_servers);
  return layout;
}

std::vector<ChunkPiece> split_range(const StripeLayout& layout, std::uint64_t offset,
                                    std::uint64_t length) {
  if (layout.servers.empty() || layout.stripe_size == 0)
    throw std::invalid_argument("empty stripe layout");
  std::vector<ChunkPiece> pieces;
  while (length > 0) {
    std::uint64_t chunk = offset / layout.stripe_size;
    std::uint64_t within = offset % layout.stripe_size;
    std::uint64_t n = std::min(length, layout.stripe_size - within);
    pieces.push_back({chunk, layout.server_of_chunk(chunk), within, offset, n});
    offset += n;
    length -= n;
  }
  return pieces;
}

std::vector<std::uint64_t> bytes_per_position(const StripeLayout& layout, std::uint64_t size) {
  std::vector<std::uint64_t> bytes(layout.servers.size(), 0);
  if (bytes.empty()) return bytes;
  for (const auto& piece : split_range(layout, 0, size))
    bytes[piece.chunk % bytes.size()] += piece.length;
  return bytes;
}

}  // namespace kapok
