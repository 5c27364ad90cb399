// SPDX-License-Identifier: GPL-2.0-or-later
//
// What the hand-written MPI baselines share: reading a rank's block of a
// binary file, a text file's lines by byte range, timing and the summary
// line. Written the way one writes a small MPI program, without Topo.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace baseline {

inline int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
inline int ranks() {
  int p = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  return p;
}

inline MPI_Offset file_size(MPI_File f) {
  MPI_Offset size = 0;
  MPI_File_get_size(f, &size);
  return size;
}

inline MPI_File open_read(const std::string& path) {
  MPI_File f;
  if (MPI_File_open(MPI_COMM_WORLD, path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &f) !=
      MPI_SUCCESS)
    throw std::runtime_error("cannot open " + path);
  return f;
}

inline void read_at(MPI_File f, MPI_Offset offset, char* to, std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    int piece = static_cast<int>(std::min<std::uint64_t>(n - done, 1u << 30));
    MPI_Status st;
    MPI_File_read_at(f, offset + MPI_Offset(done), to + done, piece, MPI_BYTE, &st);
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got <= 0) break;
    done += std::uint64_t(got);
  }
}

// This rank's records [first, last) of a file of fixed-size records.
template <typename T>
std::vector<T> read_block(const std::string& path) {
  MPI_File f = open_read(path);
  std::uint64_t n = std::uint64_t(file_size(f)) / sizeof(T);
  std::uint64_t first = n * rank() / ranks(), last = n * (rank() + 1) / ranks();
  std::vector<T> out(last - first);
  read_at(f, MPI_Offset(first * sizeof(T)), reinterpret_cast<char*>(out.data()),
          out.size() * sizeof(T));
  MPI_File_close(&f);
  return out;
}

// The bytes of the lines that start in this rank's byte range.
inline std::string read_lines(const std::string& path) {
  MPI_File f = open_read(path);
  std::uint64_t size = std::uint64_t(file_size(f));
  std::uint64_t begin = size * rank() / ranks(), end = size * (rank() + 1) / ranks();
  std::uint64_t from = begin ? begin - 1 : 0, stop = std::min(size, end + (1u << 20));
  std::string bytes(stop - from, '\0');
  read_at(f, MPI_Offset(from), bytes.data(), bytes.size());
  MPI_File_close(&f);
  std::size_t at = 0;
  if (begin) {  // skip to the first line starting in range
    at = bytes.find('\n');
    if (at == std::string::npos) return "";
    ++at;
  }
  std::size_t last = end - from;  // lines starting before `end` are ours
  if (last > bytes.size()) last = bytes.size();
  std::size_t cut = last == 0 ? 0 : bytes.find('\n', last - 1);
  if (at > last) return "";
  return bytes.substr(at, (cut == std::string::npos ? bytes.size() : cut + 1) - at);
}

// The `count` largest (value, id) pairs over all ranks, on rank 0, as
// "[[id,value],...]": both baselines report a top list like topo-apps.
template <typename V>
std::string top_list(std::vector<std::pair<V, std::string>> mine, std::size_t count) {
  auto larger = [](const auto& a, const auto& b) { return a.first > b.first; };
  std::size_t keep = std::min(count, mine.size());
  std::partial_sort(mine.begin(), mine.begin() + long(keep), mine.end(), larger);
  mine.resize(keep);
  std::string text;  // "value id\n" lines, gathered on rank 0
  char number[32];
  for (const auto& [v, id] : mine) {
    std::snprintf(number, sizeof number, "%.17g", double(v));
    text += std::string(number) + " " + id + "\n";
  }
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(ranks()), displs(ranks());
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < ranks(); ++r) displs[r] = total, total += lengths[r];
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), displs.data(), MPI_CHAR, 0,
              MPI_COMM_WORLD);
  std::vector<std::pair<double, std::string>> merged;
  for (std::size_t at = 0; at < all.size();) {
    std::size_t space = all.find(' ', at), nl = all.find('\n', at);
    merged.emplace_back(std::stod(all.substr(at, space - at)),
                        all.substr(space + 1, nl - space - 1));
    at = nl + 1;
  }
  std::sort(merged.begin(), merged.end(), larger);
  std::string out = "[";
  for (std::size_t i = 0; i < std::min(count, merged.size()); ++i) {
    std::snprintf(number, sizeof number, "%.17g", merged[i].first);
    out += (i ? ",[\"" : "[\"") + merged[i].second + "\"," + number + "]";
  }
  return out + "]";
}

inline void report(const std::string& app, double seconds, const std::string& summary) {
  if (rank() == 0)
    std::printf("{\"app\":\"%s\",\"ranks\":%d,\"seconds\":%.6f,%s}\nseconds: %.4f\n", app.c_str(),
                ranks(), seconds, summary.c_str(), seconds);
}

}  // namespace baseline
