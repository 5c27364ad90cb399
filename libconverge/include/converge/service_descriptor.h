// SPDX-License-Identifier: GPL-2.0-or-later
//
// A service converge-launch can bring up, described in JSON
// (configs/services/NAME.json) so new services need no launcher changes:
// its roles (which nodes run them, program, argument template, ports, CPU
// binding, readiness check, start phase) and the files generated from
// everyone's endpoints (a members list, for example). Templates use @NAME@
// placeholders; see docs/launcher.md for the list.
#pragma once

#include "converge/config.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace converge {

enum class Binding {
  none,           // inherit the launcher's CPU set
  reserved_core,  // the last core of the node's CPU set (services' own core)
  workers,        // every core but the reserved one (all if there is only one)
};

struct ReadyCheck {
  // rpc: an authenticated handshake with a Converge RPC service that holds
  // the job's secret (a squatter on the port fails it); http_proof: an HTTP
  // service that proves it holds the job's secret (converge/rpc/ready_proof.h);
  // tcp: anything that accepts a connection.
  enum class Kind { none, rpc, http_proof, tcp, mounted, command };
  Kind kind = Kind::none;
  std::string target;             // rpc, http_proof, tcp: HOST:PORT; mounted: a path (templates)
  std::vector<std::string> argv;  // command: exit status 0 means ready (templates)
  // This role's own limit (one that loads a large model may need longer);
  // empty: the launcher's ready_timeout_ms.
  std::optional<std::chrono::milliseconds> timeout;
};

struct ServiceRole {
  std::string name;
  // Which ranks (one per node) run it: all of them, or the first `count`.
  std::optional<unsigned> count;  // empty: all nodes
  std::string program;            // a name beside converge-launch, on PATH, or a path
  std::vector<std::string> args;  // templates
  unsigned ports = 0;             // listening ports it needs (@PORT@, @PORT1@, ...)
  // The program takes its ports' listening sockets from the launcher
  // (net.h, take_inherited_listener); false: it binds them itself.
  bool inherits_ports = true;
  Binding binding = Binding::none;
  ReadyCheck ready;
  unsigned phase = 1;                    // phases start in order, all nodes together
  std::vector<std::string> directories;  // created before it starts (templates)

  bool runs_on(unsigned rank, unsigned size) const {
    return rank < size && (!count || rank < *count);
  }
};

// A file written on every node once all endpoints are known, e.g. Kapok's
// members file: {"mds": [endpoints of role "server" in rank order], ...}.
struct GeneratedFile {
  std::string path;                          // template
  std::map<std::string, std::string> lists;  // JSON key -> role name
};

struct ServiceDescriptor {
  std::string name;
  std::string description;
  std::vector<ServiceRole> roles;
  std::vector<GeneratedFile> files;

  // Throws config::Error naming the file, the key and the problem.
  static ServiceDescriptor from_json(const config::Json& json, const std::string& origin);
  static ServiceDescriptor load_file(const std::string& path);
  // NAME.json in `dir`; a one-line error lists the services there if absent.
  static ServiceDescriptor find(const std::string& dir, const std::string& name);
  // The names of the descriptors in `dir`, sorted (none if it cannot be read).
  static std::vector<std::string> available(const std::string& dir);

  unsigned last_phase() const;
};

}  // namespace converge
