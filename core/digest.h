#pragma once

// Hashing and randomness from OpenSSL, for derived ids and secret tokens.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flowmonkey {

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(absl::string_view data);

// `bytes` bytes from OpenSSL's CSPRNG; INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomBytes(int bytes);

// RFC 4648 §5 base64url without padding.
std::string Base64UrlEncode(absl::string_view data);

}  // namespace flowmonkey
