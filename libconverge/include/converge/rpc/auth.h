// SPDX-License-Identifier: GPL-2.0-or-later
//
// Who may talk to a job's services. Every RPC connection starts with a
// handshake (see docs/security.md):
//
//   server -> client   hello: version, a fresh server nonce
//   client -> server   a MUNGE credential over both nonces (proves uid/gid),
//                      and, from the job's own services, an HMAC of the
//                      nonces under the job's secret (proves membership)
//   server -> client   its own MUNGE credential over both nonces and, to a
//                      member, its own HMAC: the client learns that the
//                      server runs as the expected user and belongs to the job
//
// MUNGE is the credential service every Slurm cluster already runs; the job
// secret is made by converge-launch for each instance and never leaves the
// job's nodes except in PMIx messages among its ranks.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace converge::rpc {

// The proven identity of the other end of a connection.
struct Peer {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  bool member = false;  // proved the job's secret: one of the job's own services
};

// Bytes as lowercase hex digits (secrets, proofs, keys).
std::string to_hex(std::string_view bytes);

// A job instance's shared secret: 32 random bytes.
class JobSecret {
 public:
  static constexpr std::size_t kSize = 32;
  // The environment variable that names the secret's file for a service.
  static constexpr const char* kFileVariable = "CONVERGE_JOB_SECRET_FILE";

  static JobSecret generate();
  // 64 hex digits; throws std::invalid_argument otherwise.
  static JobSecret from_hex(std::string_view hex);
  // Reads a file written by save(); refuses a symlink, a file of another
  // user or one that others may read. Throws std::runtime_error.
  static JobSecret load(const std::string& path);
  // The secret named by $CONVERGE_JOB_SECRET_FILE, or none when unset.
  static std::optional<JobSecret> from_environment();

  // Writes the secret, mode 0600, by a unique temporary name and an atomic
  // rename (so ranks sharing a directory may all write it).
  void save(const std::string& path) const;
  std::string hex() const;

  // HMAC-SHA256 of label and message under the secret, and its check in
  // constant time.
  std::string prove(std::string_view label, std::string_view message) const;
  bool verify(std::string_view label, std::string_view message, std::string_view proof) const;

 private:
  std::array<unsigned char, kSize> key_{};
};

// What one end brings to the handshake.
struct AuthSettings {
  std::optional<JobSecret> secret;  // the job's secret, when this is one of its services
  // Server: whose connections are accepted (root's always are).
  // Client: the uid the server must run as; root accepts any.
  uid_t owner = ::geteuid();

  // This process's: its effective uid, the secret from the environment.
  static AuthSettings for_this_process();
};

// A process-wide AuthSettings loaded once from the environment.
const AuthSettings& default_auth();

}  // namespace converge::rpc
