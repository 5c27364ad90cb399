// SPDX-License-Identifier: GPL-2.0-or-later
//
// The metadata engine's on-device format (docs/kapok.md): a superblock,
// then groups of equal-sized blocks, each group with a header, each block
// holding at most one record: magic, CRC-32 of the rest, sequence number,
// the group's generation (a record from an earlier use of the group reads
// as empty), kind, key and value. Private to the engine; tested through it.
#pragma once

#include "kapok/daemon/metadata_engine.h"

#include <cstdint>
#include <string_view>

namespace kapok::record_format {

constexpr std::uint64_t kSuperMagic = 0x314d'5250'4f50'414bull;  // "KAPOPRM1"
constexpr std::uint32_t kGroupMagic = 0x5052'474b;               // "KGRP"
constexpr std::uint32_t kRecordMagic = 0x4345'524b;              // "KREC"
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kHeaderBytes = 4096;  // superblock; each group's header

enum Kind : std::uint8_t { kPut = 1, kTombstone = 2 };

// CRC-32 (zlib's) of `bytes`: every header and record carries one.
std::uint32_t checksum(std::string_view bytes);

struct Record {
  std::uint64_t seq = 0;
  std::uint32_t generation = 0;
  Kind kind = kPut;
  std::string_view key;
  std::string_view value;
};

enum class Parse { ok, empty, corrupt };

// Parses the record at the start of `block`: empty when there is none (or
// it is from another generation), corrupt when its checksum or lengths
// are wrong.
Parse parse_record(std::string_view block, std::uint32_t generation, Record& out);
// Writes `rec` at the start of a block of `block_size` bytes (the rest zeroed).
void encode_record(char* block, std::uint32_t block_size, const Record& rec);

}  // namespace kapok::record_format
