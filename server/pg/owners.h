#pragma once

// The owner lookups tenant isolation (server/tenant_guard.h) needs, kept with the rest of the
// SQL: the tenant of executions, jobs and resume tokens, and the owner of flow definitions
// (docs/adr/0005-flow-ownership.md).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

// What an execution-scoped lookup names.
enum class OwnedKind { kExecution = 0, kJob = 1, kToken = 2 };

// Tenant of each record found, keyed by (kind, id); a token's id is its hash. Records that
// do not exist are absent; a record whose execution has no tenant maps to nullopt.
using RecordOwners =
    absl::flat_hash_map<std::pair<OwnedKind, std::string>, std::optional<std::string>>;

// Who may write a flow definition.
struct FlowOwner {
  enum class Kind {
    kNone,    // no version and no claim: a tenant key that saves it claims it
    kShared,  // saved before ownership existed or by an operator key: operator keys only
    kTenant,  // `tenant` owns it
  };
  Kind kind = Kind::kNone;
  std::string tenant;
};

class Owners {
 public:
  // Registers its statements with `pool`, which must outlive this.
  explicit Owners(ConnectionPool& pool);

  // One round trip for every record named.
  absl::StatusOr<RecordOwners> OfRecords(
      const std::vector<std::pair<OwnedKind, std::string>>& records);

  // The owner of flow `flow_id`.
  absl::StatusOr<FlowOwner> OfFlow(const std::string& flow_id);
  // Claims `flow_id` for `tenant` when it has neither a version nor an owner, atomically
  // (of concurrent claims one wins), and returns its owner after the claim.
  absl::StatusOr<FlowOwner> ClaimFlow(const std::string& flow_id, const std::string& tenant);

 private:
  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
