// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/protocol.h"

#include "converge/config.h"

#include <fmt/format.h>

#include <chrono>

namespace kapok {

void Attr::encode(converge::wire::Writer& w) const {
  w.u64(ino);
  w.u32(mode);
  w.u32(uid);
  w.u32(gid);
  w.u32(nlink);
  w.u64(size);
  w.i64(atime_ns);
  w.i64(mtime_ns);
  w.i64(ctime_ns);
  w.boolean(inline_data);
  w.u64(layout.stripe_size);
  w.u32(static_cast<std::uint32_t>(layout.servers.size()));
  for (auto s : layout.servers) w.u32(s);
  w.bytes(symlink);
}

Attr Attr::decode(converge::wire::Reader& r) {
  Attr a;
  a.ino = r.u64();
  a.mode = r.u32();
  a.uid = r.u32();
  a.gid = r.u32();
  a.nlink = r.u32();
  a.size = r.u64();
  a.atime_ns = r.i64();
  a.mtime_ns = r.i64();
  a.ctime_ns = r.i64();
  a.inline_data = r.boolean();
  a.layout.stripe_size = r.u64();
  std::uint32_t n = r.u32();
  if (n > 4096) throw converge::wire::Error("too many stripe servers");
  for (std::uint32_t i = 0; i < n; ++i) a.layout.servers.push_back(r.u32());
  a.symlink = r.string();
  return a;
}

Members Members::load(const std::string& path) {
  auto json = converge::config::load_file(path);
  converge::config::Node root(json, path);
  root.allow_only({"mds", "ds"});
  Members m;
  for (const char* role : {"mds", "ds"}) {
    auto& list = std::string_view(role) == "mds" ? m.mds : m.ds;
    for (const auto& item : root.at(role).elements()) {
      try {
        list.push_back(converge::rpc::Endpoint::parse(item.as_string()));
      } catch (const std::invalid_argument& e) {
        item.fail(e.what());
      }
    }
    if (list.empty()) root.at(role).fail(fmt::format("needs at least one {} server", role));
  }
  if (m.mds.size() > 65535) root.fail("too many metadata servers");
  return m;
}

std::string Members::to_json() const {
  nlohmann::json j;
  for (const auto& e : mds) j["mds"].push_back(e.to_string());
  for (const auto& e : ds) j["ds"].push_back(e.to_string());
  return j.dump(2) + "\n";
}

void Entry::encode(converge::wire::Writer& w) const {
  w.u8(kind);
  if (kind == kLocal) attr.encode(w);
  if (kind == kRemote) w.u64(ino);
}

Entry Entry::decode(converge::wire::Reader& r) {
  Entry e;
  std::uint8_t kind = r.u8();
  if (kind > kSameFile) throw converge::wire::Error("bad entry kind");
  e.kind = static_cast<Kind>(kind);
  if (e.kind == kLocal) {
    e.attr = Attr::decode(r);
    e.ino = e.attr.ino;
  }
  if (e.kind == kRemote) e.ino = r.u64();
  return e;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kapok
