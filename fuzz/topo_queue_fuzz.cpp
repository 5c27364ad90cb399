// SPDX-License-Identifier: GPL-2.0-or-later
//
// Topo's queue requests as the queue server decodes and serves them, from
// arbitrary bytes: the first byte picks the method (submit, next, done,
// failed, status) and whether the caller is one of the instance's own
// services; the rest is the request body, wrapped as the client sends it
// unless the first byte's high bit asks for it raw. Every input is served
// or refused with a status, never a crash, and the queue stays within its
// caps.
#include "topo/service/job_queue.h"
#include "topo/service/protocol.h"
#include "topo/service/queue_server.h"

#include "converge/rpc/rpc.h"
#include "converge/rpc/wire.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

struct Queue {
  // A short lease, so expiry is reached too; small caps, so they are.
  topo::service::JobQueue queue{std::chrono::milliseconds(1), 8,
                                topo::service::QueueCaps{16, 4096}};
  converge::rpc::Server server{converge::rpc::AuthSettings{std::nullopt, 0}};
  Queue() { topo::service::serve_queue(server, queue); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto queue = std::make_unique<Queue>();
  static std::size_t served = 0;
  if (size == 0) return 0;
  const std::uint32_t method = 1 + (data[0] & 0x3f) % 5;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  // `next` may wait up to 10 s for a task: such an input only sleeps.
  if (method == topo::service::method::kNext && rest.find("wait") != std::string_view::npos)
    return 0;
  std::string body;
  if (data[0] & 0x80) {
    body.assign(rest);
  } else {
    converge::wire::Writer w;
    w.bytes(rest);
    body = w.take();
  }
  converge::rpc::Peer peer{0, 0, (data[0] & 0x40) != 0};
  std::int32_t status = 0;
  queue->server.call_in_process(peer, method, body, status);
  // A fresh queue now and then, so inputs do not all meet a full one.
  if (++served % 1000 == 0) queue = std::make_unique<Queue>();
  return 0;
}
