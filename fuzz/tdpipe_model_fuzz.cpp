// SPDX-License-Identifier: GPL-2.0-or-later
//
// Model files as tdpipe reads them (GGUF and llama2.c checkpoints), from
// arbitrary bytes in a memory file: a bad file is a runtime_error naming
// the problem, never a crash or a huge allocation.
#include "tdpipe/model/gguf.h"
#include "tdpipe/model/llama2c.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fd = memfd_create("model", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    if (tdpipe::is_gguf(path)) {
      tdpipe::load_gguf(path);
    } else {
      tdpipe::load_llama2c(path);
    }
  } catch (const std::exception&) {
  }
  close(fd);
  return 0;
}
