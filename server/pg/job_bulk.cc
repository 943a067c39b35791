// PgJobStore's bulk method (bulk.h): concurrent completions in one fenced update.

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "server/pg/array_literal.h"
#include "server/pg/job_store.h"

namespace flowmonkey::pg {
namespace {

// The fence of the single-job writes (job_store.cc), per row: NULL runner / instance = any.
constexpr Statement kCompleteBatch{
    "job_complete_batch",
    "UPDATE {fm_}jobs AS j SET status = 'completed', result = u.result, updated_at = $5"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])"
    " AS u(id, runner_id, instance_id, result)"
    " WHERE j.id = u.id AND j.status = 'running'"
    " AND (u.runner_id IS NULL OR j.runner_id = u.runner_id)"
    " AND (u.instance_id IS NULL OR j.instance_id = u.instance_id)"
    " RETURNING j.id, j.updated_at"};

}  // namespace

void PgJobStore::RegisterBulkStatements() { pool_.Register(kCompleteBatch); }

absl::StatusOr<ManyResults<v1::CompleteJobResponse>> PgJobStore::CompleteMany(
    const Requests<v1::CompleteJobRequest>& requests) {
  std::unordered_map<std::string, int64_t> completed;  // job id -> updated_at
  if (requests.size() > 1) {
    ArrayLiteral ids, runners, instances, results;
    for (const auto* r : requests) {
      ids.Add(r->job_id());
      r->runner_id().empty() ? runners.AddNull() : runners.Add(r->runner_id());
      r->instance_id().empty() ? instances.AddNull() : instances.Add(r->instance_id());
      r->result_json().empty() ? results.AddNull() : results.Add(r->result_json());
    }
    Params params;
    params.Add(ids.str()).Add(runners.str()).Add(instances.str()).Add(results.str());
    params.Add(NowMs());
    absl::Status status = pool_.RunVoid("complete jobs (batch)", [&](Session& s) {
      pqxx::nontransaction tx(s.connection());
      for (const auto& row : s.Exec(tx, kCompleteBatch, params)) {
        completed.emplace(row[0].c_str(), row[1].as<int64_t>());
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  ManyResults<v1::CompleteJobResponse> results;
  results.reserve(requests.size());
  for (const auto* request : requests) {
    auto it = completed.find(request->job_id());
    if (it == completed.end()) {
      // Alone, or turned away by the fence: the plain statement answers exactly.
      results.push_back(CompleteValid(*request));
      continue;
    }
    v1::CompleteJobResponse response;
    response.set_updated_at(it->second);
    results.push_back(std::move(response));
  }
  return results;
}

}  // namespace flowmonkey::pg
