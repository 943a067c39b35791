#include "server/rpc/parse_errors.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace flowmonkey::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// True when `path` ("/package.Service/Method") names a method of a compiled-in service.
bool IsKnownMethod(const std::string& path) {
  if (path.size() < 2 || path[0] != '/') return false;
  const std::string name = absl::StrReplaceAll(path.substr(1), {{"/", "."}});
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name) != nullptr;
}

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ParseErrorInterceptor(bool known_method) : known_method_(known_method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (known_method_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "request: cannot be parsed (malformed message, or a string field that is not "
            "valid UTF-8)"));
      }
    }
    methods->Proceed();
  }

 private:
  const bool known_method_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ParseErrorInterceptor(info->method() != nullptr && IsKnownMethod(info->method()));
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ParseErrorInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace flowmonkey::rpc
