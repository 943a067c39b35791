// Server reflection through grpc.reflection.v1 (what current grpcurl asks for first), next
// to gRPC's own v1alpha.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

using grpc::reflection::v1::ServerReflection;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

class ReflectionV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = Server::Start(TestServerOptions(TestDatabase::Instance().NewPrefix()));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = ServerReflection::NewStub(InsecureChannelTo(server_->port()));
    stream_ = stub_->ServerReflectionInfo(&context_);
  }

  ServerReflectionResponse Ask(const ServerReflectionRequest& request) {
    EXPECT_TRUE(stream_->Write(request));
    ServerReflectionResponse response;
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  // The file names in a file_descriptor_response.
  static std::vector<std::string> FileNames(const ServerReflectionResponse& response) {
    std::vector<std::string> names;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  void TearDown() override {
    if (stream_ != nullptr) {
      stream_->WritesDone();
      EXPECT_TRUE(stream_->Finish().ok());
    }
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest, ServerReflectionResponse>>
      stream_;
};

TEST_F(ReflectionV1, ListsTheServices) {
  ServerReflectionRequest request;
  request.set_list_services("*");
  const ServerReflectionResponse response = Ask(request);
  ASSERT_TRUE(response.has_list_services_response()) << response.DebugString();
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.insert(service.name());
  }
  for (const char* name :
       {"flowmonkey.v1.ExecutionStore", "flowmonkey.v1.JobStore", "flowmonkey.v1.ContextStorage",
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  EXPECT_EQ(response.original_request().list_services(), "*");
}

TEST_F(ReflectionV1, DescribesASymbolOnceWithItsDependencies) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol("flowmonkey.v1.JobStore.Claim");
  const std::vector<std::string> first = FileNames(Ask(request));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0], "flowmonkey/v1/job.proto");
  // The same file again: already sent on this stream.
  request.set_file_containing_symbol("flowmonkey.v1.ClaimJobRequest");
  const ServerReflectionResponse again = Ask(request);
  EXPECT_TRUE(again.has_file_descriptor_response()) << again.DebugString();
  EXPECT_TRUE(FileNames(again).empty());
  request.set_file_by_filename("flowmonkey/v1/flow.proto");
  EXPECT_EQ(FileNames(Ask(request)), std::vector<std::string>{"flowmonkey/v1/flow.proto"});
}

TEST_F(ReflectionV1, UnknownNamesAreNotFoundOnTheStream) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol("no.such.Symbol");
  ServerReflectionResponse response = Ask(request);
  ASSERT_TRUE(response.has_error_response());
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_file_by_filename("no/such.proto");
  response = Ask(request);
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_all_extension_numbers_of_type("flowmonkey.v1.Job");
  response = Ask(request);
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "flowmonkey.v1.Job");
}

}  // namespace
}  // namespace flowmonkey::testing
