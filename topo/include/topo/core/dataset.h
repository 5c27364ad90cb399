// SPDX-License-Identifier: GPL-2.0-or-later
//
// A distributed dataset: a sequence of T split over the ranks of a Context
// in order (rank 0 holds the first part). Local operations run on the
// rank's FinD workers; distributed ones move data with core/exchange.h.
// Elements are any type core/serialize.h encodes (trivially copyable values,
// strings, pairs, tuples, vectors). docs/topo.md lists every operation with
// its exact semantics, in the same groups as below.
#pragma once

#include "topo/core/context.h"
#include "topo/core/exchange.h"
#include "topo/core/file.h"
#include "topo/core/serialize.h"
#include "topo/core/text.h"
#include "topo/find/scheduler.h"

#include <algorithm>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace topo {

template <typename T>
class Dataset {
 public:
  using value_type = T;

  Dataset(Context& ctx, std::vector<T> local) : ctx_(&ctx), local_(std::move(local)) {}

  // ---- Sources ---------------------------------------------------------

  // Elements f(0) .. f(n-1), rank r holding the r-th block of about n/size.
  template <typename F>
  static Dataset generate(Context& ctx, std::uint64_t n, F f) {
    auto bounds = balanced_bounds(n, ctx.size());
    std::uint64_t first = bounds[ctx.rank()];
    std::vector<T> local(bounds[ctx.rank() + 1] - first);
    ctx.local().run([&] {
      find::parallel_for(0, local.size(), 4096, [&](std::size_t i) { local[i] = f(first + i); });
    });
    return Dataset(ctx, std::move(local));
  }

  // `values` as given on rank `root` (the other ranks' are ignored), split
  // into balanced blocks in order.
  static Dataset distribute(Context& ctx, const std::vector<T>& values, int root = 0) {
    static const std::vector<T> none;
    const auto& mine = ctx.rank() == root ? values : none;
    std::uint64_t n = ctx.sum(mine.size());
    return Dataset(
        ctx, redistribute(ctx, std::vector<Run<T>>{{0, &mine}}, balanced_bounds(n, ctx.size())));
  }

  // The lines of a text file (without their '\n'), read in parallel: each
  // rank reads a byte range and keeps the lines that start in it.
  static Dataset read_text(Context& ctx,
                           const std::string& path) requires std::is_same_v<T, std::string>;

  // The same lines, grouped: each element holds whole lines (with their
  // '\n'), about chunk_bytes of them, for parsers that scan text without
  // needing each line apart.
  static Dataset read_text_chunks(
      Context& ctx, const std::string& path,
      std::size_t chunk_bytes = 1 << 20) requires std::is_same_v<T, std::string>;

  // A file of fixed-size records (as save_binary writes them).
  static Dataset read_binary(Context& ctx,
                             const std::string& path) requires std::is_trivially_copyable_v<T>;

  // ---- Local transformations (no communication) -------------------------

  template <typename F, typename U = std::invoke_result_t<F, const T&>>
  Dataset<U> map(F f) const {
    std::vector<U> out(local_.size());
    ctx_->local().run([&] {
      find::parallel_for(0, local_.size(), 4096, [&](std::size_t i) { out[i] = f(local_[i]); });
    });
    return Dataset<U>(*ctx_, std::move(out));
  }

  template <typename P>
  Dataset filter(P keep) const {
    std::vector<T> out;
    for (const T& x : local_)
      if (keep(x)) out.push_back(x);
    return Dataset(*ctx_, std::move(out));
  }

  // f(x) returns a container of U; the results are concatenated in order.
  template <typename F, typename C = std::invoke_result_t<F, const T&>,
            typename U = typename C::value_type>
  Dataset<U> flat_map(F f) const {
    std::vector<U> out;
    for (const T& x : local_) {
      for (auto&& y : f(x)) out.push_back(std::forward<decltype(y)>(y));
    }
    return Dataset<U>(*ctx_, std::move(out));
  }

  // f(part) turns a rank's whole part (a std::vector<T>) into a vector of U.
  template <typename F, typename C = std::invoke_result_t<F, const std::vector<T>&>,
            typename U = typename C::value_type>
  Dataset<U> map_partitions(F f) const {
    return Dataset<U>(*ctx_, f(local_));
  }

