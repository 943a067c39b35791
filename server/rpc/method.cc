#include "server/rpc/method.h"

#include <cstdlib>
#include <memory>

#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"

// Linked so that the descriptors of every service are in the generated pool.
#include "flowmonkey/v1/admin.pb.h"
#include "flowmonkey/v1/context.pb.h"
#include "flowmonkey/v1/event.pb.h"
#include "flowmonkey/v1/execution.pb.h"
#include "flowmonkey/v1/flow.pb.h"
#include "flowmonkey/v1/job.pb.h"
#include "flowmonkey/v1/resume_token.pb.h"

namespace flowmonkey::rpc {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

// One message type per contract file, so that its descriptor is loaded.
const FileDescriptor* const kContractFiles[] = {
    v1::GetSchemaVersionRequest::descriptor()->file(),
    v1::ContextValue::descriptor()->file(),
    v1::Event::descriptor()->file(),
    v1::Execution::descriptor()->file(),
    v1::Flow::descriptor()->file(),
    v1::Job::descriptor()->file(),
    v1::ResumeToken::descriptor()->file(),
};

}  // namespace

const Method& Method::Named(std::string_view full_name) {
  static auto* mu = new absl::Mutex;
  static auto* methods = new absl::node_hash_map<std::string, Method>;
  absl::MutexLock lock(mu);
  auto it = methods->find(absl::string_view(full_name.data(), full_name.size()));
  if (it != methods->end()) return it->second;
  const google::protobuf::MethodDescriptor* descriptor =
      DescriptorPool::generated_pool()->FindMethodByName(std::string(full_name));
  if (descriptor == nullptr) {
    spdlog::critical("no method {} in the contract compiled into this binary", full_name);
    std::abort();
  }
  Method method{descriptor, absl::StrCat(descriptor->service()->name(), ".", descriptor->name()),
                descriptor->options().GetExtension(v1::policy)};
  return methods->emplace(std::string(full_name), std::move(method)).first->second;
}

std::vector<std::string> ContractServices() {
  std::vector<std::string> names;
  for (const FileDescriptor* file : kContractFiles) {
    for (int i = 0; i < file->service_count(); ++i) names.push_back(file->service(i)->full_name());
  }
  return names;
}

std::vector<std::string> PolicyProblems(const FileDescriptor& file) {
  std::vector<std::string> problems;
  for (int s = 0; s < file.service_count(); ++s) {
    const google::protobuf::ServiceDescriptor* service = file.service(s);
    const v1::ServicePolicy& info = service->options().GetExtension(v1::service);
    if (info.cpp_interface().empty() || info.cpp_header().empty()) {
      problems.push_back(absl::StrCat(service->name(), ": no (service) option"));
    }
    for (int m = 0; m < service->method_count(); ++m) {
      const google::protobuf::MethodDescriptor* method = service->method(m);
      const std::string name = absl::StrCat(service->name(), ".", method->name());
      if (!method->options().HasExtension(v1::policy)) {
        problems.push_back(name + ": no (policy) option");
        continue;
      }
      const v1::MethodPolicy& p = method->options().GetExtension(v1::policy);
      if (p.access() == v1::ACCESS_UNSPECIFIED) problems.push_back(name + ": no access");
      if (p.tenant_scope() == v1::TENANT_SCOPE_UNSPECIFIED) {
        problems.push_back(name + ": no tenant_scope");
      }
      if (p.retry() == v1::RETRY_UNSPECIFIED) problems.push_back(name + ": no retry");
      if (p.retry() == v1::SAFE_WITH_KEY && p.retry_key().empty()) {
        problems.push_back(name + ": SAFE_WITH_KEY without retry_key");
      }
      if (p.retry() != v1::SAFE_WITH_KEY && (!p.retry_key().empty() || p.client_fills_key())) {
        problems.push_back(name + ": retry_key without SAFE_WITH_KEY");
      }
      if (p.access() == v1::READ && p.retry() != v1::SAFE) {
        problems.push_back(name + ": a read must be SAFE to retry");
      }
      if (p.raw_request() && !method->client_streaming()) {
        problems.push_back(name + ": raw_request on a method without a request stream");
      }
    }
  }
  return problems;
}

std::vector<std::string> MethodsWithoutPolicy() {
  std::vector<std::string> problems;
  for (const FileDescriptor* file : kContractFiles) {
    std::vector<std::string> more = PolicyProblems(*file);
    problems.insert(problems.end(), more.begin(), more.end());
  }
  return problems;
}

}  // namespace flowmonkey::rpc
