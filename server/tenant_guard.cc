#include "server/tenant_guard.h"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/resume_token_rules.h"
#include "flowmonkey/v1/execution.pb.h"
#include "server/pg/array_literal.h"
#include "server/pg/params.h"

namespace flowmonkey {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kExecutionType[] = "flowmonkey.v1.Execution";

// Owner of each execution, job and resume token (by hash) named, one round trip. Rows that
// do not exist are absent; an execution without a tenant has a NULL one.
constexpr pg::Statement kOwners{
    "tenant_owners",
    "SELECT 0, id, tenant_id FROM fm_executions WHERE id = ANY($1::text[])"
    " UNION ALL SELECT 1, j.id, e.tenant_id FROM fm_jobs j"
    " JOIN fm_executions e ON e.id = j.execution_id WHERE j.id = ANY($2::text[])"
    " UNION ALL SELECT 2, t.token_hash, e.tenant_id FROM fm_resume_tokens t"
    " JOIN fm_executions e ON e.id = t.execution_id WHERE t.token_hash = ANY($3::text[])"};

enum Kind { kExecution = 0, kJob = 1, kToken = 2 };
constexpr const char* kKindNames[] = {"execution", "job", "resume token"};

// A record a request or response names.
struct Reference {
  Kind kind;
  std::string id;
  // The Execution a write carries: it may be new.
  bool written = false;
};

using Owners = absl::flat_hash_map<std::pair<int, std::string>, std::optional<std::string>>;

absl::StatusOr<Owners> LookUpOwners(pg::ConnectionPool& pool,
                                    const std::vector<Reference>& references) {
  pg::ArrayLiteral ids[3];
  for (const Reference& reference : references) ids[reference.kind].Add(reference.id);
  pg::Params params;
  for (const pg::ArrayLiteral& array : ids) params.Add(array.str());
  return pool.Run<Owners>("look up tenants", [&](pg::Session& s) -> absl::StatusOr<Owners> {
    pqxx::nontransaction tx(s.connection());
    Owners owners;
    for (const auto& row : s.Exec(tx, kOwners, params)) {
      std::optional<std::string> tenant;
      if (!row[2].is_null()) tenant = row[2].c_str();
      owners[std::pair<int, std::string>(row[0].as<int>(), row[1].c_str())] = std::move(tenant);
    }
    return owners;
  });
}

std::string_view MethodOf(std::string_view rpc) {
  const size_t dot = rpc.rfind('.');
  return dot == std::string_view::npos ? rpc : rpc.substr(dot + 1);
}

bool IsRead(std::string_view rpc) {
  const absl::string_view method(MethodOf(rpc).data(), MethodOf(rpc).size());
  for (const char* prefix : {"Get", "Find", "List", "Query", "Validate", "Is", "Latest",
                             "Versions"}) {
    if (absl::StartsWith(method, prefix)) return true;
  }
  return false;
}

// Writes whose target may already be gone without that being an error.
bool IsRemoval(std::string_view rpc) {
  const absl::string_view method(MethodOf(rpc).data(), MethodOf(rpc).size());
  return absl::StartsWith(method, "Delete") || absl::StartsWith(method, "Release") ||
         absl::StartsWith(method, "Clear");
}

// Services whose data belongs to no tenant.
bool IsShared(std::string_view rpc) {
  const absl::string_view name(rpc.data(), rpc.size());
  return absl::StartsWith(name, "FlowStore.") || absl::StartsWith(name, "Admin.");
}

absl::Status OutOfScope(std::string_view rpc, Kind kind, const std::string& id) {
  if (IsRead(rpc)) return absl::NotFoundError(absl::StrCat(kKindNames[kind], " ", id, " not found"));
  return absl::PermissionDeniedError(
      absl::StrCat(kKindNames[kind], " ", id, " belongs to another tenant"));
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
        if (!value.empty()) Name(kToken, ResumeTokenHash(value));
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
          KeepIf(message, field, [&](int k) {
            return visible(reflection->GetRepeatedString(message, field, k));
          });
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

}  // namespace

TenantGuard::TenantGuard(const rpc::Authenticator& authenticator, pg::ConnectionPool& pool)
    : authenticator_(authenticator), pool_(pool) {
  pool_.Register(kOwners);
}

absl::StatusOr<rpc::CallScope> TenantGuard::ScopeOf(const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> tenant = authenticator_.TenantOf(context);
  if (!tenant.ok()) return tenant.status();
  rpc::CallScope scope;
  if (*tenant != rpc::kAnyTenant) scope.tenant = *std::move(tenant);
  return scope;
}

absl::Status TenantGuard::Admit(rpc::CallScope& scope, std::string_view rpc,
                                google::protobuf::Message& request) {
  if (IsShared(rpc)) return absl::OkStatus();
  RequestScan scan(*scope.tenant);
  if (auto s = scan.Scan(request, true); !s.ok()) return s;
  if (!scan.scoped()) {
    return absl::PermissionDeniedError(absl::StrCat(
        std::string(rpc), " spans every tenant: it needs an operator key (tenant *), or name a tenant_id"));
  }
  if (scan.references().empty()) return absl::OkStatus();
  absl::StatusOr<Owners> owners = LookUpOwners(pool_, scan.references());
  if (!owners.ok()) return owners.status();
  for (const Reference& reference : scan.references()) {
    const auto owner = owners->find(std::pair<int, std::string>{reference.kind, reference.id});
    if (owner == owners->end()) {
      if (reference.kind == kExecution && !reference.written && !IsRead(rpc) &&
          !IsRemoval(rpc)) {
        return absl::NotFoundError(absl::StrCat("execution ", reference.id, " not found"));
      }
      continue;
    }
    if (owner->second != scope.tenant) {
      // The id of a token is a hash, never the token itself, in any message.
      return OutOfScope(rpc, reference.kind, reference.kind == kToken ? "(token)" : reference.id);
    }
    if (reference.kind == kExecution) scope.visible_executions.insert(reference.id);
  }
  return absl::OkStatus();
}

absl::Status TenantGuard::Screen(const rpc::CallScope& scope, std::string_view rpc,
                                 google::protobuf::Message& response) {
  if (IsShared(rpc)) return absl::OkStatus();
  std::vector<Reference> unknown;
  ResponseScreen::CollectUnknown(response, scope, unknown);
  Owners owners;
  if (!unknown.empty()) {
    absl::StatusOr<Owners> found = LookUpOwners(pool_, unknown);
    if (!found.ok()) return found.status();
    owners = *std::move(found);
  }
  auto visible = [&](const std::string& id) {
    if (scope.visible_executions.contains(id)) return true;
    const auto owner = owners.find(std::pair<int, std::string>{kExecution, id});
    return owner != owners.end() && owner->second == scope.tenant;
  };
  if (!ResponseScreen::Prune(response, visible, *scope.tenant)) {
    return IsRead(rpc) ? absl::NotFoundError("not found")
                       : absl::PermissionDeniedError("belongs to another tenant");
  }
  return absl::OkStatus();
}

}  // namespace flowmonkey