  // Each element kept with probability `fraction`, decided by a hash of
  // (seed, global index): the same sample whatever the number of ranks.
  Dataset sample(double fraction, std::uint64_t seed) const {
    std::uint64_t index = ctx_->exclusive_sum(local_.size());
    const double scale = 18446744073709551616.0;  // 2^64
    std::vector<T> out;
    for (const T& x : local_) {
      double draw = static_cast<double>(KeyHash::mix(seed * 0x9e3779b97f4a7c15ULL + index++));
      if (draw < fraction * scale) out.push_back(x);
    }
    return Dataset(*ctx_, std::move(out));
  }

  // ---- Distributed transformations --------------------------------------
  // Keyed operations take a Dataset of std::pair<K, V>; a key's result
  // lands on the rank its KeyHash picks, keys in order of first arrival.

  // One (key, value) per key: op folded over the key's values (op must be
  // associative and commutative). Values are combined on each rank before
  // they travel.
  template <typename Op>
  Dataset reduce_by_key(Op op) const requires is_pair<T>::value {
    auto combine = [&](const std::vector<T>& in) {
      std::vector<T> out;
      std::unordered_map<typename T::first_type, std::size_t, KeyHash> slot;
      for (const T& kv : in) {
        auto [at, fresh] = slot.try_emplace(kv.first, out.size());
        if (fresh)
          out.push_back(kv);
        else
          out[at->second].second = op(out[at->second].second, kv.second);
      }
      return out;
    };
    return Dataset(*ctx_, combine(shuffle_by_key(*ctx_, combine(local_))));
  }

  // (key, values): every value of each key, in the dataset's global order.
  auto group_by_key() const requires is_pair<T>::value {
    using K = typename T::first_type;
    using V = typename T::second_type;
    std::vector<std::pair<K, std::vector<V>>> out;
    std::unordered_map<K, std::size_t, KeyHash> slot;
    for (T& kv : shuffle_by_key(*ctx_, local_)) {
      auto [at, fresh] = slot.try_emplace(kv.first, out.size());
      if (fresh) out.emplace_back(std::move(kv.first), std::vector<V>{});
      out[at->second].second.push_back(std::move(kv.second));
    }
    return Dataset<std::pair<K, std::vector<V>>>(*ctx_, std::move(out));
  }

  // (key, u): u = seq(u, value) from `zero` over each rank's values of the
  // key, then comb(u1, u2) over the ranks' partial results.
  template <typename U, typename Seq, typename Comb, typename P = T>
  Dataset<std::pair<typename P::first_type, U>> aggregate_by_key(
      U zero, Seq seq, Comb comb) const requires is_pair<P>::value {
    using K = typename T::first_type;
    std::vector<std::pair<K, U>> partial;
    std::unordered_map<K, std::size_t, KeyHash> slot;
    for (const T& kv : local_) {
      auto [at, fresh] = slot.try_emplace(kv.first, partial.size());
      if (fresh) partial.emplace_back(kv.first, zero);
      partial[at->second].second = seq(std::move(partial[at->second].second), kv.second);
    }
    return Dataset<std::pair<K, U>>(*ctx_, std::move(partial)).reduce_by_key(comb);
  }

  // Every (key, (v, w)) with (key, v) here and (key, w) in `other` (an
  // inner join), v in this dataset's order, then w in other's.
  template <typename W, typename P = T>
  auto join(
      const Dataset<std::pair<typename P::first_type, W>>& other) const requires is_pair<P>::value {
    using K = typename T::first_type;
    using V = typename T::second_type;
    std::vector<std::pair<K, std::pair<V, W>>> out;
    auto groups = cogroup(other);
    for (const auto& [key, sides] : groups.local()) {
      for (const V& v : sides.first)
        for (const W& w : sides.second) out.emplace_back(key, std::pair<V, W>(v, w));
    }
    return Dataset<std::pair<K, std::pair<V, W>>>(*ctx_, std::move(out));
  }

