#pragma once

// Resume tokens shared by every ResumeTokens implementation: how a token is made and
// hashed, what a well-formed one looks like, and the text form of its status in storage.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/resume_token.pb.h"

namespace flowmonkey {

inline constexpr int64_t kDefaultResumeTokenExpiryMs = 7LL * 24 * 60 * 60 * 1000;
inline constexpr int64_t kMaxResumeTokenExpiryMs = 365LL * 24 * 60 * 60 * 1000;
inline constexpr int kResumeTokenBytes = 32;
inline constexpr size_t kResumeTokenLength = 43;  // base64url of 32 bytes, unpadded

// 256 bits from OpenSSL's CSPRNG, base64url without padding.
absl::StatusOr<std::string> NewResumeToken();
// What is stored instead of the token: its hex SHA-256.
std::string ResumeTokenHash(absl::string_view token);
// A token as NewResumeToken makes them; INVALID_ARGUMENT naming `field` otherwise.
absl::Status ValidateResumeToken(absl::string_view token, absl::string_view field);
// A stored id: 64 lower-case hex characters.
absl::Status ValidateResumeTokenId(absl::string_view id, absl::string_view field);
absl::Status ValidateGenerateResumeToken(const v1::GenerateResumeTokenRequest& request);
absl::Status ValidateMarkResumeTokenUsed(const v1::MarkResumeTokenUsedRequest& request);
// Exactly one of token and token_id, well formed; returns the stored id (the hash).
absl::StatusOr<std::string> RevokedTokenId(const v1::RevokeResumeTokenRequest& request);

// "pending", "used", "revoked", "expired" as stored.
std::optional<std::string_view> ResumeTokenStatusName(v1::ResumeTokenStatus status);
v1::ResumeTokenStatus ResumeTokenStatusFromName(std::string_view name);

// Why a stored token cannot be used at `now` ("used", "revoked", "expired"), or nullopt
// when it can.
std::optional<std::string_view> ResumeTokenUnusableReason(const v1::ResumeToken& token,
                                                          int64_t now);

}  // namespace flowmonkey
