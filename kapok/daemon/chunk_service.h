// SPDX-License-Identifier: GPL-2.0-or-later
//
// A data server: the chunks of striped files, one local file per chunk
// (<data>/chunks/<ino>/<chunk>). Writes land in the page cache; a client's
// fsync makes every chunk of the file on this server durable.
#pragma once

#include "kapok/common/protocol.h"

#include <string>

namespace kapok {

class ChunkService {
 public:
  ChunkService(std::string data_dir, std::uint32_t ds_index);
  void register_methods(converge::rpc::Server& server);

 private:
  std::string chunk_dir(std::uint64_t ino) const;
  std::string chunk_path(std::uint64_t ino, std::uint64_t chunk) const;

  std::string root_;
  std::uint32_t index_;
};

}  // namespace kapok
