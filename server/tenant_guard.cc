#include "server/tenant_guard.h"

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/resume_token_rules.h"
#include "flowmonkey/v1/execution.pb.h"
#include "flowmonkey/v1/flow.pb.h"

namespace flowmonkey {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kExecutionType[] = "flowmonkey.v1.Execution";
constexpr char kFlowType[] = "flowmonkey.v1.Flow";

using Kind = pg::OwnedKind;
constexpr Kind kExecution = Kind::kExecution;
constexpr Kind kJob = Kind::kJob;
constexpr Kind kToken = Kind::kToken;

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kExecution:
      return "execution";
    case Kind::kJob:
      return "job";
    case Kind::kToken:
      return "resume token";
  }
  return "record";
}

// A record a request or response names.
struct Reference {
  Kind kind;
  std::string id;
  // The Execution a write carries: it may be new.
  bool written = false;
  // Where a request carries a token, so a read of another tenant's can be narrowed to one
  // that matches nothing.
  Message* message = nullptr;
  const FieldDescriptor* field = nullptr;
};

absl::StatusOr<pg::RecordOwners> LookUpOwners(pg::Owners& owners,
                                              const std::vector<Reference>& references) {
  std::vector<std::pair<Kind, std::string>> records;
  records.reserve(references.size());
  for (const Reference& reference : references) records.emplace_back(reference.kind, reference.id);
  return owners.OfRecords(records);
}

absl::Status OutOfScope(const rpc::Method& method, Kind kind, const std::string& id) {
  if (method.reads())
    return absl::NotFoundError(absl::StrCat(KindName(kind), " ", id, " not found"));
  return absl::PermissionDeniedError(
      absl::StrCat(KindName(kind), " ", id, " belongs to another tenant"));
}

// Collects what `message` names (fields and nested flowmonkey messages) and narrows its
// tenant fields to `tenant`. `scoped` turns true when anything confines the request.
class RequestScan {
 public:
  explicit RequestScan(const std::string& tenant) : tenant_(tenant) {}

  absl::Status Scan(Message& message, bool top) {
    const Reflection* reflection = message.GetReflection();
    const auto* descriptor = message.GetDescriptor();
    if (descriptor->full_name() == kExecutionType) return ScanExecution(message);
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (field->is_repeated()) {
          for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
            if (auto s = Scan(*reflection->MutableRepeatedMessage(&message, field, k), false);
                !s.ok()) {
              return s;
            }
          }
        } else if (reflection->HasField(message, field)) {
          if (auto s = Scan(*reflection->MutableMessage(&message, field), false); !s.ok()) {
            return s;
          }
        }
        continue;
      }
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) continue;
      const std::string& name = field->name();
      if (field->is_repeated()) {
        if (name == "job_ids") {
          for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
            Name(kJob, reflection->GetRepeatedString(message, field, k));
          }
        }
        continue;
      }
      const std::string value = reflection->GetString(message, field);
      if (name == "tenant_id" && top) {
        if (!value.empty() && value != tenant_) return ForeignTenant(value);
        reflection->SetString(&message, field, tenant_);
        scoped_ = true;
      } else if (name == "execution_id" || name == "parent_execution_id") {
        Name(kExecution, value);
      } else if (name == "job_id") {
        Name(kJob, value);
      } else if (name == "token") {
        if (!value.empty()) {
          Name(kToken, ResumeTokenHash(value));
          references_.back().message = &message;
          references_.back().field = field;
        }
      } else if (name == "token_id") {
        Name(kToken, value);
      }
    }
    return absl::OkStatus();
  }

  bool scoped() const { return scoped_; }
  const std::vector<Reference>& references() const { return references_; }

 private:
  absl::Status ScanExecution(Message& message) {
    auto& execution = static_cast<v1::Execution&>(message);
    if (execution.has_tenant_id() && execution.tenant_id() != tenant_) {
      return ForeignTenant(execution.tenant_id());
    }
    execution.set_tenant_id(tenant_);
    scoped_ = true;
    if (!execution.id().empty()) references_.push_back({kExecution, execution.id(), true});
    if (!execution.parent_execution_id().empty()) {
      references_.push_back({kExecution, execution.parent_execution_id(), true});
    }
    return absl::OkStatus();
  }

  void Name(Kind kind, const std::string& id) {
    if (id.empty()) return;
    references_.push_back({kind, id});
    scoped_ = true;
  }

  absl::Status ForeignTenant(const std::string& value) const {
    return absl::PermissionDeniedError(
        absl::StrCat("tenant_id: ", value, " is not the tenant of this API key"));
  }

  const std::string& tenant_;
  std::vector<Reference> references_;
  bool scoped_ = false;
};

