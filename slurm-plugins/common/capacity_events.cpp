// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/capacity_events.h"

#include <dlfcn.h>

#include <atomic>
#include <string>

namespace converge::slurm {
namespace {

using Callback = void (*)();

Callback resolve() {
  Dl_info self{};
  if (!dladdr(reinterpret_cast<void*>(&notify_capacity_freed), &self) || !self.dli_fname)
    return nullptr;
  std::string path = self.dli_fname;
  path = path.substr(0, path.rfind('/') + 1) + "sched_converge.so";
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  auto callback = reinterpret_cast<Callback>(dlsym(handle, CONVERGE_CAPACITY_FREED_SYMBOL));
  dlclose(handle);  // drops only the reference RTLD_NOLOAD took
  return callback;
}

}  // namespace

void notify_capacity_freed() {
  static std::atomic<bool> resolved{false};
  static std::atomic<Callback> callback{nullptr};
  if (!resolved.load(std::memory_order_acquire)) {
    callback.store(resolve(), std::memory_order_release);
    resolved.store(true, std::memory_order_release);
  }
  if (auto cb = callback.load(std::memory_order_acquire)) cb();
}

}  // namespace converge::slurm
