// SPDX-License-Identifier: GPL-2.0-or-later
//
// Kapok's messages as servers and clients decode them (attributes, entries)
// and the metadata engine's on-disk records, from arbitrary bytes: every
// input is either decoded or refused with wire::Error, never a crash.
#include "kapok/common/protocol.h"
#include "kapok/daemon/record_format.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    converge::wire::Reader r(bytes);
    kapok::Attr::decode(r);
  } catch (const converge::wire::Error&) {
  }
  try {
    converge::wire::Reader r(bytes);
    kapok::Entry::decode(r);
  } catch (const converge::wire::Error&) {
  }
  kapok::record_format::Record record;
  if (kapok::record_format::parse_record(bytes, 1, record) == kapok::record_format::Parse::ok) {
    // A record that parses, written again, parses to the same record.
    std::vector<char> block(std::max<std::size_t>(size, 64));
    kapok::record_format::encode_record(block.data(), static_cast<std::uint32_t>(block.size()),
                                        record);
    kapok::record_format::Record again;
    auto parsed = kapok::record_format::parse_record(std::string_view(block.data(), block.size()),
                                                     1, again);
    if (parsed != kapok::record_format::Parse::ok || again.key != record.key ||
        again.value != record.value || again.seq != record.seq)
      __builtin_trap();
  }
  return 0;
}