// Walks the records of a response: executions (by tenant_id), records of an execution (by
// execution_id) and execution id lists. `keep` decides each; dropped list entries are
// removed, a dropped single record is returned as `rejected`.
class ResponseScreen {
 public:
  // Execution ids the response names outside `visible`, to be looked up.
  static void CollectUnknown(const Message& message, const rpc::CallScope& scope,
                             std::vector<Reference>& unknown) {
    const Reflection* reflection = message.GetReflection();
    const auto* descriptor = message.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (field->is_repeated()) {
          for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
            CollectUnknown(reflection->GetRepeatedMessage(message, field, k), scope, unknown);
          }
        } else if (reflection->HasField(message, field)) {
          CollectUnknown(reflection->GetMessage(message, field), scope, unknown);
        }
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
                 (field->name() == "execution_id" || field->name() == "execution_ids")) {
        auto add = [&](const std::string& id) {
          if (!id.empty() && !scope.visible_executions.contains(id)) {
            unknown.push_back({kExecution, id});
          }
        };
        if (field->is_repeated()) {
          for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
            add(reflection->GetRepeatedString(message, field, k));
          }
        } else {
          add(reflection->GetString(message, field));
        }
      }
    }
  }

  // True when `message` itself lies in scope; prunes its lists either way.
  static bool Prune(Message& message, const std::function<bool(const std::string&)>& visible,
                    const std::string& tenant) {
    const Reflection* reflection = message.GetReflection();
    const auto* descriptor = message.GetDescriptor();
    if (descriptor->full_name() == kExecutionType) {
      return static_cast<const v1::Execution&>(message).tenant_id() == tenant &&
             static_cast<const v1::Execution&>(message).has_tenant_id();
    }
    bool in_scope = true;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (field->is_repeated()) {
          KeepIf(message, field, [&](int k) {
            return Prune(*reflection->MutableRepeatedMessage(&message, field, k), visible, tenant);
          });
        } else if (reflection->HasField(message, field) &&
                   !Prune(*reflection->MutableMessage(&message, field), visible, tenant)) {
          in_scope = false;
        }
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
                 (field->name() == "execution_id" || field->name() == "execution_ids")) {
        if (field->is_repeated()) {
          KeepIf(message, field,
                 [&](int k) { return visible(reflection->GetRepeatedString(message, field, k)); });
        } else {
          const std::string id = reflection->GetString(message, field);
          if (!id.empty() && !visible(id)) in_scope = false;
        }
      }
    }
    return in_scope;
  }

 private:
  // Keeps the elements of a repeated field for which keep(index) is true, in order.
  static void KeepIf(Message& message, const FieldDescriptor* field,
                     const std::function<bool(int)>& keep) {
    const Reflection* reflection = message.GetReflection();
    const int size = reflection->FieldSize(message, field);
    int kept = 0;
    for (int k = 0; k < size; ++k) {
      if (!keep(k)) continue;
      if (k != kept) reflection->SwapElements(&message, field, kept, k);
      ++kept;
    }
    for (int k = kept; k < size; ++k) reflection->RemoveLast(&message, field);
  }
};

// The flow a FlowStore request names: its `flow_id`, or the id of the Flow it carries.
// nullopt when it names none (such a write needs an operator key).
std::optional<std::string> FlowIdOf(const Message& request) {
  const Reflection* reflection = request.GetReflection();
  const auto* descriptor = request.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) continue;
    if (field->name() == "flow_id" && field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      return reflection->GetString(request, field);
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        field->message_type()->full_name() == kFlowType) {
      return static_cast<const v1::Flow&>(reflection->GetMessage(request, field)).id();
    }
  }
  return std::nullopt;
}

}  // namespace

TenantGuard::TenantGuard(const rpc::Authenticator& authenticator, pg::ConnectionPool& pool)
    : authenticator_(authenticator), owners_(pool) {}

absl::StatusOr<rpc::CallScope> TenantGuard::ScopeOf(const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> tenant = authenticator_.TenantOf(context);
  if (!tenant.ok()) return tenant.status();
  rpc::CallScope scope;
  if (*tenant != rpc::kAnyTenant) scope.tenant = *std::move(tenant);
  return scope;
}

