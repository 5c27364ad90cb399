// SPDX-License-Identifier: GPL-2.0-or-later
//
// Typed data movement between ranks, the mechanism under Dataset's
// distributed operations: a hash shuffle, a move to given index ranges in
// global order, fetching the elements after a rank's part, and a sample sort.
// Each is one collective exchange (plus small allgathers of sizes).
#pragma once

#include "topo/core/context.h"
#include "topo/core/serialize.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace topo {

// A hash of keys that ranks agree on: std::hash where it exists, combined
// over pairs, then mixed so that keys like 0, P, 2P do not all meet on one rank.
struct KeyHash {
  static std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  template <typename K>
  std::size_t operator()(const K& key) const {
    if constexpr (is_pair<K>::value) {
      return mix((*this)(key.first) * 31 + (*this)(key.second));
    } else {
      return mix(std::hash<K>{}(key));
    }
  }
};

// The first global index of each rank's block when n elements are split as
// evenly as possible in order; P + 1 entries, the last being n.
inline std::vector<std::uint64_t> balanced_bounds(std::uint64_t n, int ranks) {
  std::vector<std::uint64_t> bounds(ranks + 1);
  for (int r = 0; r <= ranks; ++r)
    bounds[r] = static_cast<std::uint64_t>(static_cast<unsigned __int128>(n) * r / ranks);
  return bounds;
}

// Where each rank's part starts in global order (P + 1 entries, the last
// being the total), from the local sizes.
inline std::vector<std::uint64_t> part_bounds(const Context& ctx, std::size_t local_size) {
  auto sizes = ctx.allgather(static_cast<std::uint64_t>(local_size));
  std::vector<std::uint64_t> bounds(sizes.size() + 1, 0);
  for (std::size_t r = 0; r < sizes.size(); ++r) bounds[r + 1] = bounds[r] + sizes[r];
  return bounds;
}

// Sends each element to rank dest(x). What arrives is in sender rank order
// and, from each sender, in its local order.
template <typename T, typename Dest>
std::vector<T> shuffle(const Context& ctx, const std::vector<T>& local, Dest dest) {
  Received in;
  if constexpr (fixed_size<T>() > 0) {
    // Count, then encode each element straight into its place in one buffer.
    std::vector<std::uint32_t> to(local.size());
    std::vector<std::size_t> offsets(ctx.size() + 1, 0);
    for (std::size_t i = 0; i < local.size(); ++i) {
      to[i] = static_cast<std::uint32_t>(dest(local[i]));
      offsets[to[i] + 1] += fixed_size<T>();
    }
    for (int r = 0; r < ctx.size(); ++r) offsets[r + 1] += offsets[r];
    std::vector<char> send(offsets.back());
    std::vector<char*> at(ctx.size());
    for (int r = 0; r < ctx.size(); ++r) at[r] = send.data() + offsets[r];
    for (std::size_t i = 0; i < local.size(); ++i) at[to[i]] = encode_fixed(local[i], at[to[i]]);
    in = ctx.exchange(send, offsets);
  } else {
    std::vector<std::vector<char>> out(ctx.size());
    for (const T& x : local) {
      std::size_t to = dest(x);
      Writer(out[to]).put(x);
    }
    in = ctx.exchange(out);
  }
  std::vector<T> result;
  if constexpr (fixed_size<T>() > 0) result.reserve(in.bytes.size() / fixed_size<T>());
  for (int r = 0; r < ctx.size(); ++r) decode_into(in.data(r), in.size(r), result);
  return result;
}

// Sends each element to the rank its key hashes to.
template <typename K, typename V>
std::vector<std::pair<K, V>> shuffle_by_key(const Context& ctx,
                                            const std::vector<std::pair<K, V>>& local) {
  return shuffle(ctx, local, [&](const std::pair<K, V>& kv) {
    return KeyHash{}(kv.first) % static_cast<std::size_t>(ctx.size());
  });
}

// A contiguous piece of a sequence in global order: its elements are global
// indices first .. first + values->size() - 1.
template <typename T>
struct Run {
  std::uint64_t first;
  const std::vector<T>* values;
};

