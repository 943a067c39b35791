#include "server/reflection_v1.h"

#include <set>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace flowmonkey {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

const DescriptorPool& Pool() { return *DescriptorPool::generated_pool(); }

void SetError(ServerReflectionResponse& response, grpc::StatusCode code,
              const std::string& message) {
  response.mutable_error_response()->set_error_code(code);
  response.mutable_error_response()->set_error_message(message);
}

// `file` and, depth first, the files it imports; each at most once per stream (`sent`).
void AddFile(const FileDescriptor* file, std::set<std::string>& sent,
             ServerReflectionResponse& response) {
  if (!sent.insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  std::string* bytes = response.mutable_file_descriptor_response()->add_file_descriptor_proto();
  (void)proto.SerializeToString(bytes);  // cannot fail: the descriptor came from the pool
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), sent, response);
}

void AnswerFile(const FileDescriptor* file, const std::string& what, std::set<std::string>& sent,
                ServerReflectionResponse& response) {
  if (file == nullptr) {
    SetError(response, grpc::StatusCode::NOT_FOUND, what + " not found");
    return;
  }
  response.mutable_file_descriptor_response();  // present even when everything was sent
  AddFile(file, sent, response);
}

void Answer(const ServerReflectionRequest& request, const std::vector<std::string>& services,
            std::set<std::string>& sent, ServerReflectionResponse& response) {
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : services) {
        response.mutable_list_services_response()->add_service()->set_name(name);
      }
      return;
    case ServerReflectionRequest::kFileByFilename:
      AnswerFile(Pool().FindFileByName(request.file_by_filename()),
                 "file " + request.file_by_filename(), sent, response);
      return;
    case ServerReflectionRequest::kFileContainingSymbol:
      AnswerFile(Pool().FindFileContainingSymbol(request.file_containing_symbol()),
                 "symbol " + request.file_containing_symbol(), sent, response);
      return;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& ext = request.file_containing_extension();
      const auto* type = Pool().FindMessageTypeByName(ext.containing_type());
      const auto* field =
          type == nullptr ? nullptr : Pool().FindExtensionByNumber(type, ext.extension_number());
      AnswerFile(
          field == nullptr ? nullptr : field->file(),
          "extension " + std::to_string(ext.extension_number()) + " of " + ext.containing_type(),
          sent, response);
      return;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const auto* type = Pool().FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        SetError(response, grpc::StatusCode::NOT_FOUND,
                 "type " + request.all_extension_numbers_of_type() + " not found");
        return;
      }
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      Pool().FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const auto* extension : extensions) numbers->add_extension_number(extension->number());
      return;
    }
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      break;
  }
  SetError(response, grpc::StatusCode::INVALID_ARGUMENT, "request names nothing to reflect on");
}

}  // namespace

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext* /*context*/,
    grpc::ServerReaderWriter<ServerReflectionResponse, ServerReflectionRequest>* stream) {
  std::set<std::string> sent;
  ServerReflectionRequest request;
  while (stream->Read(&request)) {
    ServerReflectionResponse response;
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    Answer(request, services_, sent, response);
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace flowmonkey
