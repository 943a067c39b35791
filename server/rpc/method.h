#pragma once

// One RPC as the contract declares it: its name and its policy (proto/flowmonkey/v1/
// options.proto), read from the descriptors compiled into the binary. Everything that
// treats methods differently (the tenant guard, group commit, logs, metrics) asks this,
// never the method's name.

#include <string>
#include <string_view>
#include <vector>

#include "flowmonkey/v1/options.pb.h"
#include "google/protobuf/descriptor.h"

namespace flowmonkey::rpc {

struct Method {
  const google::protobuf::MethodDescriptor* descriptor;
  std::string name;  // "ExecutionStore.Save": logs and messages
  v1::MethodPolicy policy;

  bool reads() const { return policy.access() == v1::READ; }
  bool removes() const { return policy.access() == v1::REMOVE; }

  // The method of that full name ("flowmonkey.v1.ExecutionStore.Save"). Aborts the process
  // when the binary has no such method: the generated code names only methods it was
  // generated from, so this is a build error caught by the first call of any test.
  static const Method& Named(std::string_view full_name);
};

// The full names of the flowmonkey.v1 services compiled into this binary.
std::vector<std::string> ContractServices();

// What is missing or contradictory in the policies of the services of `file`, one line per
// problem ("Service.Method: what"); empty when every method declares a complete policy.
std::vector<std::string> PolicyProblems(const google::protobuf::FileDescriptor& file);

// PolicyProblems of every contract file compiled into this binary
// (tests/unit/contract_test.cc).
std::vector<std::string> MethodsWithoutPolicy();

}  // namespace flowmonkey::rpc