  // (key, (values here, values in other)) for every key in either dataset,
  // values in global order.
  template <typename W, typename P = T>
  auto cogroup(
      const Dataset<std::pair<typename P::first_type, W>>& other) const requires is_pair<P>::value {
    using K = typename T::first_type;
    using V = typename T::second_type;
    using Sides = std::pair<std::vector<V>, std::vector<W>>;
    std::vector<std::pair<K, Sides>> out;
    std::unordered_map<K, std::size_t, KeyHash> slot;
    auto at = [&](const K& key) -> Sides& {
      auto [it, fresh] = slot.try_emplace(key, out.size());
      if (fresh) out.emplace_back(key, Sides{});
      return out[it->second].second;
    };
    for (auto& kv : shuffle_by_key(*ctx_, local_)) at(kv.first).first.push_back(kv.second);
    for (auto& kw : shuffle_by_key(*ctx_, other.local())) at(kw.first).second.push_back(kw.second);
    return Dataset<std::pair<K, Sides>>(*ctx_, std::move(out));
  }

  // The whole dataset in `less` order; rank r holds the r-th range.
  template <typename Less = std::less<>>
  Dataset sort(Less less = {}) const {
    return Dataset(*ctx_, sample_sort(*ctx_, local_, less));
  }

  Dataset sort_by_key() const requires is_pair<T>::value {
    return sort([](const T& a, const T& b) { return a.first < b.first; });
  }

  // This dataset followed by `other`, in balanced blocks.
  Dataset union_with(const Dataset& other) const {
    std::uint64_t mine = ctx_->exclusive_sum(local_.size()), total = count();
    std::uint64_t theirs = ctx_->exclusive_sum(other.local_.size());
    std::uint64_t n = total + other.count();
    return Dataset(
        *ctx_,
        redistribute(*ctx_, std::vector<Run<T>>{{mine, &local_}, {total + theirs, &other.local_}},
                     balanced_bounds(n, ctx_->size())));
  }

  // Each distinct element once (needs std::hash and ==), on the rank its
  // hash picks, in order of first arrival.
  Dataset distinct() const {
    auto dedupe = [](const std::vector<T>& in) {
      std::vector<T> out;
      std::unordered_set<T, KeyHash> seen;
      for (const T& x : in)
        if (seen.insert(x).second) out.push_back(x);
      return out;
    };
    auto ranks = static_cast<std::size_t>(ctx_->size());
    return Dataset(*ctx_, dedupe(shuffle(*ctx_, dedupe(local_),
                                         [&](const T& x) { return KeyHash{}(x) % ranks; })));
  }

  // (x_i, y_i) pairs; both datasets must have the same count. The result
  // is split like this dataset.
  template <typename U>
  Dataset<std::pair<T, U>> zip(const Dataset<U>& other) const {
    auto bounds = part_bounds(*ctx_, local_.size());
    std::uint64_t theirs = other.context().exclusive_sum(other.local().size());
    if (bounds.back() != other.count())
      throw std::invalid_argument("topo: zip of datasets with " + std::to_string(bounds.back()) +
                                  " and " + std::to_string(other.count()) + " elements");
    auto partner = redistribute(*ctx_, std::vector<Run<U>>{{theirs, &other.local()}}, bounds);
    std::vector<std::pair<T, U>> out;
    out.reserve(local_.size());
    for (std::size_t i = 0; i < local_.size(); ++i) out.emplace_back(local_[i], partner[i]);
    return Dataset<std::pair<T, U>>(*ctx_, std::move(out));
  }

  // (x_i, i) with i the global index.
  Dataset<std::pair<T, std::uint64_t>> zip_with_index() const {
    std::uint64_t index = ctx_->exclusive_sum(local_.size());
    std::vector<std::pair<T, std::uint64_t>> out;
    out.reserve(local_.size());
    for (const T& x : local_) out.emplace_back(x, index++);
    return Dataset<std::pair<T, std::uint64_t>>(*ctx_, std::move(out));
  }

  // Inclusive scan in global order: element i becomes op(x0, ..., xi).
  template <typename Op>
  Dataset prefix_sum(Op op, T identity) const {
    T mine = identity;
    for (const T& x : local_) mine = op(mine, x);
    Received totals = ctx_->allgather(encode(std::vector<T>{mine}));
    T carry = identity;  // everything on the ranks before this one
    for (int r = 0; r < ctx_->rank(); ++r) {
      std::vector<T> total;
      decode_into(totals.data(r), totals.size(r), total);
      carry = op(carry, total.at(0));
    }
    std::vector<T> out(local_.size());
    for (std::size_t i = 0; i < local_.size(); ++i) {
      carry = op(carry, local_[i]);
      out[i] = carry;
    }
    return Dataset(*ctx_, std::move(out));
  }

