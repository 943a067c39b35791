#pragma once

// Tenant isolation, in one place. Whether a call reads, writes or removes, and whose data it
// touches, is the method's declared policy (proto/flowmonkey/v1/options.proto), never its name:
// every call made with an API key bound to a tenant passes through TenantGuard (installed on the
// Executor, see server/rpc/call_guard.h), whatever its service. It reads requests and responses
// generically, by field name and type, so an RPC added later is covered by the same rules, or
// refused until it fits them:
//
//  * A request must be scoped: it names executions (`execution_id`, `parent_execution_id`,
//    an `Execution` being written), jobs (`job_id`, `job_ids`) or resume tokens (`token`,
//    `token_id`), or it carries a `tenant_id` filter. The filter is set to the key's tenant
//    (another tenant: PERMISSION_DENIED); so is an `Execution`'s tenant_id. A request with
//    no scope spans every tenant (DeleteOld, CleanupExpired, ResetStalled by time) and needs
//    an operator key. Services of tenant_scope SERVICE (Admin) are shared by all tenants.
//  * Flow definitions are readable by every tenant. A flow saved with a tenant key belongs
//    to that tenant (the first Save of its id claims it); writes to it (Save of a version,
//    SetStatus, Delete) with another tenant's key are PERMISSION_DENIED, as are tenant
//    writes to flows saved before ownership existed or by an operator key (shared flows).
//    Operator keys write any flow (docs/adr/0005-flow-ownership.md).
//  * Everything named is looked up in one query. Another tenant's record is NOT_FOUND to
//    reads and PERMISSION_DENIED to writes; a write that names a missing execution is
//    NOT_FOUND (so no tenant can record events for an execution another may create later),
//    except removals and executions the same request writes (a Transactions.Commit that
//    creates an execution and records its events). A read naming another tenant's resume
//    token answers exactly as for an unknown token (Validate: OK, valid=false, not_found).
//  * Second wall, on the way out: executions of other tenants, and jobs, events, tokens and
//    context references of their executions, are dropped from lists; a single such record
//    fails the call as above. With the request narrowed, this only ever drops anything if a
//    store forgot a filter.
//
// The tenant of an execution is its tenant_id; an execution without one belongs to no
// tenant and only operator keys see it.

#include <string>
#include <string_view>

#include "server/pg/owners.h"
#include "server/pg/pool.h"
#include "server/rpc/auth.h"
#include "server/rpc/call_guard.h"

namespace flowmonkey {

class TenantGuard final : public rpc::CallGuard {
 public:
  TenantGuard(const rpc::Authenticator& authenticator, pg::ConnectionPool& pool);

  absl::StatusOr<rpc::CallScope> ScopeOf(const grpc::ServerContextBase& context) const override;
  absl::Status Admit(rpc::CallScope& scope, const rpc::Method& method,
                     google::protobuf::Message& request) override;
  absl::Status Screen(const rpc::CallScope& scope, const rpc::Method& method,
                      google::protobuf::Message& response) override;

 private:
  absl::Status AdmitFlowWrite(const rpc::CallScope& scope, const rpc::Method& method,
                              const google::protobuf::Message& request);

  const rpc::Authenticator& authenticator_;
  pg::Owners owners_;
};

}  // namespace flowmonkey