// Moves the runs (together a sequence indexed 0 .. n-1, spread over the
// ranks in any way) so that rank r holds indices bounds[r] .. bounds[r+1]-1
// in order.
template <typename T>
std::vector<T> redistribute(const Context& ctx, const std::vector<Run<T>>& runs,
                            const std::vector<std::uint64_t>& bounds) {
  std::vector<std::vector<char>> out(ctx.size());
  for (const Run<T>& run : runs) {
    std::uint64_t begin = run.first, end = run.first + run.values->size();
    for (int r = 0; r < ctx.size(); ++r) {
      std::uint64_t lo = std::max(begin, bounds[r]), hi = std::min(end, bounds[r + 1]);
      if (lo >= hi) continue;
      Writer w(out[r]);
      w.put(lo);
      w.put(hi - lo);
      for (std::uint64_t i = lo; i < hi; ++i) w.put((*run.values)[i - begin]);
    }
  }
  Received in = ctx.exchange(out);
  // Pieces arrive tagged with their first index; put them in order.
  std::vector<std::pair<std::uint64_t, std::vector<T>>> pieces;
  for (int r = 0; r < ctx.size(); ++r) {
    Reader reader(in.data(r), in.size(r));
    while (!reader.done()) {
      auto first = reader.get<std::uint64_t>();
      auto count = reader.get<std::uint64_t>();
      std::vector<T> values;
      values.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i) values.push_back(reader.get<T>());
      pieces.emplace_back(first, std::move(values));
    }
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<T> result;
  for (auto& [first, values] : pieces)
    for (auto& v : values) result.push_back(std::move(v));
  return result;
}

// The (up to) `count` elements that follow this rank's part in global order,
// wherever they are.
template <typename T>
std::vector<T> fetch_following(const Context& ctx, const std::vector<T>& local,
                               std::uint64_t count) {
  auto bounds = part_bounds(ctx, local.size());
  std::vector<std::vector<char>> out(ctx.size());
  std::uint64_t mine = bounds[ctx.rank()], mine_end = bounds[ctx.rank() + 1];
  for (int r = 0; r < ctx.size(); ++r) {
    std::uint64_t want = bounds[r + 1], want_end = std::min(want + count, bounds.back());
    std::uint64_t lo = std::max(want, mine), hi = std::min(want_end, mine_end);
    for (std::uint64_t i = lo; i < hi; ++i) Writer(out[r]).put(local[i - mine]);
  }
  Received in = ctx.exchange(out);
  std::vector<T> result;  // senders in rank order are in global order
  for (int r = 0; r < ctx.size(); ++r) decode_into(in.data(r), in.size(r), result);
  return result;
}

// Sorts the whole sequence by `less`: rank r ends up with the r-th range of
// values, each part sorted. Splitters come from regular samples of the
// locally sorted parts; many equal values may leave the parts uneven.
template <typename T, typename Less>
std::vector<T> sample_sort(const Context& ctx, std::vector<T> local, Less less) {
  std::sort(local.begin(), local.end(), less);
  const int ranks = ctx.size();
  if (ranks == 1) return local;
  const std::size_t per_rank = 8 * static_cast<std::size_t>(ranks);
  std::vector<T> samples;
  for (std::size_t i = 0; i < per_rank && !local.empty(); ++i)
    samples.push_back(local[(2 * i + 1) * local.size() / (2 * per_rank)]);
  Received all = ctx.allgather(encode(samples));
  std::vector<T> pool;
  for (int r = 0; r < ranks; ++r) decode_into(all.data(r), all.size(r), pool);
  std::sort(pool.begin(), pool.end(), less);
  std::vector<T> splitters;
  for (int r = 1; r < ranks && !pool.empty(); ++r)
    splitters.push_back(pool[r * pool.size() / ranks]);

  std::vector<std::vector<char>> out(ranks);
  std::size_t at = 0;
  for (int r = 0; r < ranks; ++r) {
    std::size_t end = local.size();
    if (r < static_cast<int>(splitters.size()))
      end = std::lower_bound(local.begin() + at, local.end(), splitters[r], less) - local.begin();
    for (; at < end; ++at) Writer(out[r]).put(local[at]);
  }
  Received in = ctx.exchange(out);
  std::vector<T> result;
  std::vector<std::size_t> runs{0};
  for (int r = 0; r < ranks; ++r) {
    decode_into(in.data(r), in.size(r), result);
    runs.push_back(result.size());
  }
  // Each sender's piece is sorted: merge them pairwise.
  for (std::size_t width = 1; width < runs.size() - 1; width *= 2) {
    for (std::size_t i = 0; i + width < runs.size() - 1; i += 2 * width) {
      std::size_t mid = runs[i + width], end = runs[std::min(i + 2 * width, runs.size() - 1)];
      std::inplace_merge(result.begin() + runs[i], result.begin() + mid, result.begin() + end,
                         less);
    }
  }
  return result;
}

}  // namespace topo
