#pragma once

// ResumeTokens: single-use secrets that resume a paused execution (seed:
// PgResumeTokenManager). Implemented by the PostgreSQL store (server/pg) and the gRPC client
// (client/); both pass tests/conformance/resume_tokens_test.cc. Requests and responses are
// the generated messages of proto/flowmonkey/v1/resume_token.proto, whose comments are the
// contract of each method. No method throws.
//
// Only a SHA-256 of each token is ever stored. Status codes, beyond those named per method:
// INVALID_ARGUMENT for malformed input (including a token that is not 43 base64url
// characters), UNAVAILABLE when the database cannot be reached, DEADLINE_EXCEEDED.

#include "absl/status/statusor.h"
#include "flowmonkey/v1/resume_token.pb.h"

namespace flowmonkey {

class ResumeTokens {
 public:
  virtual ~ResumeTokens() = default;

  // A new pending token; NOT_FOUND when the execution does not exist.
  virtual absl::StatusOr<v1::GenerateResumeTokenResponse> Generate(
      const v1::GenerateResumeTokenRequest& request) = 0;
  // NOT_FOUND when unknown.
  virtual absl::StatusOr<v1::GetResumeTokenResponse> Get(
      const v1::GetResumeTokenRequest& request) = 0;
  // {valid, reason}; reason is "not_found", "used", "revoked" or "expired".
  virtual absl::StatusOr<v1::ValidateResumeTokenResponse> Validate(
      const v1::ValidateResumeTokenRequest& request) = 0;
  // Exactly one of concurrent calls succeeds; the others get FAILED_PRECONDITION.
  virtual absl::StatusOr<v1::MarkResumeTokenUsedResponse> MarkUsed(
      const v1::MarkResumeTokenUsedRequest& request) = 0;
  virtual absl::StatusOr<v1::RevokeResumeTokenResponse> Revoke(
      const v1::RevokeResumeTokenRequest& request) = 0;
  virtual absl::StatusOr<v1::ListResumeTokensByExecutionResponse> ListByExecution(
      const v1::ListResumeTokensByExecutionRequest& request) = 0;
  virtual absl::StatusOr<v1::CleanupExpiredResumeTokensResponse> CleanupExpired(
      const v1::CleanupExpiredResumeTokensRequest& request) = 0;
};

}  // namespace flowmonkey
