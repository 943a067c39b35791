#pragma once

// ResumeTokens on PostgreSQL (seed: PgResumeTokenManager), keyed by the token's SHA-256:
// the token itself never reaches the database. MarkUsed is one conditional UPDATE, so of
// concurrent calls exactly one finds the row still pending.

#include "core/resume_tokens.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgResumeTokenStore : public ResumeTokens {
 public:
  // Registers its statements with `pool`, which must outlive the store.
  explicit PgResumeTokenStore(ConnectionPool& pool);

  absl::StatusOr<v1::GenerateResumeTokenResponse> Generate(
      const v1::GenerateResumeTokenRequest& request) override;
  absl::StatusOr<v1::GetResumeTokenResponse> Get(const v1::GetResumeTokenRequest& request) override;
  absl::StatusOr<v1::ValidateResumeTokenResponse> Validate(
      const v1::ValidateResumeTokenRequest& request) override;
  absl::StatusOr<v1::MarkResumeTokenUsedResponse> MarkUsed(
      const v1::MarkResumeTokenUsedRequest& request) override;
  absl::StatusOr<v1::RevokeResumeTokenResponse> Revoke(
      const v1::RevokeResumeTokenRequest& request) override;
  absl::StatusOr<v1::ListResumeTokensByExecutionResponse> ListByExecution(
      const v1::ListResumeTokensByExecutionRequest& request) override;
  absl::StatusOr<v1::CleanupExpiredResumeTokensResponse> CleanupExpired(
      const v1::CleanupExpiredResumeTokensRequest& request) override;

 private:
  // The stored token with this hash, if any.
  absl::StatusOr<std::optional<v1::ResumeToken>> Find(const std::string& hash);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
