// Background maintenance (server/pg/maintenance.h): what one pass changes, that concurrent
// passes (many replicas) change each row once, and that the server runs passes by itself.

#include "server/pg/maintenance.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/clock.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

class Maintenance : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::SaveExecutionRequest save;
    *save.mutable_execution() = NewExecution("maintained");
    ASSERT_TRUE(backend_.executions().Save(save).ok());
  }

  // A job claimed by a runner, its heartbeat `age_ms` old.
  std::string RunningJob(const std::string& step, int max_attempts, int64_t age_ms) {
    v1::CreateJobRequest create;
    create.set_execution_id("maintained");
    create.set_step_id(step);
    create.set_handler("h");
    create.set_input_json("{}");
    create.set_max_attempts(max_attempts);
    create.set_heartbeat_ms(1000);
    auto job = backend_.jobs().Create(create);
    EXPECT_TRUE(job.ok()) << job.status();
    v1::ClaimJobRequest claim;
    claim.set_job_id(job->job().id());
    claim.set_runner_id("runner");
    EXPECT_TRUE(backend_.jobs().Claim(claim).ok());
    RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_jobs SET heartbeat_at = ", NowMs() - age_ms,
                                           " WHERE id = '", job->job().id(), "'"));
    return job->job().id();
  }

  v1::Job GetJob(const std::string& id) {
    v1::GetJobRequest get;
    get.set_job_id(id);
    return backend_.jobs().Get(get)->job();
  }

  PgBackend backend_;
};

TEST_F(Maintenance, APassRequeuesOrFailsStalledJobsExpiresTokensAndDeletesExpiredKeys) {
  const std::string requeued = RunningJob("requeued", 3, 10'000);  // > 3 x 1000 ms
  const std::string failed = RunningJob("failed", 1, 10'000);      // no attempts left
  const std::string alive = RunningJob("alive", 3, 2'000);         // < 3 x 1000 ms

  v1::GenerateResumeTokenRequest generate;
  generate.set_execution_id("maintained");
  generate.set_step_id("wait");
  generate.set_expires_in_ms(3'600'000);
  auto expiring = backend_.tokens().Generate(generate);
  auto live = backend_.tokens().Generate(generate);
  ASSERT_TRUE(expiring.ok() && live.ok());
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_resume_tokens SET expires_at = ", NowMs() - 1,
                                         " WHERE token_hash = '", expiring->token().id(), "'"));

  for (const char* key : {"old-key", "live-key"}) {
    v1::CreateExecutionRequest create;
    *create.mutable_execution() = NewExecution(absl::StrCat("keyed-", key));
    create.mutable_execution()->set_idempotency_key(key);
    ASSERT_TRUE(backend_.executions().Create(create).ok());
  }
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_idempotency_keys SET expires_at = ",
                                         NowMs() - 1, " WHERE idempotency_key = 'old-key'"));

  pg::PgMaintenance maintenance(backend_.pool());
  auto counts = maintenance.RunOnce(NowMs());
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->jobs_requeued, 1);
  EXPECT_EQ(counts->jobs_failed, 1);
  EXPECT_EQ(counts->tokens_expired, 1);
  EXPECT_EQ(counts->idempotency_keys_deleted, 1);

  EXPECT_EQ(GetJob(requeued).status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(GetJob(requeued).attempts(), 1);
  EXPECT_EQ(GetJob(failed).status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(GetJob(failed).error().code(), "STALLED");
  EXPECT_EQ(GetJob(alive).status(), v1::JOB_STATUS_RUNNING);
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(expiring->token().token());
  EXPECT_EQ(backend_.tokens().Validate(validate)->reason(), "expired");
  validate.set_token(live->token().token());
  EXPECT_TRUE(backend_.tokens().Validate(validate)->valid());
  EXPECT_EQ(RunSql(backend_.prefix(), "SELECT count(*) FROM fm_idempotency_keys"), 1);

  auto again = maintenance.RunOnce(NowMs());  // nothing left to do
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total(), 0);
}

TEST_F(Maintenance, APassForgetsClientRequestIdsOlderThanADay) {
  auto record = [&](const std::string& request_id) {
    v1::RecordEventRequest request;
    request.mutable_event()->set_execution_id("maintained");
    request.mutable_event()->set_event_type("requested");
    request.set_request_id(request_id);
    auto recorded = backend_.events().Record(request);
    EXPECT_TRUE(recorded.ok()) << recorded.status();
    return recorded.ok() ? recorded->event().id() : 0;
  };
  const int64_t old_event = record("old-request");
  const int64_t new_event = record("new-request");
  v1::GenerateResumeTokenRequest generate;
  generate.set_execution_id("maintained");
  generate.set_step_id("wait");
  generate.set_request_id("old-token-request");
  ASSERT_TRUE(backend_.tokens().Generate(generate).ok());
  const int64_t day_ago = NowMs() - 24 * 3'600'000 - 1;
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_request_ids SET created_at = ", day_ago,
                                         " WHERE request_id = 'old-request'"));
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_resume_tokens SET created_at = ", day_ago,
                                         " WHERE request_id = 'old-token-request'"));

  pg::PgMaintenance maintenance(backend_.pool());
  auto counts = maintenance.RunOnce(NowMs());
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->request_ids_forgotten, 2);
  // A forgotten id is new again; a live one still answers with its first event.
  EXPECT_NE(record("old-request"), old_event);
  EXPECT_EQ(record("new-request"), new_event);
  EXPECT_EQ(RunSql(backend_.prefix(),
                   "SELECT count(*) FROM fm_resume_tokens WHERE request_id IS NOT NULL"),
            0);
}

