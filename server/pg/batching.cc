#include "server/pg/batching.h"

#include "absl/strings/str_cat.h"
#include "core/event_store.h"
#include "core/execution_rules.h"
#include "core/job_rules.h"
#include "core/transactions.h"
#include "server/pg/errors.h"

namespace flowmonkey::pg {
namespace {

// Settles every item of `batch` through `many` (a bulk method); see bulk.h for the replay
// rule.
template <typename Request, typename Response, typename Many>
void FlushThrough(std::vector<typename Batcher<Request, Response>::Item*>& batch,
                  const char* operation, const OnBatch& on_batch, const Many& many) {
  if (on_batch) on_batch(operation, batch.size());
  Requests<Request> requests;
  requests.reserve(batch.size());
  for (const auto* item : batch) requests.push_back(item->request);
  absl::StatusOr<ManyResults<Response>> results = many(requests);
  if (results.ok() && results->size() == batch.size()) {
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move((*results)[i]);
    return;
  }
  const absl::Status failure =
      results.ok() ? absl::InternalError("bulk call: result count mismatch") : results.status();
  if (batch.size() == 1 || IsBatchWideFailure(failure)) {
    for (auto* item : batch) item->result = failure;
    return;
  }
  for (auto* item : batch) {  // nothing was written: each alone, so a bad one fails only itself
    const Requests<Request> alone{item->request};
    absl::StatusOr<ManyResults<Response>> one = many(alone);
    if (one.ok() && one->size() == 1) {
      item->result = std::move(one->front());
    } else {
      item->result =
          one.ok() ? absl::InternalError("bulk call: result count mismatch") : one.status();
    }
  }
}

// The entry of a batched call: `valid` is its one validation.
template <typename B, typename Request>
auto RunIfValid(const absl::Status& valid, B& batcher, const Request& request)
    -> decltype(batcher.Run(request)) {
  if (!valid.ok()) return valid;
  return batcher.Run(request);
}

template <typename B, typename Request, typename Done>
bool SubmitIfValid(const absl::Status& valid, B& batcher, const Request& request, Done done) {
  if (!valid.ok()) {
    done(valid);
  } else {
    batcher.Submit(request, std::move(done));
  }
  return true;
}

}  // namespace

// Executions.

BatchingExecutionStore::BatchingExecutionStore(ExecutionStore& next, BulkExecutionStore& bulk,
                                               BatchOptions options)
    : ForwardingExecutionStore(next), bulk_(bulk), options_(std::move(options)) {
  saves_ = std::make_unique<SaveBatcher>(
      SaveBatcher::Options{
          .name = "save",
          .flushers = options_.flushers,
          .max_weight = options_.max_batch,
          .key = [](const v1::SaveExecutionRequest& r) { return r.execution().id(); }},
      [this](auto& batch) {
        FlushThrough<v1::SaveExecutionRequest, v1::SaveExecutionResponse>(
            batch, "save", options_.on_batch, [this](const auto& r) { return bulk_.SaveMany(r); });
      });
  gets_ = std::make_unique<GetBatcher>(
      GetBatcher::Options{
          .name = "get", .flushers = options_.flushers, .max_weight = options_.max_batch * 2},
      [this](auto& batch) {
        FlushThrough<v1::GetExecutionRequest, v1::GetExecutionResponse>(
            batch, "get", options_.on_batch, [this](const auto& r) { return bulk_.GetMany(r); });
      });
}

BatchingExecutionStore::~BatchingExecutionStore() = default;

absl::StatusOr<v1::SaveExecutionResponse> BatchingExecutionStore::Save(
    const v1::SaveExecutionRequest& request) {
  if (request.has_expected_version()) return next().Save(request);  // compare-and-set: alone
  return RunIfValid(ValidateSaveExecution(request), *saves_, request);
}

bool BatchingExecutionStore::Start(
    const v1::SaveExecutionRequest& request,
    std::function<void(absl::StatusOr<v1::SaveExecutionResponse>)> done) {
  if (request.has_expected_version()) return false;
  return SubmitIfValid(ValidateSaveExecution(request), *saves_, request, std::move(done));
}

absl::StatusOr<v1::GetExecutionResponse> BatchingExecutionStore::Get(
    const v1::GetExecutionRequest& request) {
  return RunIfValid(ValidateGetExecution(request), *gets_, request);
}

bool BatchingExecutionStore::Start(
    const v1::GetExecutionRequest& request,
    std::function<void(absl::StatusOr<v1::GetExecutionResponse>)> done) {
  return SubmitIfValid(ValidateGetExecution(request), *gets_, request, std::move(done));
}

// Events.

BatchingEventStore::BatchingEventStore(EventStore& next, BulkEventStore& bulk,
                                       EventBatchOptions options)
    : ForwardingEventStore(next), bulk_(bulk), options_(std::move(options)) {
  records_ = std::make_unique<RecordBatcher>(
      RecordBatcher::Options{
          .name = "record", .flushers = options_.flushers, .max_weight = options_.max_records},
      [this](auto& batch) {
        FlushThrough<v1::RecordEventRequest, v1::RecordEventResponse>(
            batch, "record_event", options_.on_batch,
            [this](const auto& r) { return bulk_.RecordMany(r); });
      });
  batches_ = std::make_unique<BatchBatcher>(
      BatchBatcher::Options{.name = "record-batch",
                            .flushers = options_.flushers,
                            .max_weight = options_.max_rows,
                            .weight =
                                [](const v1::RecordEventBatchRequest& r) {
                                  return static_cast<size_t>(r.events_size());
                                }},
      [this](auto& batch) {
        FlushThrough<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>(
            batch, "record_event_batch", options_.on_batch,
            [this](const auto& r) { return bulk_.RecordBatchMany(r); });
      });
}

BatchingEventStore::~BatchingEventStore() = default;

absl::StatusOr<v1::RecordEventResponse> BatchingEventStore::Record(
    const v1::RecordEventRequest& request) {
  return RunIfValid(ValidateRecordEvent(request), *records_, request);
}

bool BatchingEventStore::Start(const v1::RecordEventRequest& request,
                               std::function<void(absl::StatusOr<v1::RecordEventResponse>)> done) {
  return SubmitIfValid(ValidateRecordEvent(request), *records_, request, std::move(done));
}

absl::StatusOr<v1::RecordEventBatchResponse> BatchingEventStore::RecordBatch(
    const v1::RecordEventBatchRequest& request) {
  const absl::Status valid = ValidateRecordEventBatch(request);
  if (valid.ok() && request.events_size() == 0) return v1::RecordEventBatchResponse();
  return RunIfValid(valid, *batches_, request);
}

bool BatchingEventStore::Start(
    const v1::RecordEventBatchRequest& request,
    std::function<void(absl::StatusOr<v1::RecordEventBatchResponse>)> done) {
  const absl::Status valid = ValidateRecordEventBatch(request);
  if (valid.ok() && request.events_size() == 0) {
    done(v1::RecordEventBatchResponse());
    return true;
  }
  return SubmitIfValid(valid, *batches_, request, std::move(done));
}

// Jobs.

BatchingJobStore::BatchingJobStore(JobStore& next, BulkJobStore& bulk, BatchOptions options)
    : ForwardingJobStore(next), bulk_(bulk), options_(std::move(options)) {
  completions_ = std::make_unique<CompleteBatcher>(
      CompleteBatcher::Options{.name = "complete",
                               .flushers = options_.flushers,
                               .max_weight = options_.max_batch,
                               .key = [](const v1::CompleteJobRequest& r) { return r.job_id(); }},
      [this](auto& batch) {
        FlushThrough<v1::CompleteJobRequest, v1::CompleteJobResponse>(
            batch, "complete_job", options_.on_batch,
            [this](const auto& r) { return bulk_.CompleteMany(r); });
      });
}

BatchingJobStore::~BatchingJobStore() = default;

absl::StatusOr<v1::CompleteJobResponse> BatchingJobStore::Complete(
    const v1::CompleteJobRequest& request) {
  return RunIfValid(ValidateCompleteJob(request), *completions_, request);
}

bool BatchingJobStore::Start(const v1::CompleteJobRequest& request,
                             std::function<void(absl::StatusOr<v1::CompleteJobResponse>)> done) {
  return SubmitIfValid(ValidateCompleteJob(request), *completions_, request, std::move(done));
}

// Transactions.

BatchingTransactions::BatchingTransactions(Transactions& next, BulkTransactions& bulk,
                                           BatchOptions options)
    : ForwardingTransactions(next), bulk_(bulk), options_(std::move(options)) {
  commits_ = std::make_unique<CommitBatcher>(
      CommitBatcher::Options{.name = "commit",
                             .flushers = options_.flushers,
                             .max_weight = options_.max_batch,
                             // Commits without a request id never clash: each is its own key.
                             .key =
                                 [](const v1::CommitRequest& r) {
                                   return r.has_request_id() ? "id:" + r.request_id()
                                                             : absl::StrCat("at:", absl::Hex(&r));
                                 }},
      [this](auto& batch) {
        FlushThrough<v1::CommitRequest, v1::CommitResponse>(
            batch, "commit", options_.on_batch,
            [this](const auto& r) { return bulk_.CommitMany(r); });
      });
}

BatchingTransactions::~BatchingTransactions() = default;

absl::StatusOr<v1::CommitResponse> BatchingTransactions::Commit(const v1::CommitRequest& request) {
  return RunIfValid(ValidateCommit(request), *commits_, request);
}

bool BatchingTransactions::Start(const v1::CommitRequest& request,
                                 std::function<void(absl::StatusOr<v1::CommitResponse>)> done) {
  return SubmitIfValid(ValidateCommit(request), *commits_, request, std::move(done));
}

}  // namespace flowmonkey::pg
