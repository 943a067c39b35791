#include "client/remote_resume_tokens.h"

#include "client/request_id.h"

namespace flowmonkey::client {

RemoteResumeTokens::RemoteResumeTokens(std::shared_ptr<grpc::Channel> channel, CallOptions options)
    : stub_(v1::ResumeTokens::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::StatusOr<v1::GenerateResumeTokenResponse> RemoteResumeTokens::Generate(
    const v1::GenerateResumeTokenRequest& request) {
  const v1::GenerateResumeTokenRequest call = WithRequestId(request);
  return UnaryCall<v1::GenerateResumeTokenRequest, v1::GenerateResumeTokenResponse>(
      options_, call.has_request_id() ? Retry::kIdempotent : Retry::kOnce, call,
      [this](grpc::ClientContext* c, const v1::GenerateResumeTokenRequest& r,
             v1::GenerateResumeTokenResponse* out) { return stub_->Generate(c, r, out); });
}

absl::StatusOr<v1::GetResumeTokenResponse> RemoteResumeTokens::Get(
    const v1::GetResumeTokenRequest& request) {
  return UnaryCall<v1::GetResumeTokenRequest, v1::GetResumeTokenResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetResumeTokenRequest& r,
             v1::GetResumeTokenResponse* out) { return stub_->Get(c, r, out); });
}

absl::StatusOr<v1::ValidateResumeTokenResponse> RemoteResumeTokens::Validate(
    const v1::ValidateResumeTokenRequest& request) {
  return UnaryCall<v1::ValidateResumeTokenRequest, v1::ValidateResumeTokenResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ValidateResumeTokenRequest& r,
             v1::ValidateResumeTokenResponse* out) { return stub_->Validate(c, r, out); });
}

absl::StatusOr<v1::MarkResumeTokenUsedResponse> RemoteResumeTokens::MarkUsed(
    const v1::MarkResumeTokenUsedRequest& request) {
  return UnaryCall<v1::MarkResumeTokenUsedRequest, v1::MarkResumeTokenUsedResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::MarkResumeTokenUsedRequest& r,
             v1::MarkResumeTokenUsedResponse* out) { return stub_->MarkUsed(c, r, out); });
}

absl::StatusOr<v1::RevokeResumeTokenResponse> RemoteResumeTokens::Revoke(
    const v1::RevokeResumeTokenRequest& request) {
  return UnaryCall<v1::RevokeResumeTokenRequest, v1::RevokeResumeTokenResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::RevokeResumeTokenRequest& r,
             v1::RevokeResumeTokenResponse* out) { return stub_->Revoke(c, r, out); });
}

absl::StatusOr<v1::ListResumeTokensByExecutionResponse> RemoteResumeTokens::ListByExecution(
    const v1::ListResumeTokensByExecutionRequest& request) {
  return UnaryCall<v1::ListResumeTokensByExecutionRequest, v1::ListResumeTokensByExecutionResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListResumeTokensByExecutionRequest& r,
             v1::ListResumeTokensByExecutionResponse* out) {
        return stub_->ListByExecution(c, r, out);
      });
}

absl::StatusOr<v1::CleanupExpiredResumeTokensResponse> RemoteResumeTokens::CleanupExpired(
    const v1::CleanupExpiredResumeTokensRequest& request) {
  return UnaryCall<v1::CleanupExpiredResumeTokensRequest, v1::CleanupExpiredResumeTokensResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::CleanupExpiredResumeTokensRequest& r,
             v1::CleanupExpiredResumeTokensResponse* out) {
        return stub_->CleanupExpired(c, r, out);
      });
}

}  // namespace flowmonkey::client
