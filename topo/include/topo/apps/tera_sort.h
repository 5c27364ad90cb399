// SPDX-License-Identifier: GPL-2.0-or-later
//
// TeraSort: 100-byte records (10-byte key, 90-byte payload) sorted by key
// with Dataset::sort (a sample sort: one exchange). The generator makes
// gensort-like records from a seed; validation checks the global order
// across ranks and that the sorted data are a permutation of the input (the
// record count and an order-independent checksum).
#pragma once

#include "topo/core/dataset.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace topo::apps {

struct Record {
  std::array<unsigned char, 10> key;
  std::array<unsigned char, 90> payload;
};
static_assert(sizeof(Record) == 100);

inline bool key_less(const Record& a, const Record& b) {
  return std::memcmp(a.key.data(), b.key.data(), a.key.size()) < 0;
}

inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Record i of the seed's sequence: random key, payload holding i.
inline Record make_record(std::uint64_t seed, std::uint64_t i) {
  Record r;
  std::uint64_t a = mix64(seed ^ (i * 2 + 1)), b = mix64(a);
  std::memcpy(r.key.data(), &a, 8);
  std::memcpy(r.key.data() + 8, &b, 2);
  r.payload.fill(static_cast<unsigned char>('A' + i % 26));
  std::memcpy(r.payload.data(), &i, sizeof i);
  return r;
}

inline Dataset<Record> generate_records(Context& ctx, std::uint64_t n, std::uint64_t seed) {
  return Dataset<Record>::generate(ctx, n,
                                   [seed](std::uint64_t i) { return make_record(seed, i); });
}

inline Dataset<Record> tera_sort(const Dataset<Record>& records) {
  return records.sort(key_less);
}

// Sum over records of a hash of their bytes: the same for any permutation.
inline std::uint64_t checksum(const Dataset<Record>& records) {
  std::uint64_t sum = 0;
  for (const Record& r : records.local()) {
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < sizeof(Record); i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, reinterpret_cast<const unsigned char*>(&r) + i,
                  std::min<std::size_t>(8, sizeof(Record) - i));
      h = mix64(h ^ word);
    }
    sum += h;
  }
  return records.context().sum(sum);
}

// True on every rank iff the records are in key order across all ranks.
inline bool globally_sorted(const Dataset<Record>& records) {
  Context& ctx = records.context();
  const auto& local = records.local();
  bool ok = true;
  for (std::size_t i = 1; i < local.size() && ok; ++i) ok = !key_less(local[i], local[i - 1]);
  // Each rank's first key against the last key of the nearest non-empty
  // rank before it.
  std::vector<Record> ends;
  if (!local.empty()) ends = {local.front(), local.back()};
  Received all = ctx.allgather(encode(ends));
  const Record* previous_last = nullptr;
  std::vector<std::vector<Record>> parts(ctx.size());
  for (int r = 0; r < ctx.size(); ++r) {
    decode_into(all.data(r), all.size(r), parts[r]);
    if (parts[r].empty()) continue;
    if (previous_last && key_less(parts[r][0], *previous_last)) ok = false;
    previous_last = &parts[r][1];
  }
  return ctx.sum(ok ? 0 : 1) == 0;
}

}  // namespace topo::apps