  // The same sequence in balanced blocks (after a filter left them uneven).
  Dataset repartition() const {
    std::uint64_t first = ctx_->exclusive_sum(local_.size());
    return Dataset(*ctx_, redistribute(*ctx_, std::vector<Run<T>>{{first, &local_}},
                                       balanced_bounds(count(), ctx_->size())));
  }

  // f(std::span<const T>) over every k consecutive elements: n - k + 1
  // results, result i (from x_i .. x_i+k-1) on the rank that holds x_i.
  template <typename F, typename U = std::invoke_result_t<F, std::span<const T>>>
  Dataset<U> window(std::size_t k, F f) const {
    if (k == 0) throw std::invalid_argument("topo: window of 0 elements");
    std::vector<T> extended = local_;
    for (T& x : fetch_following(*ctx_, local_, k - 1)) extended.push_back(std::move(x));
    std::vector<U> out;
    for (std::size_t i = 0; i < local_.size() && i + k <= extended.size(); ++i)
      out.push_back(f(std::span<const T>(extended.data() + i, k)));
    return Dataset<U>(*ctx_, std::move(out));
  }

  // ---- Actions ------------------------------------------------------------

  std::uint64_t count() const { return ctx_->sum(local_.size()); }

  // op folded over the whole dataset in order, starting from `identity`;
  // every rank gets the result. op must be associative.
  template <typename Op>
  T reduce(Op op, T identity) const {
    T mine = identity;
    for (const T& x : local_) mine = op(mine, x);
    Received parts = ctx_->allgather(encode(std::vector<T>{mine}));
    std::vector<T> partial;
    for (int r = 0; r < ctx_->size(); ++r) decode_into(parts.data(r), parts.size(r), partial);
    T all = identity;
    for (const T& p : partial) all = op(all, p);
    return all;
  }

  // The whole dataset, in order, on every rank.
  std::vector<T> collect() const { return gather(local_); }

  // The first n elements in global order, on every rank.
  std::vector<T> take(std::uint64_t n) const {
    std::uint64_t before = ctx_->exclusive_sum(local_.size());
    std::uint64_t mine = before >= n ? 0 : std::min<std::uint64_t>(local_.size(), n - before);
    return gather(std::vector<T>(local_.begin(), local_.begin() + mine));
  }

  // The n smallest elements by `less`, in that order, on every rank.
  template <typename Less = std::less<>>
  std::vector<T> take_ordered(std::size_t n, Less less = {}) const {
    auto smallest = [&](std::vector<T> v) {
      std::size_t keep = std::min(n, v.size());
      std::partial_sort(v.begin(), v.begin() + keep, v.end(), less);
      v.resize(keep);
      return v;
    };
    return smallest(gather(smallest(local_)));
  }

  // f(x) for every element, on the rank that holds it, by its FinD workers
  // (so f may run concurrently with itself).
  template <typename F>
  void foreach (F f) const {
    ctx_->local().run(
        [&] { find::parallel_for(0, local_.size(), 1024, [&](std::size_t i) { f(local_[i]); }); });
  }

  // One line per element (core/text.h), in global order, into one file
  // that every rank writes its part of.
  void save_text(const std::string& path) const {
    std::string text;
    for (const T& x : local_) {
      append_text(text, x);
      text += '\n';
    }
    write_shared(path, std::vector<char>(text.begin(), text.end()));
  }

  // The elements' bytes, in global order (read_binary reads them back).
  void save_binary(const std::string& path) const requires std::is_trivially_copyable_v<T> {
    write_shared(path, encode(local_));
  }

  const std::vector<T>& local() const { return local_; }
  Context& context() const { return *ctx_; }

 private:
  std::vector<T> gather(const std::vector<T>& mine) const {
    Received parts = ctx_->allgather(encode(mine));
    std::vector<T> out;
    for (int r = 0; r < ctx_->size(); ++r) decode_into(parts.data(r), parts.size(r), out);
    return out;
  }

