#pragma once

// A request gRPC cannot parse into its message (malformed bytes, or a proto3 string field
// holding invalid UTF-8) never reaches a service: gRPC answers UNIMPLEMENTED with no
// message, which reads as "no such method". This interceptor turns that answer, for the
// methods this server does implement, into INVALID_ARGUMENT with a message that says why.

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace flowmonkey::rpc {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ParseErrorInterceptorFactory();

}  // namespace flowmonkey::rpc
