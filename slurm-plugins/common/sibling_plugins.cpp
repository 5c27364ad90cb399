// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/sibling_plugins.h"

#include <dlfcn.h>

#include <atomic>
#include <string>

namespace converge::slurm {
namespace {

void* resolve(const char* library, const char* symbol) {
  Dl_info self{};
  if (!dladdr(reinterpret_cast<void*>(&notify_capacity_freed), &self) || !self.dli_fname)
    return nullptr;
  std::string path = self.dli_fname;
  path = path.substr(0, path.rfind('/') + 1) + library;
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  void* entry = dlsym(handle, symbol);
  dlclose(handle);  // drops only the reference RTLD_NOLOAD took
  return entry;
}

// Resolved once, on first use: both plugins are loaded before any job runs.
template <typename Fn>
Fn entry_point(std::atomic<bool>& resolved, std::atomic<Fn>& entry, const char* library,
               const char* symbol) {
  if (!resolved.load(std::memory_order_acquire)) {
    entry.store(reinterpret_cast<Fn>(resolve(library, symbol)), std::memory_order_release);
    resolved.store(true, std::memory_order_release);
  }
  return entry.load(std::memory_order_acquire);
}

}  // namespace

void notify_capacity_freed() {
  using Fn = void (*)();
  static std::atomic<bool> resolved{false};
  static std::atomic<Fn> entry{nullptr};
  if (auto fn = entry_point(resolved, entry, "sched_converge.so", CONVERGE_CAPACITY_FREED_SYMBOL))
    fn();
}

void closed_nodes(std::optional<JobType> type, bitstr_t* closed) {
  using Fn = void (*)(int, bitstr_t*);
  static std::atomic<bool> resolved{false};
  static std::atomic<Fn> entry{nullptr};
  if (auto fn = entry_point(resolved, entry, "select_converge.so", CONVERGE_CLOSED_NODES_SYMBOL))
    fn(type ? static_cast<int>(*type) : -1, closed);
}

bool data_nodes(const std::string& path, bitstr_t* holders) {
  using Fn = int (*)(const char*, bitstr_t*);
  static std::atomic<bool> resolved{false};
  static std::atomic<Fn> entry{nullptr};
  auto fn = entry_point(resolved, entry, "sched_converge.so", CONVERGE_DATA_NODES_SYMBOL);
  return fn && fn(path.c_str(), holders) > 0;
}

}  // namespace converge::slurm
