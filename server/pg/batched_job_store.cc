#include "server/pg/batched_job_store.h"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/job_rules.h"
#include "core/validation.h"
#include "server/pg/array_literal.h"

namespace flowmonkey::pg {
namespace {

// The fence of FM_JOB_FENCE (job_store.cc), per row: NULL runner / instance = any.
constexpr Statement kCompleteBatch{
    "job_complete_batch",
    "UPDATE fm_jobs AS j SET status = 'completed', result = u.result, updated_at = $5"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])"
    " AS u(id, runner_id, instance_id, result)"
    " WHERE j.id = u.id AND j.status = 'running'"
    " AND (u.runner_id IS NULL OR j.runner_id = u.runner_id)"
    " AND (u.instance_id IS NULL OR j.instance_id = u.instance_id)"
    " RETURNING j.id, j.updated_at"};

absl::Status CheckComplete(const v1::CompleteJobRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  return ValidateJson(request.result_json(), "result_json", JsonKind::kAny);
}

}  // namespace

BatchedJobStore::BatchedJobStore(ConnectionPool& pool, bool batching, BatchOptions options)
    : PgJobStore(pool), pool_(pool), options_(std::move(options)) {
  if (!batching) return;
  pool_.Register(kCompleteBatch);
  completions_ = std::make_unique<CompleteBatcher>(
      CompleteBatcher::Options{
          .flushers = options_.flushers,
          .max_weight = options_.max_batch,
          .key = [](const v1::CompleteJobRequest& r) { return r.job_id(); }},
      [this](auto& batch) { Flush(batch); });
}

BatchedJobStore::~BatchedJobStore() = default;

absl::StatusOr<v1::CompleteJobResponse> BatchedJobStore::Complete(
    const v1::CompleteJobRequest& request) {
  if (!completions_) return PgJobStore::Complete(request);
  if (auto s = CheckComplete(request); !s.ok()) return s;
  return completions_->Run(request);
}

bool BatchedJobStore::Start(const v1::CompleteJobRequest& request,
                            std::function<void(absl::StatusOr<v1::CompleteJobResponse>)> done) {
  if (!completions_) return false;
  if (auto s = CheckComplete(request); !s.ok()) {
    done(s);
    return true;
  }
  completions_->Submit(request, std::move(done));
  return true;
}

void BatchedJobStore::Flush(std::vector<CompleteBatcher::Item*>& batch) {
  if (options_.on_batch) options_.on_batch("complete_job", batch.size());
  std::unordered_map<std::string, int64_t> completed;  // job id -> updated_at
  absl::Status status = absl::OkStatus();
  if (batch.size() > 1) {
    ArrayLiteral ids, runners, instances, results;
    for (const auto* item : batch) {
      const v1::CompleteJobRequest& r = *item->request;
      ids.Add(r.job_id());
      r.runner_id().empty() ? runners.AddNull() : runners.Add(r.runner_id());
      r.instance_id().empty() ? instances.AddNull() : instances.Add(r.instance_id());
      r.result_json().empty() ? results.AddNull() : results.Add(r.result_json());
    }
    Params params;
    params.Add(ids.str()).Add(runners.str()).Add(instances.str()).Add(results.str());
    params.Add(NowMs());
    status = pool_.RunVoid("complete jobs (batch)", [&](Session& s) {
      pqxx::nontransaction tx(s.connection());
      for (const auto& row : s.Exec(tx, kCompleteBatch, params)) {
        completed.emplace(row[0].c_str(), row[1].as<int64_t>());
      }
      return absl::OkStatus();
    });
    if (IsBatchWideFailure(status)) {
      for (auto* item : batch) item->result = status;
      return;
    }
  }
  for (auto* item : batch) {
    auto it = completed.find(item->request->job_id());
    if (it == completed.end()) {
      // Alone (batch of one), turned away by the fence, or in a rejected statement.
      item->result = PgJobStore::Complete(*item->request);
      continue;
    }
    v1::CompleteJobResponse response;
    response.set_updated_at(it->second);
    item->result = std::move(response);
  }
}

}  // namespace flowmonkey::pg
