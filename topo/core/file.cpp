// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/core/file.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace topo {
namespace {

// MPI-IO counts are int; large transfers go in pieces.
constexpr std::uint64_t kMaxPiece = 1u << 30;

}  // namespace

SharedFile::SharedFile(MPI_Comm comm, const std::string& path, Mode mode)
    : comm_(comm), path_(path) {
  int amode = MPI_MODE_RDONLY;
  if (mode == Mode::write) amode = MPI_MODE_WRONLY | MPI_MODE_CREATE;
  if (mode == Mode::scratch) amode = MPI_MODE_RDWR | MPI_MODE_CREATE | MPI_MODE_DELETE_ON_CLOSE;
  check(MPI_File_open(comm, path.c_str(), amode, MPI_INFO_NULL, &file_), "open");
  if (mode != Mode::read) check(MPI_File_set_size(file_, 0), "truncate");
}

SharedFile::~SharedFile() {
  if (file_ != MPI_FILE_NULL) MPI_File_close(&file_);
}

void SharedFile::check(int code, const char* what) const {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw std::runtime_error(path_ + ": cannot " + what + ": " + std::string(message, length));
}

std::uint64_t SharedFile::size() const {
  MPI_Offset size = 0;
  check(MPI_File_get_size(file_, &size), "get the size of");
  return static_cast<std::uint64_t>(size);
}

Bytes SharedFile::read_at(std::uint64_t offset, std::uint64_t n) const {
  std::uint64_t total = size();
  Bytes out(offset >= total ? 0 : std::min(n, total - offset));
  out.resize(read_into(offset, out.size(), out.data()));
  return out;
}

std::uint64_t SharedFile::read_into(std::uint64_t offset, std::uint64_t n, char* to) const {
  std::uint64_t done = 0;
  while (done < n) {
    int piece = static_cast<int>(std::min(kMaxPiece, n - done));
    MPI_Status status;
    check(MPI_File_read_at(file_, static_cast<MPI_Offset>(offset + done), to + done, piece,
                           MPI_BYTE, &status),
          "read");
    int got = 0;
    MPI_Get_count(&status, MPI_BYTE, &got);
    if (got <= 0) break;  // the end of the file
    done += static_cast<std::uint64_t>(got);
  }
  return done;
}

void SharedFile::write_at_all(std::uint64_t offset, const std::vector<char>& bytes) {
  // Collective calls must match in number on every rank: agree on the
  // number of pieces first.
  std::uint64_t pieces = (bytes.size() + kMaxPiece - 1) / kMaxPiece, most = 0;
  MPI_Allreduce(&pieces, &most, 1, MPI_UINT64_T, MPI_MAX, comm_);
  for (std::uint64_t p = 0; p < most; ++p) {
    std::uint64_t begin = std::min<std::uint64_t>(p * kMaxPiece, bytes.size());
    std::uint64_t n = std::min<std::uint64_t>(kMaxPiece, bytes.size() - begin);
    MPI_Status status;
    check(MPI_File_write_at_all(file_, static_cast<MPI_Offset>(offset + begin),
                                bytes.data() + begin, static_cast<int>(n), MPI_BYTE, &status),
          "write");
  }
}

void SharedFile::read_all_through(MPI_Datatype element, MPI_Datatype view, void* to,
                                  MPI_Datatype memory) {
  char native[] = "native";
  check(MPI_File_set_view(file_, 0, element, view, native, MPI_INFO_NULL), "set a view on");
  MPI_Status status;
  check(MPI_File_read_all(file_, to, 1, memory, &status), "read");
}

void SharedFile::sync() {
  check(MPI_File_sync(file_), "sync");
  MPI_Barrier(comm_);
  check(MPI_File_sync(file_), "sync");
}

void SharedFile::write_at(std::uint64_t offset, const char* data, std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    int piece = static_cast<int>(std::min(kMaxPiece, n - done));
    MPI_Status status;
    check(MPI_File_write_at(file_, static_cast<MPI_Offset>(offset + done), data + done, piece,
                            MPI_BYTE, &status),
          "write");
    done += static_cast<std::uint64_t>(piece);
  }
}

}  // namespace topo
