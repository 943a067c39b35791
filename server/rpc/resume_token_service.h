#pragma once

// gRPC adapter: flowmonkey.v1.ResumeTokens served over a ResumeTokens interface.

#include "core/resume_tokens.h"
#include "flowmonkey/v1/resume_token.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class ResumeTokenService final : public v1::ResumeTokens::CallbackService {
 public:
  ResumeTokenService(ResumeTokens& store, Executor& executor)
      : store_(store), executor_(executor) {}

  grpc::ServerUnaryReactor* Generate(grpc::CallbackServerContext* c,
                                     const v1::GenerateResumeTokenRequest* req,
                                     v1::GenerateResumeTokenResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c,
                                const v1::GetResumeTokenRequest* req,
                                v1::GetResumeTokenResponse* resp) override;
  grpc::ServerUnaryReactor* Validate(grpc::CallbackServerContext* c,
                                     const v1::ValidateResumeTokenRequest* req,
                                     v1::ValidateResumeTokenResponse* resp) override;
  grpc::ServerUnaryReactor* MarkUsed(grpc::CallbackServerContext* c,
                                     const v1::MarkResumeTokenUsedRequest* req,
                                     v1::MarkResumeTokenUsedResponse* resp) override;
  grpc::ServerUnaryReactor* Revoke(grpc::CallbackServerContext* c,
                                   const v1::RevokeResumeTokenRequest* req,
                                   v1::RevokeResumeTokenResponse* resp) override;
  grpc::ServerUnaryReactor* ListByExecution(grpc::CallbackServerContext* c,
                                            const v1::ListResumeTokensByExecutionRequest* req,
                                            v1::ListResumeTokensByExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* CleanupExpired(grpc::CallbackServerContext* c,
                                           const v1::CleanupExpiredResumeTokensRequest* req,
                                           v1::CleanupExpiredResumeTokensResponse* resp) override;

 private:
  ResumeTokens& store_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