  void write_shared(const std::string& path, const std::vector<char>& bytes) const {
    std::uint64_t offset = ctx_->exclusive_sum(bytes.size());
    SharedFile file(ctx_->comm(), path, SharedFile::Mode::write);
    file.write_at_all(offset, bytes);
  }

  Context* ctx_;
  std::vector<T> local_;
};

// ---- Sources that read files ----------------------------------------------

template <typename T>
Dataset<T> Dataset<T>::read_text(Context& ctx,
                                 const std::string& path) requires std::is_same_v<T, std::string> {
  // The chunks hold whole lines, so splitting each gives the lines in order.
  std::vector<T> lines;
  Dataset chunks = read_text_chunks(ctx, path);
  for (const std::string& text : chunks.local()) {
    for (std::size_t at = 0; at < text.size();) {
      // A search, not a string copy: nothing to terminate.
      // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
      const void* nl = std::memchr(text.data() + at, '\n', text.size() - at);
      std::size_t end =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
      lines.emplace_back(text.data() + at, end - at);
      at = end + 1;
    }
  }
  return Dataset(ctx, std::move(lines));
}

template <typename T>
Dataset<T> Dataset<T>::read_text_chunks(
    Context& ctx, const std::string& path,
    std::size_t chunk_bytes) requires std::is_same_v<T, std::string> {
  // Each chunk is read straight into its string (no staging buffer: on
  // machines where first touching memory is costly, that halves the cost).
  SharedFile file(ctx.comm(), path, SharedFile::Mode::read);
  const std::uint64_t size = file.size();
  auto bounds = balanced_bounds(size, ctx.size());
  const std::uint64_t begin = bounds[ctx.rank()], end = bounds[ctx.rank() + 1];
  constexpr std::uint64_t kStep = 1 << 16;
  std::string probe(kStep, '\0');
  // The first byte after the next newline at or after `from` (size if none).
  auto after_newline = [&](std::uint64_t from) {
    for (std::uint64_t at = from; at < size; at += kStep) {
      std::uint64_t got = file.read_into(at, kStep, probe.data());
      if (const void* nl = std::memchr(probe.data(), '\n', got))
        return at + static_cast<std::uint64_t>(static_cast<const char*>(nl) - probe.data()) + 1;
    }
    return size;
  };
  std::vector<T> chunks;
  if (begin == end) return Dataset(ctx, std::move(chunks));
  // Lines belong to the rank whose range holds their first byte.
  std::uint64_t at = begin == 0 ? 0 : after_newline(begin - 1);
  while (at < end) {
    std::uint64_t stop = std::min(end, at + std::max<std::size_t>(chunk_bytes, 1));
    std::string chunk(stop - at, '\0');
    chunk.resize(file.read_into(at, chunk.size(), chunk.data()));
    if (chunk.empty()) break;
    if (chunk.back() != '\n' && at + chunk.size() < size) {  // on to the end of the line
      std::uint64_t line_end = after_newline(at + chunk.size());
      std::uint64_t old = chunk.size();
      chunk.resize(line_end - at);
      file.read_into(at + old, line_end - at - old, chunk.data() + old);
    }
    at += chunk.size();
    chunks.push_back(std::move(chunk));
  }
  return Dataset(ctx, std::move(chunks));
}

template <typename T>
Dataset<T> Dataset<T>::read_binary(
    Context& ctx, const std::string& path) requires std::is_trivially_copyable_v<T> {
  SharedFile file(ctx.comm(), path, SharedFile::Mode::read);
  std::uint64_t size = file.size();
  if (size % sizeof(T))
    throw std::runtime_error(path + ": " + std::to_string(size) +
                             " bytes is not a whole number of " + std::to_string(sizeof(T)) +
                             "-byte records");
  auto bounds = balanced_bounds(size / sizeof(T), ctx.size());
  std::uint64_t first = bounds[ctx.rank()], n = bounds[ctx.rank() + 1] - first;
  std::vector<T> local;
  decode_into(file.read_at(first * sizeof(T), n * sizeof(T)).data(), n * sizeof(T), local);
  return Dataset(ctx, std::move(local));
}

}  // namespace topo
