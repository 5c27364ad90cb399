// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/daemon/record_format.h"

#include "converge/rpc/wire.h"

#include <zlib.h>

#include <cstring>
#include <string>

namespace kapok::record_format {

using converge::wire::Reader;
using converge::wire::Writer;

std::uint32_t checksum(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

Parse parse_record(std::string_view block, std::uint32_t generation, Record& out) {
  Reader r(block);
  if (block.size() < MetadataEngine::kRecordHeader || r.u32() != kRecordMagic) return Parse::empty;
  std::uint32_t crc = r.u32();
  out.seq = r.u64();
  out.generation = r.u32();
  if (out.generation != generation)
    return Parse::empty;  // left over from an earlier use of the group
  std::uint16_t key_len = r.u16();
  out.kind = static_cast<Kind>(r.u8());
  r.u8();
  std::uint32_t value_len = r.u32();
  std::size_t total = MetadataEngine::kRecordHeader + key_len + std::size_t{value_len};
  if (total > block.size() || (out.kind != kPut && out.kind != kTombstone)) return Parse::corrupt;
  if (checksum(block.substr(8, total - 8)) != crc) return Parse::corrupt;
  out.key = block.substr(MetadataEngine::kRecordHeader, key_len);
  out.value = block.substr(MetadataEngine::kRecordHeader + key_len, value_len);
  return Parse::ok;
}

void encode_record(char* block, std::uint32_t block_size, const Record& rec) {
  Writer w;
  w.u32(kRecordMagic);
  w.u32(0);  // checksum, filled below
  w.u64(rec.seq);
  w.u32(rec.generation);
  w.u16(static_cast<std::uint16_t>(rec.key.size()));
  w.u8(rec.kind);
  w.u8(0);
  w.u32(static_cast<std::uint32_t>(rec.value.size()));
  w.raw(rec.key);
  w.raw(rec.value);
  std::string bytes = w.take();
  std::uint32_t crc = checksum(std::string_view(bytes).substr(8));
  for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  std::memcpy(
      block, bytes.data(),
      bytes.size());  // NOLINT(bugprone-not-null-terminated-result): a binary record, not a string
  std::memset(block + bytes.size(), 0, block_size - bytes.size());
}

}  // namespace kapok::record_format
