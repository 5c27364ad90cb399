// SPDX-License-Identifier: GPL-2.0-or-later
//
// Shuffles that spill: when a Context's exchange moves more bytes than the
// threshold (summed over all ranks), the data goes through files instead
// of MPI messages. Two ways, switchable so they can be compared:
//
//  - shared_file: all ranks write everything they send into one file, each
//    at the exclusive prefix sum of the byte counts before it (one
//    collective MPI-IO write), swap the offsets of their pieces, and read
//    what is theirs. One file per shuffle, deleted when the last rank
//    closes it.
//  - file_per_pair: the classic layout, one file per (sender, receiver)
//    pair with data, written with POSIX I/O and removed by its reader.
#pragma once

#include <cstdint>
#include <string>

namespace topo {

enum class SpillMode { off, shared_file, file_per_pair };

struct SpillSettings {
  SpillMode mode = SpillMode::off;
  std::string dir;              // where spill files go (a Kapok mount works)
  std::uint64_t threshold = 0;  // bytes over all ranks; 0: every exchange spills
};

// What this rank did to the file system, cumulative.
struct SpillStats {
  std::uint64_t shuffles = 0;       // exchanges that went through files
  std::uint64_t files_created = 0;  // by this rank
  std::uint64_t opens = 0;          // file opens (create included)
  std::uint64_t removals = 0;
  std::uint64_t bytes_written = 0;
};

SpillMode parse_spill_mode(const std::string& name);  // off|shared-file|file-per-pair
const char* spill_mode_name(SpillMode mode);

}  // namespace topo
