// SPDX-License-Identifier: GPL-2.0-or-later
//
// A distributed dataset: a sequence of T split over the ranks of a Context
// in order (rank 0 holds the first part). Local operations run on the
// rank's FinD workers; global ones use MPI. Elements are trivially copyable
// values for now (they travel as bytes).
//
// Operations so far: generate, map, filter, flat_map (local); count,
// reduce, collect, prefix_sum (global). Each keeps the global order.
#pragma once

#include "core/context.h"
#include "find/scheduler.h"

#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

namespace topo {

template <typename T>
class Dataset {
  static_assert(std::is_trivially_copyable_v<T>, "Dataset elements travel as bytes");

 public:
  Dataset(Context& ctx, std::vector<T> local) : ctx_(&ctx), local_(std::move(local)) {}

  // Elements f(0) .. f(n-1), rank r holding the r-th block of about n/size.
  template <typename F>
  static Dataset generate(Context& ctx, std::uint64_t n, F f) {
    std::uint64_t first = n * ctx.rank() / ctx.size(), last = n * (ctx.rank() + 1) / ctx.size();
    std::vector<T> local(last - first);
    ctx.local().run([&] {
      find::parallel_for(0, local.size(), 4096, [&](std::size_t i) { local[i] = f(first + i); });
    });
    return Dataset(ctx, std::move(local));
  }

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

  std::uint64_t count() const { return ctx_->sum(local_.size()); }

  // op folded over the whole dataset in order, starting from `identity`;
  // every rank gets the result. op must be associative.
  template <typename Op>
  T reduce(Op op, T identity) const {
    T mine = identity;
    for (const T& x : local_) mine = op(mine, x);
    T all = identity;
    for (const auto& part : ctx_->allgather(bytes_of(std::vector<T>{mine})))
      all = op(all, from_bytes(part).at(0));
    return all;
  }

  // The whole dataset, in order, on every rank.
  std::vector<T> collect() const {
    std::vector<T> out;
    for (const auto& part : ctx_->allgather(bytes_of(local_))) {
      auto values = from_bytes(part);
      out.insert(out.end(), values.begin(), values.end());
    }
    return out;
  }

  // Inclusive scan in global order: element i becomes op(x0, ..., xi).
  template <typename Op>
  Dataset prefix_sum(Op op, T identity) const {
    T mine = identity;
    for (const T& x : local_) mine = op(mine, x);
    auto totals = ctx_->allgather(bytes_of(std::vector<T>{mine}));
    T carry = identity;  // everything on the ranks before this one
    for (int r = 0; r < ctx_->rank(); ++r) carry = op(carry, from_bytes(totals[r]).at(0));
    std::vector<T> out(local_.size());
    for (std::size_t i = 0; i < local_.size(); ++i) {
      carry = op(carry, local_[i]);
      out[i] = carry;
    }
    return Dataset(*ctx_, std::move(out));
  }

  const std::vector<T>& local() const { return local_; }
  Context& context() const { return *ctx_; }

 private:
  static std::vector<char> bytes_of(const std::vector<T>& values) {
    std::vector<char> out(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  static std::vector<T> from_bytes(const std::vector<char>& bytes) {
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
  }

  Context* ctx_;
  std::vector<T> local_;
};

}  // namespace topo
