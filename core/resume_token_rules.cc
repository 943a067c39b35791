#include "core/resume_token_rules.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/validation.h"

namespace flowmonkey {
namespace {

constexpr std::array<std::pair<v1::ResumeTokenStatus, std::string_view>, 4>
    kResumeTokenStatusNames = {{
        {v1::RESUME_TOKEN_STATUS_PENDING, "pending"},
        {v1::RESUME_TOKEN_STATUS_USED, "used"},
        {v1::RESUME_TOKEN_STATUS_REVOKED, "revoked"},
        {v1::RESUME_TOKEN_STATUS_EXPIRED, "expired"},
    }};

}  // namespace

absl::StatusOr<std::string> NewResumeToken() {
  absl::StatusOr<std::string> bytes = RandomBytes(kResumeTokenBytes);
  if (!bytes.ok()) return bytes.status();
  return Base64UrlEncode(*bytes);
}

std::string ResumeTokenHash(absl::string_view token) { return Sha256Hex(token); }

absl::Status ValidateResumeToken(absl::string_view token, absl::string_view field) {
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  bool ok = token.size() == kResumeTokenLength;
  for (char c : token) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": not a resume token (43 base64url characters)"));
}

absl::Status ValidateResumeTokenId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  bool ok = id.size() == 64;
  for (char c : id) ok = ok && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": not a resume token id"));
}

absl::Status ValidateGenerateResumeToken(const v1::GenerateResumeTokenRequest& r) {
  if (auto s = ValidateId(r.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(r.step_id(), "step_id"); !s.ok()) return s;
  if (r.expires_in_ms() < 0 || r.expires_in_ms() > kMaxResumeTokenExpiryMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("expires_in_ms: must be between 0 (default) and ", kMaxResumeTokenExpiryMs));
  }
  return ValidateJson(r.metadata_json(), "metadata_json", JsonKind::kObject);
}

absl::Status ValidateMarkResumeTokenUsed(const v1::MarkResumeTokenUsedRequest& request) {
  return ValidateResumeToken(request.token(), "token");
}

absl::StatusOr<std::string> RevokedTokenId(const v1::RevokeResumeTokenRequest& request) {
  if (request.token().empty() == request.token_id().empty()) {
    return absl::InvalidArgumentError("token: exactly one of token and token_id is required");
  }
  if (!request.token().empty()) {
    if (auto s = ValidateResumeToken(request.token(), "token"); !s.ok()) return s;
    return ResumeTokenHash(request.token());
  }
  if (auto s = ValidateResumeTokenId(request.token_id(), "token_id"); !s.ok()) return s;
  return request.token_id();
}

std::optional<std::string_view> ResumeTokenStatusName(v1::ResumeTokenStatus status) {
  for (const auto& [value, name] : kResumeTokenStatusNames) {
    if (value == status) return name;
  }
  return std::nullopt;
}

v1::ResumeTokenStatus ResumeTokenStatusFromName(std::string_view name) {
  for (const auto& [value, n] : kResumeTokenStatusNames) {
    if (n == name) return value;
  }
  return v1::RESUME_TOKEN_STATUS_UNSPECIFIED;
}

std::optional<std::string_view> ResumeTokenUnusableReason(const v1::ResumeToken& token,
                                                          int64_t now) {
  switch (token.status()) {
    case v1::RESUME_TOKEN_STATUS_USED:
      return "used";
    case v1::RESUME_TOKEN_STATUS_REVOKED:
      return "revoked";
    case v1::RESUME_TOKEN_STATUS_EXPIRED:
      return "expired";
    default:
      break;
  }
  if (token.expires_at() <= now) return "expired";
  return std::nullopt;
}

}  // namespace flowmonkey
