#include "server/pg/owners.h"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "core/clock.h"
#include "server/pg/array_literal.h"
#include "server/pg/params.h"

namespace flowmonkey::pg {
namespace {

constexpr Statement kRecordOwners{
    "tenant_owners",
    "SELECT 0, id, tenant_id FROM {fm_}executions WHERE id = ANY($1::text[])"
    " UNION ALL SELECT 1, j.id, e.tenant_id FROM {fm_}jobs j"
    " JOIN {fm_}executions e ON e.id = j.execution_id WHERE j.id = ANY($2::text[])"
    " UNION ALL SELECT 2, t.token_hash, e.tenant_id FROM {fm_}resume_tokens t"
    " JOIN {fm_}executions e ON e.id = t.execution_id WHERE t.token_hash = ANY($3::text[])"};

// Always one row: the claim's tenant (NULL: shared), whether a claim exists, whether any
// version exists.
constexpr Statement kFlowOwner{
    "flow_owner",
    "SELECT o.tenant_id, o.flow_id IS NOT NULL, EXISTS (SELECT 1 FROM {fm_}flows WHERE id = $1)"
    " FROM (SELECT 1) AS one LEFT JOIN {fm_}flow_owners o ON o.flow_id = $1"};

// A flow that already has versions but no claim was saved by an operator: it stays shared.
constexpr Statement kClaimFlow{
    "flow_claim",
    "INSERT INTO {fm_}flow_owners (flow_id, tenant_id, claimed_at) SELECT $1, $2, $3"
    " WHERE NOT EXISTS (SELECT 1 FROM {fm_}flows WHERE id = $1)"
    " ON CONFLICT (flow_id) DO NOTHING"};

}  // namespace

Owners::Owners(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kRecordOwners, kFlowOwner, kClaimFlow});
}

absl::StatusOr<RecordOwners> Owners::OfRecords(
    const std::vector<std::pair<OwnedKind, std::string>>& records) {
  ArrayLiteral ids[3];
  for (const auto& [kind, id] : records) ids[static_cast<int>(kind)].Add(id);
  Params params;
  for (const ArrayLiteral& array : ids) params.Add(array.str());
  return pool_.Run<RecordOwners>(
      "look up tenants", [&](Session& s) -> absl::StatusOr<RecordOwners> {
        pqxx::nontransaction tx(s.connection());
        RecordOwners owners;
        for (const auto& row : s.Exec(tx, kRecordOwners, params)) {
          std::optional<std::string> tenant;
          if (!row[2].is_null()) tenant = row[2].c_str();
          owners[{static_cast<OwnedKind>(row[0].as<int>()), row[1].c_str()}] = std::move(tenant);
        }
        return owners;
      });
}

absl::StatusOr<FlowOwner> Owners::OfFlow(const std::string& flow_id) {
  Params params;
  params.Add(flow_id);
  return pool_.Run<FlowOwner>("look up flow owner", [&](Session& s) -> absl::StatusOr<FlowOwner> {
    pqxx::nontransaction tx(s.connection());
    const pqxx::row row = s.Exec(tx, kFlowOwner, params)[0];
    FlowOwner owner;
    if (!row[0].is_null()) {
      owner.kind = FlowOwner::Kind::kTenant;
      owner.tenant = row[0].c_str();
    } else if (row[1].as<bool>() || row[2].as<bool>()) {
      owner.kind = FlowOwner::Kind::kShared;
    }
    return owner;
  });
}

absl::StatusOr<FlowOwner> Owners::ClaimFlow(const std::string& flow_id, const std::string& tenant) {
  Params params;
  params.Add(flow_id).Add(tenant).Add(NowMs());
  absl::Status claimed = pool_.RunVoid("claim flow", [&](Session& s) {
    pqxx::nontransaction tx(s.connection());
    s.Exec(tx, kClaimFlow, params);
    return absl::OkStatus();
  });
  if (!claimed.ok()) return claimed;
  // A separate statement, so it sees a claim a concurrent caller committed first.
  return OfFlow(flow_id);
}

}  // namespace flowmonkey::pg
