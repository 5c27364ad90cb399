// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/ready_proof.h"

#include <openssl/crypto.h>

#include <cctype>

namespace converge::rpc {
namespace {

constexpr std::string_view kLabel = "converge http ready";

}  // namespace

std::string ready_proof(const JobSecret& secret, std::string_view nonce) {
  return to_hex(secret.prove(kLabel, nonce));
}

bool ready_proof_matches(const JobSecret& secret, std::string_view nonce, std::string_view answer) {
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back())))
    answer.remove_suffix(1);
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.front())))
    answer.remove_prefix(1);
  const std::string expected = ready_proof(secret, nonce);
  return answer.size() == expected.size() &&
         CRYPTO_memcmp(answer.data(), expected.data(), expected.size()) == 0;
}

}  // namespace converge::rpc
