#pragma once

// grpc.reflection.v1.ServerReflection (proto/grpc/reflection/v1/reflection.proto), served
// beside gRPC 1.51's own v1alpha plugin, which is all Debian 12 ships. Answers from the
// generated descriptor pool, the same one the v1alpha plugin reads, so both versions
// describe the same API:
//   list_services                  the services given at construction
//   file_by_filename               that file, then each file it depends on
//   file_containing_symbol         the file defining a service, method, message, enum, ...
//   file_containing_extension      the file defining an extension
//   all_extension_numbers_of_type  the extension numbers known for a message type
// A file already sent on the stream is not sent again. Unknown names are answered with an
// error_response NOT_FOUND on the stream (the call itself stays OK), a request naming
// nothing with INVALID_ARGUMENT.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace flowmonkey {

class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: full names ("flowmonkey.v1.JobStore") that list_services reports.
  explicit ReflectionV1Service(std::vector<std::string> services)
      : services_(std::move(services)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace flowmonkey
