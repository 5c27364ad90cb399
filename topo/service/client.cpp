// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/client.h"

#include "topo/service/protocol.h"

#include "converge/poll.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace topo::service {

using Json = nlohmann::json;

converge::rpc::Endpoint find_queue(const std::string& explicit_endpoint,
                                   const std::string& queue_file) {
  if (!explicit_endpoint.empty()) return converge::rpc::Endpoint::parse(explicit_endpoint);
  std::string path = queue_file;
  if (path.empty()) {
    const char* job_dir = std::getenv("CONVERGE_JOB_DIR");
    if (!job_dir || !*job_dir)
      throw std::runtime_error(
          "no Topo service queue: give --queue HOST:PORT or --queue-file, or run inside a job "
          "with --converge-services=topo");
    path = std::string(job_dir) + "/topo/queue.json";
  }
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path + " (is the topo service up in this job?)");
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("queue") || !j["queue"].is_array() || j["queue"].empty() ||
      !j["queue"][0].is_string())
    throw std::runtime_error(path + ": expected {\"queue\": [\"host:port\"]}");
  return converge::rpc::Endpoint::parse(j["queue"][0].get<std::string>());
}

std::string to_portable_path(const std::string& path, const std::string& kapok_mount) {
  if (kapok_mount.empty()) return path;
  std::string mount =
      kapok_mount.back() == '/' ? kapok_mount.substr(0, kapok_mount.size() - 1) : kapok_mount;
  if (path == mount) return "kapok:/";
  if (path.rfind(mount + "/", 0) == 0) return "kapok:" + path.substr(mount.size());
  return path;
}

Json call(converge::rpc::Client& queue, std::uint32_t method, const Json& body) {
  converge::wire::Writer out;
  out.bytes(body.dump());
  std::string reply = queue.call(method, out.take());
  converge::wire::Reader in(reply);
  Json j = Json::parse(in.bytes(), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("the Topo queue sent a reply that is not JSON");
  return j;
}

Json run_job(converge::rpc::Client& queue, const std::string& app, const std::vector<Json>& tasks,
             std::chrono::seconds limit) {
  Json submitted = call(queue, method::kSubmit, {{"app", app}, {"tasks", tasks}});
  std::uint64_t job = submitted.at("job").get<std::uint64_t>();
  Json status;
  using namespace std::chrono_literals;
  bool ended = converge::poll_until(limit, 50ms, [&] {
    status = call(queue, method::kStatus, {{"job", job}});
    return status.value("state", "") != "running";
  });
  if (!ended)
    throw std::runtime_error("job " + std::to_string(job) + " not done after " +
                             std::to_string(limit.count()) + " s (" +
                             std::to_string(status.value("finished", 0)) + " of " +
                             std::to_string(status.value("total", 0)) + " tasks)");
  status["job"] = job;
  return status;
}

}  // namespace topo::service
