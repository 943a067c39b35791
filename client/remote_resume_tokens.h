#pragma once

// ResumeTokens over gRPC: the same interface as the PostgreSQL store, served remotely.
// Retried on UNAVAILABLE: reads, Revoke and CleanupExpired. Never retried: Generate (a
// repeat would mint a second token) and MarkUsed (a repeat after a lost reply would report
// the caller's own use as "already used").

#include <grpcpp/grpcpp.h>

#include <memory>

#include "client/call.h"
#include "core/resume_tokens.h"
#include "flowmonkey/v1/resume_token.grpc.pb.h"

namespace flowmonkey::client {

class RemoteResumeTokens : public ResumeTokens {
 public:
  RemoteResumeTokens(std::shared_ptr<grpc::Channel> channel, CallOptions options);

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
  std::unique_ptr<v1::ResumeTokens::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
