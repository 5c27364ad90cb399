// SPDX-License-Identifier: GPL-2.0-or-later
//
// One file that all ranks of a communicator open together (MPI-IO): the way
// Topo reads its inputs in parallel and writes one output or spill file
// instead of one per rank. Paths in a Kapok mount are files like any other.
// Errors are std::runtime_error naming the path.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace topo {

// An allocator that leaves new chars uninitialised: buffers about to be
// filled by a read need not be zeroed first (a measurable cost per byte).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Bytes = std::vector<char, UninitializedAllocator<char>>;

class SharedFile {
 public:
  // write creates and truncates; scratch creates for reading and writing
  // and deletes the file when the last rank closes it.
  enum class Mode { read, write, scratch };

  // Collective over comm.
  SharedFile(MPI_Comm comm, const std::string& path, Mode mode);
  ~SharedFile();
  SharedFile(const SharedFile&) = delete;
  SharedFile& operator=(const SharedFile&) = delete;

  std::uint64_t size() const;
  // Up to n bytes from offset (fewer at the end of the file).
  Bytes read_at(std::uint64_t offset, std::uint64_t n) const;
  // Up to n bytes from offset into `to`; returns how many (fewer at the end).
  std::uint64_t read_into(std::uint64_t offset, std::uint64_t n, char* to) const;
  // Collective: every rank writes its bytes at its own offset.
  void write_at_all(std::uint64_t offset, const std::vector<char>& bytes);
  void write_at(std::uint64_t offset, const char* data, std::uint64_t n);
  // Collective: reads what the file view `view` (of `element`s, from
  // offset 0) selects into one `memory` datatype at `to`.
  void read_all_through(MPI_Datatype element, MPI_Datatype view, void* to, MPI_Datatype memory);
  // Collective: makes every rank's writes visible to every rank's reads.
  void sync();

  const std::string& path() const { return path_; }

 private:
  void check(int code, const char* what) const;

  MPI_Comm comm_;
  MPI_File file_ = MPI_FILE_NULL;
  std::string path_;
};

}  // namespace topo
