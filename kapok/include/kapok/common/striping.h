// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where a large file's bytes live: the file is cut into chunks of
// `stripe_size`, chunk i on data server servers[i % servers.size()]. The
// first server is chosen from the inode number, so files start on
// different servers and load spreads.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace kapok {

struct StripeLayout {
  std::uint64_t stripe_size = 1u << 20;
  std::vector<std::uint32_t> servers;  // data server indices, in stripe order

  // stripe_count 0 means all data servers.
  static StripeLayout for_file(std::uint64_t ino, std::uint32_t data_servers,
                               std::uint32_t stripe_count, std::uint64_t stripe_size);

  std::uint32_t server_of_chunk(std::uint64_t chunk) const {
    return servers[chunk % servers.size()];
  }
  // Chunks that hold any byte of a file of `size` bytes.
  std::uint64_t chunk_count(std::uint64_t size) const {
    return (size + stripe_size - 1) / stripe_size;
  }
};

// One contiguous piece of a byte range, inside one chunk.
struct ChunkPiece {
  std::uint64_t chunk = 0;
  std::uint32_t server = 0;
  std::uint64_t chunk_offset = 0;  // within the chunk
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
};

// How many bytes of a file of `size` bytes each position of layout.servers
// holds (same order; a server named twice counts per position).
std::vector<std::uint64_t> bytes_per_position(const StripeLayout& layout, std::uint64_t size);

// Splits [offset, offset + length) into per-chunk pieces, in file order.
std::vector<ChunkPiece> split_range(const StripeLayout& layout, std::uint64_t offset,
                                    std::uint64_t length);

}  // namespace kapok
