// SPDX-License-Identifier: GPL-2.0-or-later
//
// The binary encoding of every Converge RPC: little-endian fixed-width
// integers and length-prefixed byte strings. A Reader never reads past its
// input; a short or malformed message throws wire::Error, which servers turn
// into an error reply instead of a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace converge::wire {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { fixed(v); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void bytes(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    out_.append(v);
  }
  void raw(std::string_view v) { out_.append(v); }

  const std::string& data() const { return out_; }
  std::string take() { return std::move(out_); }
  std::size_t size() const { return out_.size(); }

 private:
  template <typename T>
  void fixed(T v) {
    char buffer[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i)
      buffer[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(buffer, sizeof(T));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint16_t u16() { return fixed<std::uint16_t>(); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  bool boolean() { return u8() != 0; }
  std::string_view bytes() { return take(u32()); }
  std::string string() { return std::string(bytes()); }
  std::string_view raw(std::size_t n) { return take(n); }

  std::size_t remaining() const { return in_.size(); }
  void expect_end() const {
    if (!in_.empty()) throw Error("trailing bytes in message");
  }

 private:
  std::string_view take(std::size_t n) {
    if (n > in_.size()) throw Error("message too short");
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }
  template <typename T>
  T fixed() {
    std::string_view b = take(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<T>(static_cast<unsigned char>(b[i])) << (8 * i);
    return v;
  }
  std::string_view in_;
};

}  // namespace converge::wire
