// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/queue_server.h"

#include "topo/service/protocol.h"

#include "converge/bounded_json.h"

#include <cerrno>
#include <string>

namespace topo::service {
namespace {

using converge::rpc::Error;
using converge::wire::Reader;
using converge::wire::Writer;
using Json = nlohmann::json;

Json body_of(Reader& in) {
  Json json;
  try {
    json = converge::parse_bounded_json(in.bytes());
  } catch (const converge::JsonLimitError& e) {
    throw Error(EINVAL, e.what());
  } catch (const Json::exception&) {
    throw Error(EINVAL, "the request is not JSON");
  }
  if (!json.is_object()) throw Error(EINVAL, "the request is not a JSON object");
  return json;
}

// A field of a request, of the expected kind, or EINVAL naming it.
template <typename T>
T field(const Json& body, const char* name) {
  auto it = body.find(name);
  bool ok = it != body.end();
  if constexpr (std::is_same_v<T, std::string>)
    ok = ok && it->is_string();
  else if constexpr (std::is_integral_v<T>)
    ok = ok && it->is_number_unsigned();
  if (!ok) throw Error(EINVAL, std::string("missing or wrong field \"") + name + "\"");
  return it->get<T>();
}

void check_report(Report report, std::uint64_t job, std::uint32_t index) {
  std::string task = "task " + std::to_string(index) + " of job " + std::to_string(job);
  if (report == Report::unknown) throw Error(ENOENT, "no " + task);
  if (report == Report::not_leased) throw Error(EPERM, task + " is leased to another worker");
}

void reply(Writer& out, const Json& body) {
  out.bytes(body.dump());
}

}  // namespace

void serve_queue(converge::rpc::Server& server, JobQueue& queue) {
  // Taking tasks and reporting their outcome is for the instance's own
  // workers; the job's owner submits and asks for status.
  const converge::rpc::MethodOptions kWorkerOnly{converge::rpc::Access::kMember};
  server.handle(method::kSubmit, [&queue](Reader& in, Writer& out) {
    Json body = body_of(in);
    auto app = field<std::string>(body, "app");
    auto tasks = body.find("tasks");
    if (app.empty() || tasks == body.end() || !tasks->is_array())
      throw Error(EINVAL, "submit needs \"app\" and an array \"tasks\"");
    try {
      reply(out, {{"job", queue.submit(app, tasks->get<std::vector<Json>>())}});
    } catch (const std::length_error& e) {
      throw Error(EAGAIN, e.what());
    }
  });
  server.handle(
      method::kNext,
      [&queue](Reader& in, Writer& out) {
        Json body = body_of(in);
        auto worker = field<std::string>(body, "worker");
        auto wait = std::min<std::uint64_t>(body.value("wait_ms", 0u), 10000);
        auto task = queue.next(worker, std::chrono::milliseconds(wait));
        if (!task) return reply(out, Json::object());
        reply(out, {{"job", task->job},
                    {"index", task->index},
                    {"app", task->app},
                    {"params", task->params}});
      },
      kWorkerOnly);
  server.handle(
      method::kDone,
      [&queue](Reader& in, Writer& out) {
        Json body = body_of(in);
        auto job = field<std::uint64_t>(body, "job");
        auto index = field<std::uint32_t>(body, "index");
        auto worker = field<std::string>(body, "worker");
        check_report(queue.complete(job, index, worker, body.value("result", Json())), job, index);
        reply(out, Json::object());
      },
      kWorkerOnly);
  server.handle(
      method::kFailed,
      [&queue](Reader& in, Writer& out) {
        Json body = body_of(in);
        auto job = field<std::uint64_t>(body, "job");
        auto index = field<std::uint32_t>(body, "index");
        auto worker = field<std::string>(body, "worker");
        auto error = body.value("error", std::string("unknown error"));
        check_report(queue.fail(job, index, worker, error), job, index);
        reply(out, Json::object());
      },
      kWorkerOnly);
  server.handle(method::kStatus, [&queue](Reader& in, Writer& out) {
    auto job = field<std::uint64_t>(body_of(in), "job");
    auto status = queue.status(job);
    if (!status) throw Error(ENOENT, "no job " + std::to_string(job));
    Json r{{"state", job_state_name(status->state)},
           {"total", status->total},
           {"finished", status->finished}};
    if (status->state == JobState::done) r["results"] = status->results;
    if (status->state == JobState::failed) r["error"] = status->error;
    reply(out, r);
  });
}

}  // namespace topo::service
