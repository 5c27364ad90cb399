// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/munge.h"

#include "converge/rpc/error.h"

#include <fmt/format.h>
#include <munge.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

namespace converge::rpc {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

Error munge_error(munge_err_t err, const char* what) {
  int code = err == EMUNGE_SOCKET ? EHOSTDOWN : EACCES;
  std::string hint = err == EMUNGE_SOCKET ? " (is munged running?)" : "";
  return Error(code, fmt::format("MUNGE {}: {}{}", what, munge_strerror(err), hint));
}

}  // namespace

std::string munge_encode(std::string_view payload) {
  char* raw = nullptr;
  munge_err_t err = ::munge_encode(&raw, nullptr, payload.data(), static_cast<int>(payload.size()));
  std::unique_ptr<char, FreeDeleter> credential(raw);
  if (err != EMUNGE_SUCCESS) throw munge_error(err, "encode");
  return credential.get();
}

MungeIdentity munge_decode(const std::string& credential) {
  void* raw = nullptr;
  int length = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  munge_err_t err = ::munge_decode(credential.c_str(), nullptr, &raw, &length, &uid, &gid);
  std::unique_ptr<void, FreeDeleter> payload(raw);
  if (err != EMUNGE_SUCCESS) throw munge_error(err, "credential refused");
  std::string text;
  if (raw && length > 0)
    text.assign(static_cast<const char*>(raw), static_cast<std::size_t>(length));
  return {uid, gid, std::move(text)};
}

}  // namespace converge::rpc
