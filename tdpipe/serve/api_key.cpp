// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/api_key.h"

#include "tdpipe/serve/completion_api.h"

#include "converge/rpc/auth.h"
#include "converge/rpc/ready_proof.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace tdpipe {
namespace {

std::string read_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot open API key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  std::string key(4096, '\0');
  ssize_t n = fstat(fd, &st) == 0 ? ::read(fd, key.data(), key.size()) : -1;
  ::close(fd);
  if (n < 0) throw std::runtime_error("cannot read API key file " + path);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
    throw std::runtime_error("API key file " + path + " must be this user's, mode 0600");
  key.resize(static_cast<std::size_t>(n));
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
    key.pop_back();
  if (key.empty()) throw std::runtime_error("API key file " + path + " is empty");
  return key;
}

}  // namespace

std::optional<std::string> find_api_key(const std::string& key_file) {
  if (!key_file.empty()) return read_key_file(key_file);
  if (const char* k = std::getenv(kApiKeyVariable); k && *k) return std::string(k);
  std::string secret_file;
  if (const char* f = std::getenv(converge::rpc::JobSecret::kFileVariable); f && *f) {
    secret_file = f;
  } else if (const char* d = std::getenv("CONVERGE_JOB_DIR"); d && *d) {
    secret_file = std::string(d) + "/secret";
    if (access(secret_file.c_str(), F_OK) != 0) return std::nullopt;
  } else {
    return std::nullopt;
  }
  auto secret = converge::rpc::JobSecret::load(secret_file);
  return "tdpipe-" + converge::rpc::to_hex(secret.prove("tdpipe api key", "")).substr(0, 48);
}

std::optional<std::string> server_api_key(const std::string& key_file, bool no_key) {
  if (no_key) return std::nullopt;
  auto key = find_api_key(key_file);
  if (!key) {
    throw std::invalid_argument(
        "no API key: give --api-key-file, set TDPIPE_API_KEY, run inside a Converge job, or pass "
        "--no-api-key");
  }
  return key;
}

bool bearer_matches(const std::string& authorization, const std::string& key) {
  const std::string prefix = "Bearer ";
  if (authorization.size() != prefix.size() + key.size() ||
      authorization.compare(0, prefix.size(), prefix) != 0)
    return false;
  return CRYPTO_memcmp(authorization.data() + prefix.size(), key.data(), key.size()) == 0;
}

void require_api_key(httplib::Server& server, const std::string& key) {
  server.set_pre_routing_handler([key](const httplib::Request& req, httplib::Response& res) {
    // Health, and the readiness proof (which only a holder of the job's
    // secret can give, and which reveals nothing of it), need no key.
    if (req.method == "GET" &&
        (req.path == "/health" || req.path == converge::rpc::kReadyProofPath))
      return httplib::Server::HandlerResponse::Unhandled;
    if (bearer_matches(req.get_header_value("Authorization"), key))
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    nlohmann::json body =
        error_json(401, "a valid API key is required (Authorization: Bearer KEY)");
    body["error"]["code"] = "invalid_api_key";
    res.set_content(body.dump() + "\n", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
}

}  // namespace tdpipe