absl::Status TenantGuard::AdmitFlowWrite(const rpc::CallScope& scope, const rpc::Method& method,
                                         const google::protobuf::Message& request) {
  const std::optional<std::string> flow_id = FlowIdOf(request);
  if (!flow_id.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat(method.name, " names no flow: it needs an operator key (tenant *)"));
  }
  if (flow_id->empty()) return absl::OkStatus();  // the store answers INVALID_ARGUMENT
  // Saving a version of a flow nobody owns yet makes the key's tenant its owner.
  const bool saves = request.GetDescriptor() == v1::SaveFlowRequest::descriptor();
  absl::StatusOr<pg::FlowOwner> owner =
      saves ? owners_.ClaimFlow(*flow_id, *scope.tenant) : owners_.OfFlow(*flow_id);
  if (!owner.ok()) return owner.status();
  switch (owner->kind) {
    case pg::FlowOwner::Kind::kNone:
      return absl::OkStatus();  // no such flow: the store answers as for anyone
    case pg::FlowOwner::Kind::kTenant:
      if (owner->tenant == *scope.tenant) return absl::OkStatus();
      return absl::PermissionDeniedError(
          absl::StrCat("flow ", *flow_id, " belongs to another tenant"));
    case pg::FlowOwner::Kind::kShared:
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("flow ", *flow_id,
                   " is shared by all tenants: only an operator key (tenant *) may change it"));
}

absl::Status TenantGuard::Admit(rpc::CallScope& scope, const rpc::Method& method,
                                google::protobuf::Message& request) {
  switch (method.policy.tenant_scope()) {
    case v1::FLOW_DEFINITIONS:
      return method.reads() ? absl::OkStatus() : AdmitFlowWrite(scope, method, request);
    case v1::SERVICE:
      return absl::OkStatus();
    case v1::TENANT_DATA:
      break;
    default:  // a method without a policy never reaches here (tests/unit/contract_test.cc)
      return absl::PermissionDeniedError(
          absl::StrCat(method.name, " declares no tenant scope: it needs an operator key"));
  }
  RequestScan scan(*scope.tenant);
  if (auto s = scan.Scan(request, true); !s.ok()) return s;
  if (!scan.scoped()) {
    return absl::PermissionDeniedError(absl::StrCat(
        method.name,
        " spans every tenant: it needs an operator key (tenant *), or name a tenant_id"));
  }
  if (scan.references().empty()) return absl::OkStatus();
  absl::StatusOr<pg::RecordOwners> owners = LookUpOwners(owners_, scan.references());
  if (!owners.ok()) return owners.status();
  // Executions the request itself writes (a commit may create one and then record its events
  // or create its jobs): naming one that does not exist yet is not an error.
  absl::flat_hash_set<std::string> written;
  for (const Reference& reference : scan.references()) {
    if (reference.written) written.insert(reference.id);
  }
  for (const Reference& reference : scan.references()) {
    const auto owner = owners->find(std::pair<Kind, std::string>{reference.kind, reference.id});
    if (owner == owners->end()) {
      if (reference.kind == kExecution && !written.contains(reference.id) && !method.reads() &&
          !method.removes()) {
        return absl::NotFoundError(absl::StrCat("execution ", reference.id, " not found"));
      }
      continue;
    }
    if (owner->second != scope.tenant) {
      // A read of another tenant's token answers exactly as for an unknown token (Validate:
      // OK, valid=false, not_found): it runs with a fresh random token, which no row has.
      if (method.reads() && reference.field != nullptr) {
        absl::StatusOr<std::string> unknown = NewResumeToken();
        if (!unknown.ok()) return unknown.status();
        reference.message->GetReflection()->SetString(reference.message, reference.field,
                                                      *std::move(unknown));
        continue;
      }
      // The id of a token is a hash, never the token itself, in any message.
      return OutOfScope(method, reference.kind,
                        reference.kind == kToken ? "(token)" : reference.id);
    }
    if (reference.kind == kExecution) scope.visible_executions.insert(reference.id);
  }
  return absl::OkStatus();
}

absl::Status TenantGuard::Screen(const rpc::CallScope& scope, const rpc::Method& method,
                                 google::protobuf::Message& response) {
  if (method.policy.tenant_scope() != v1::TENANT_DATA) return absl::OkStatus();
  std::vector<Reference> unknown;
  ResponseScreen::CollectUnknown(response, scope, unknown);
  pg::RecordOwners owners;
  if (!unknown.empty()) {
    absl::StatusOr<pg::RecordOwners> found = LookUpOwners(owners_, unknown);
    if (!found.ok()) return found.status();
    owners = *std::move(found);
  }
  auto visible = [&](const std::string& id) {
    if (scope.visible_executions.contains(id)) return true;
    const auto owner = owners.find(std::pair<Kind, std::string>{kExecution, id});
    return owner != owners.end() && owner->second == scope.tenant;
  };
  if (!ResponseScreen::Prune(response, visible, *scope.tenant)) {
    return method.reads() ? absl::NotFoundError("not found")
                          : absl::PermissionDeniedError("belongs to another tenant");
  }
  return absl::OkStatus();
}

}  // namespace flowmonkey