// Migration 11: a request id keeps its events' ids and the events carry none; a request
// id written the earlier way (on the event) still answers a retry, and is still forgotten.
TEST_F(Maintenance, RequestIdsKeepTheirEventIdsAndTheEarlierLayoutStillAnswers) {
  v1::RecordEventBatchRequest batch;
  for (const char* type : {"a", "b"}) {
    v1::Event& event = *batch.add_events();
    event.set_execution_id("maintained");
    event.set_event_type(type);
  }
  batch.set_request_id("batch-request");
  auto recorded = backend_.events().RecordBatch(batch);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->events_size(), 2);
  EXPECT_EQ(RunSqlText(backend_.prefix(),
                       "SELECT event_ids::text FROM fm_request_ids"
                       " WHERE request_id = 'batch-request'"),
            absl::StrCat("{", recorded->events(0).id(), ",", recorded->events(1).id(), "}"));
  EXPECT_EQ(
      RunSql(backend_.prefix(), "SELECT count(*) FROM fm_events WHERE request_id IS NOT NULL"), 0);

  // As the server wrote it before migration 11.
  const int64_t created_at = NowMs();
  const int64_t legacy =
      RunSql(backend_.prefix(),
             absl::StrCat("WITH r AS (INSERT INTO fm_request_ids (request_id, created_at) VALUES"
                          " ('legacy-request', ",
                          created_at,
                          ")) INSERT INTO fm_events (execution_id,"
                          " event_type, created_at, request_id) VALUES ('maintained', 'legacy', ",
                          created_at, ", 'legacy-request') RETURNING id"));
  ASSERT_GT(legacy, 0);
  v1::RecordEventRequest retry;
  retry.mutable_event()->set_execution_id("maintained");
  retry.mutable_event()->set_event_type("legacy");
  retry.set_request_id("legacy-request");
  auto answered = backend_.events().Record(retry);
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->event().id(), legacy);
  EXPECT_EQ(answered->event().created_at(), created_at);
  auto again = backend_.events().RecordBatch(batch);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->events_size(), 2);
  EXPECT_EQ(again->events(1).id(), recorded->events(1).id());
  EXPECT_EQ(RunSql(backend_.prefix(), "SELECT count(*) FROM fm_events"), 3);

  const int64_t day_ago = NowMs() - 24 * 3'600'000 - 1;
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_request_ids SET created_at = ", day_ago));
  pg::PgMaintenance maintenance(backend_.pool());
  auto counts = maintenance.RunOnce(NowMs());
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->request_ids_forgotten, 2);
  EXPECT_EQ(
      RunSql(backend_.prefix(), "SELECT count(*) FROM fm_events WHERE request_id IS NOT NULL"), 0);
  // Forgotten: the same ids write again.
  auto rewritten = backend_.events().Record(retry);
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  EXPECT_NE(rewritten->event().id(), legacy);
}

TEST_F(Maintenance, ConcurrentPassesChangeEachStalledJobOnce) {
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) {
    v1::CreateJobRequest create;
    create.set_execution_id("maintained");
    create.set_step_id(absl::StrCat("step-", i));
    create.set_handler("h");
    create.set_input_json("{}");
    create.set_heartbeat_ms(1000);
    ASSERT_TRUE(backend_.jobs().Create(create).ok());
  }
  v1::ClaimNextJobsRequest claim;
  claim.set_runner_id("runner");
  claim.set_max_jobs(kJobs);
  int claimed = 0;
  while (claimed < kJobs) {
    auto jobs = backend_.jobs().ClaimNext(claim);
    ASSERT_TRUE(jobs.ok()) << jobs.status();
    ASSERT_GT(jobs->jobs_size(), 0);
    claimed += jobs->jobs_size();
  }
  RunSql(backend_.prefix(), absl::StrCat("UPDATE fm_jobs SET heartbeat_at = ", NowMs() - 60'000));

  // Eight "replicas", each with its own connections, all passing at once.
  constexpr int kReplicas = 8;
  std::atomic<int64_t> requeued{0}, errors{0};
  std::vector<std::thread> replicas;
  for (int r = 0; r < kReplicas; ++r) {
    replicas.emplace_back([&] {
      std::unique_ptr<pg::ConnectionPool> pool = TestPool(backend_.prefix(), 1);
      pg::PgMaintenance maintenance(*pool);
      for (int pass = 0; pass < 3; ++pass) {
        auto counts = maintenance.RunOnce(NowMs());
        if (!counts.ok()) {
          ++errors;
          continue;
        }
        requeued += counts->jobs_requeued;
      }
    });
  }
  for (auto& t : replicas) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(requeued.load(), kJobs);
  EXPECT_EQ(RunSql(backend_.prefix(),
                   "SELECT count(*) FROM fm_jobs WHERE status = 'pending' AND attempts = 1"),
            kJobs);
}

TEST_F(Maintenance, TheServerRunsPassesByItself) {
  const std::string stalled = RunningJob("stalled", 3, 10'000);
  ServerOptions options = TestServerOptions(backend_.prefix());
  options.maintenance_interval = absl::Milliseconds(50);
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  // Waits for the effect, not for a time: the first pass runs at start-up.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (GetJob(stalled).status() != v1::JOB_STATUS_PENDING && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(GetJob(stalled).status(), v1::JOB_STATUS_PENDING);
}

}  // namespace
}  // namespace flowmonkey::testing
