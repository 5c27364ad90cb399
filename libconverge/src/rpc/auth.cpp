// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/auth.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace converge::rpc {
namespace {

std::runtime_error file_error(const std::string& what, const std::string& path) {
  return std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

JobSecret JobSecret::generate() {
  JobSecret s;
  std::size_t got = 0;
  while (got < kSize) {
    ssize_t n = getrandom(s.key_.data() + got, kSize - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("getrandom: {}", std::strerror(errno)));
    got += static_cast<std::size_t>(n);
  }
  return s;
}

JobSecret JobSecret::from_hex(std::string_view hex) {
  if (hex.size() != 2 * kSize) throw std::invalid_argument("job secret: expected 64 hex digits");
  JobSecret s;
  for (std::size_t i = 0; i < kSize; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("job secret: expected 64 hex digits");
    s.key_[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return s;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::string JobSecret::hex() const {
  return to_hex(std::string_view(reinterpret_cast<const char*>(key_.data()), key_.size()));
}

JobSecret JobSecret::load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw file_error("cannot open job secret", path);
  struct stat st {};
  std::string text(2 * kSize + 1, '\0');
  ssize_t n = -1;
  if (fstat(fd, &st) == 0) n = ::read(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  errno = err;
  if (n < 0) throw file_error("cannot read job secret", path);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    throw std::runtime_error(fmt::format(
        "job secret {} must be a regular file of uid {} with mode 0600", path, geteuid()));
  }
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return from_hex(text);
}

std::optional<JobSecret> JobSecret::from_environment() {
  const char* path = std::getenv(kFileVariable);
  if (!path || !*path) return std::nullopt;
  return load(path);
}

void JobSecret::save(const std::string& path) const {
  std::string temporary = path + ".XXXXXX";
  int fd = mkostemp(temporary.data(), O_CLOEXEC);  // mode 0600, a name no one could predict
  if (fd < 0) throw file_error("cannot write job secret", path);
  std::string text = hex() + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    errno = err;
    throw file_error("cannot write job secret", path);
  }
}

std::string JobSecret::prove(std::string_view label, std::string_view message) const {
  std::string input;
  input.reserve(label.size() + 1 + message.size());
  input.append(label).push_back('\0');
  input.append(message);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool JobSecret::verify(std::string_view label, std::string_view message,
                       std::string_view proof) const {
  std::string expected = prove(label, message);
  return proof.size() == expected.size() &&
         CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) == 0;
}

AuthSettings AuthSettings::for_this_process() {
  return AuthSettings{JobSecret::from_environment(), geteuid()};
}

const AuthSettings& default_auth() {
  static const AuthSettings settings = AuthSettings::for_this_process();
  return settings;
}

}  // namespace converge::rpc
