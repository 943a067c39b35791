#include "server/rpc/resume_token_service.h"

#include "server/rpc/unary.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* ResumeTokenService::Generate(grpc::CallbackServerContext* c,
                                                       const v1::GenerateResumeTokenRequest* req,
                                                       v1::GenerateResumeTokenResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::Generate, req, resp, "ResumeTokens.Generate");
}

grpc::ServerUnaryReactor* ResumeTokenService::Get(grpc::CallbackServerContext* c,
                                                  const v1::GetResumeTokenRequest* req,
                                                  v1::GetResumeTokenResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::Get, req, resp, "ResumeTokens.Get");
}

grpc::ServerUnaryReactor* ResumeTokenService::Validate(grpc::CallbackServerContext* c,
                                                       const v1::ValidateResumeTokenRequest* req,
                                                       v1::ValidateResumeTokenResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::Validate, req, resp, "ResumeTokens.Validate");
}

grpc::ServerUnaryReactor* ResumeTokenService::MarkUsed(grpc::CallbackServerContext* c,
                                                       const v1::MarkResumeTokenUsedRequest* req,
                                                       v1::MarkResumeTokenUsedResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::MarkUsed, req, resp, "ResumeTokens.MarkUsed");
}

grpc::ServerUnaryReactor* ResumeTokenService::Revoke(grpc::CallbackServerContext* c,
                                                     const v1::RevokeResumeTokenRequest* req,
                                                     v1::RevokeResumeTokenResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::Revoke, req, resp, "ResumeTokens.Revoke");
}

grpc::ServerUnaryReactor* ResumeTokenService::ListByExecution(
    grpc::CallbackServerContext* c, const v1::ListResumeTokensByExecutionRequest* req,
    v1::ListResumeTokensByExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::ListByExecution, req, resp,
               "ResumeTokens.ListByExecution");
}

grpc::ServerUnaryReactor* ResumeTokenService::CleanupExpired(
    grpc::CallbackServerContext* c, const v1::CleanupExpiredResumeTokensRequest* req,
    v1::CleanupExpiredResumeTokensResponse* resp) {
  return Serve(c, executor_, store_, &ResumeTokens::CleanupExpired, req, resp,
               "ResumeTokens.CleanupExpired");
}

}  // namespace flowmonkey::rpc
