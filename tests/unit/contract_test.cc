// Every RPC of the contract declares its policy (proto/flowmonkey/v1/options.proto), and the
// server reads it from the descriptors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "server/rpc/method.h"

namespace flowmonkey::rpc {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(Contract, EveryMethodOfEveryServiceDeclaresAPolicy) {
  EXPECT_THAT(MethodsWithoutPolicy(), IsEmpty());
}

TEST(Contract, TheWalkCoversEveryService) {
  EXPECT_THAT(ContractServices(),
              UnorderedElementsAre("flowmonkey.v1.Admin", "flowmonkey.v1.ContextStorage",
                                   "flowmonkey.v1.EventStore", "flowmonkey.v1.ExecutionStore",
                                   "flowmonkey.v1.FlowStore", "flowmonkey.v1.JobStore",
                                   "flowmonkey.v1.ResumeTokens"));
}

// The walk itself: a file whose methods lack (or contradict) a policy is reported.
TEST(Contract, AMethodWithoutAPolicyIsReported) {
  google::protobuf::FileDescriptorProto proto;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "contract_test/fake.proto"
        package: "contract_test"
        dependency: "flowmonkey/v1/job.proto"
        dependency: "flowmonkey/v1/options.proto"
        service {
          name: "Fake"
          method {
            name: "Bare"
            input_type: ".flowmonkey.v1.GetJobRequest"
            output_type: ".flowmonkey.v1.GetJobResponse"
          }
          method {
            name: "ReadOnce"
            input_type: ".flowmonkey.v1.GetJobRequest"
            output_type: ".flowmonkey.v1.GetJobResponse"
            options {
              [flowmonkey.v1.policy] { access: READ tenant_scope: TENANT_DATA retry: ONCE }
            }
          }
          method {
            name: "Complete"
            input_type: ".flowmonkey.v1.GetJobRequest"
            output_type: ".flowmonkey.v1.GetJobResponse"
            options {
              [flowmonkey.v1.policy] { access: WRITE tenant_scope: TENANT_DATA retry: ONCE }
            }
          }
        }
      )pb",
      &proto));
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  const google::protobuf::FileDescriptor* file = pool.BuildFile(proto);
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(PolicyProblems(*file),
              ElementsAre("Fake: no (service) option", "Fake.Bare: no (policy) option",
                          "Fake.ReadOnce: a read must be SAFE to retry"));
}

// What the tenant guard, group commit and the logs see of a method comes from its options.
TEST(Contract, AMethodCarriesItsDeclaredPolicy) {
  const Method& claim = Method::Named("flowmonkey.v1.JobStore.Claim");
  EXPECT_EQ(claim.name, "JobStore.Claim");
  EXPECT_FALSE(claim.reads());
  EXPECT_EQ(claim.policy.retry(), v1::ONCE);
  const Method& remove = Method::Named("flowmonkey.v1.ExecutionStore.ReleaseLock");
  EXPECT_TRUE(remove.removes());
  EXPECT_EQ(&Method::Named("flowmonkey.v1.JobStore.Claim"), &claim);  // looked up once
  EXPECT_EQ(Method::Named("flowmonkey.v1.Admin.GetSchemaVersion").policy.tenant_scope(),
            v1::SERVICE);
}

}  // namespace
}  // namespace flowmonkey::rpc
