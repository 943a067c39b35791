// JobStore conformance: every test runs against the PostgreSQL store and against the remote
// client talking to a real server.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

constexpr const char* kJobExecution = "job-exec";

template <typename Backend>
class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { CreateExecution(kJobExecution); }

  JobStore& jobs() { return backend_.jobs(); }

  void CreateExecution(const std::string& id) {
    v1::CreateExecutionRequest request;
    v1::Execution& e = *request.mutable_execution();
    e.set_id(id);
    e.set_flow_id("flow");
    e.set_flow_version("1.0.0");
    e.set_current_step_id("step");
    e.set_status(v1::EXECUTION_STATUS_RUNNING);
    ASSERT_TRUE(backend_.executions().Create(request).ok());
  }

  v1::Job Create(const std::string& step, const std::string& input = R"({"n":1})",
                 const std::string& handler = "email", int max_attempts = 3) {
    v1::CreateJobRequest request;
    request.set_execution_id(kJobExecution);
    request.set_step_id(step);
    request.set_handler(handler);
    request.set_input_json(input);
    request.set_max_attempts(max_attempts);
    auto response = jobs().Create(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->job() : v1::Job();
  }
  absl::StatusOr<v1::Job> Claim(const std::string& job_id, const std::string& runner) {
    v1::ClaimJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id(runner);
    auto response = jobs().Claim(request);
    if (!response.ok()) return response.status();
    return response->job();
  }
  absl::StatusOr<v1::Job> Get(const std::string& job_id) {
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    auto response = jobs().Get(request);
    if (!response.ok()) return response.status();
    return response->job();
  }
  absl::Status Heartbeat(const std::string& job_id, const std::string& runner) {
    v1::HeartbeatJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id(runner);
    return jobs().Heartbeat(request).status();
  }
  absl::Status Complete(const std::string& job_id, const std::string& runner,
                        const std::string& result = R"({"ok":true})") {
    v1::CompleteJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id(runner);
    request.set_result_json(result);
    return jobs().Complete(request).status();
  }
  absl::Status Fail(const std::string& job_id, const std::string& runner, const std::string& code) {
    v1::FailJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id(runner);
    request.mutable_error()->set_code(code);
    request.mutable_error()->set_message("Connection refused");
    return jobs().Fail(request).status();
  }
  absl::StatusOr<v1::ResetStalledJobsResponse> ResetIds(const std::vector<std::string>& ids) {
    v1::ResetStalledJobsRequest request;
    for (const auto& id : ids) request.add_job_ids(id);
    return jobs().ResetStalled(request);
  }

  Backend backend_;
};

TYPED_TEST_SUITE(JobStoreTest, Backends, BackendNames);

TYPED_TEST(JobStoreTest, CreateIsIdempotentAcrossKeyOrderAndWhitespace) {
  const v1::Job first = this->Create("send", R"({"to":"a@b.c","n":[1,2],"x":{"b":1,"a":2}})");
  EXPECT_EQ(first.id().size(), 64u);
  EXPECT_EQ(first.status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(first.attempts(), 0);
  EXPECT_EQ(first.max_attempts(), 3);
  EXPECT_EQ(first.heartbeat_ms(), 30'000);

  v1::CreateJobRequest again;
  again.set_execution_id(kJobExecution);
  again.set_step_id("send");
  again.set_handler("email");
  again.set_input_json("{ \"x\" : {\"a\":2, \"b\":1},\n \"n\":[1, 2], \"to\":\"a@b.c\" }");
  auto second = this->jobs().Create(again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->job().id(), first.id());

  // Another input, handler or step is another job.
  again.set_input_json(R"({"to":"a@b.c","n":[2,1],"x":{"b":1,"a":2}})");
  EXPECT_NE(this->jobs().Create(again)->job().id(), first.id());
  EXPECT_NE(this->Create("send", R"({"to":"a@b.c","n":[1,2],"x":{"b":1,"a":2}})", "sms").id(),
            first.id());
  v1::ListJobsByExecutionRequest list;
  list.set_execution_id(kJobExecution);
  EXPECT_EQ(this->jobs().ListByExecution(list)->jobs_size(), 3);
}

TYPED_TEST(JobStoreTest, CreateForAnUnknownExecutionIsNotFound) {
  v1::CreateJobRequest request;
  request.set_execution_id("no-such-execution");
  request.set_step_id("s");
  request.set_handler("h");
  EXPECT_EQ(this->jobs().Create(request).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreTest, GetAndGetForStep) {
  const v1::Job job = this->Create("step-a");
  auto got = this->Get(job.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(nlohmann::json::parse(got->input_json()), nlohmann::json::parse(R"({"n":1})"));
  EXPECT_FALSE(got->has_runner_id());
  EXPECT_FALSE(got->has_error());
  EXPECT_EQ(this->Get("missing").status().code(), StatusCode::kNotFound);

  v1::GetJobForStepRequest request;
  request.set_execution_id(kJobExecution);
  request.set_step_id("step-a");
  auto for_step = this->jobs().GetForStep(request);
  ASSERT_TRUE(for_step.ok()) << for_step.status();
  EXPECT_EQ(for_step->job().id(), job.id());
  request.set_step_id("step-b");
  EXPECT_EQ(this->jobs().GetForStep(request).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreTest, ClaimHeartbeatCompleteLifecycle) {
  const v1::Job job = this->Create("life");
  auto claimed = this->Claim(job.id(), "runner-1");
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->status(), v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(claimed->runner_id(), "runner-1");
  EXPECT_EQ(claimed->attempts(), 1);
  EXPECT_TRUE(claimed->has_heartbeat_at());
  EXPECT_EQ(this->Claim(job.id(), "runner-2").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Claim("missing", "runner-2").status().code(), StatusCode::kNotFound);

  EXPECT_TRUE(this->Heartbeat(job.id(), "runner-1").ok());
  EXPECT_EQ(this->Heartbeat(job.id(), "runner-2").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Heartbeat("missing", "runner-1").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->Complete(job.id(), "runner-2").code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(this->Complete(job.id(), "runner-1").ok());
  EXPECT_EQ(this->Complete(job.id(), "runner-1").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Heartbeat(job.id(), "runner-1").code(), StatusCode::kFailedPrecondition);

  auto done = this->Get(job.id());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status(), v1::JOB_STATUS_COMPLETED);
  EXPECT_EQ(nlohmann::json::parse(done->result_json()), nlohmann::json::parse(R"({"ok":true})"));
}

TYPED_TEST(JobStoreTest, SixteenRunnersRacingClaimOneWins) {
  const v1::Job job = this->Create("race");
  constexpr int kRunners = 16;
  std::atomic<int> won{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      auto result = this->Claim(job.id(), absl::StrCat("runner-", i));
      if (result.ok()) {
        won++;
      } else if (result.status().code() == StatusCode::kFailedPrecondition) {
        refused++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), kRunners - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(this->Get(job.id())->attempts(), 1);
}

TYPED_TEST(JobStoreTest, ThirtyTwoWorkersClaimEachOfTenThousandJobsExactlyOnce) {
  constexpr int kJobs = 10'000;
  constexpr int kWorkers = 32;
  // Seeded in one statement; claimed through the store.
  ASSERT_EQ(RunSql(this->backend_.prefix(),
                   absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                                " input, created_at, updated_at) SELECT 'bulk-' || g, '",
                                kJobExecution,
                                "', 'bulk', 'bulk', 'pending', '{}', g, g"
                                " FROM generate_series(1, ",
                                kJobs, ") AS g"),
                   /*affected=*/true),
            kJobs);
  std::vector<std::vector<std::string>> claimed(kWorkers);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      v1::ClaimNextJobsRequest request;
      request.set_runner_id(absl::StrCat("worker-", w));
      request.set_max_jobs(25);
      for (;;) {
        auto response = this->jobs().ClaimNext(request);
        if (!response.ok()) {
          errors++;
          return;
        }
        if (response->jobs().empty()) return;
        for (const auto& job : response->jobs()) {
          EXPECT_EQ(job.runner_id(), request.runner_id());
          claimed[w].push_back(job.id());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<std::string> unique;
  size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    unique.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));          // nobody got a job twice
  EXPECT_EQ(unique.size(), static_cast<size_t>(kJobs));  // none lost
  EXPECT_EQ(RunSql(this->backend_.prefix(),
                   "SELECT count(*) FROM fm_jobs WHERE status = 'running' AND attempts = 1"),
            kJobs);
}

TYPED_TEST(JobStoreTest, ClaimNextFiltersByHandlerOldestFirst) {
  const v1::Job a = this->Create("a", "{}", "email");
  const v1::Job b = this->Create("b", "{}", "sms");
  const v1::Job c = this->Create("c", "{}", "email");
  v1::ClaimNextJobsRequest request;
  request.set_runner_id("r");
  request.add_handlers("sms");
  auto sms = this->jobs().ClaimNext(request);
  ASSERT_TRUE(sms.ok()) << sms.status();
  ASSERT_EQ(sms->jobs_size(), 1);
  EXPECT_EQ(sms->jobs(0).id(), b.id());

  request.clear_handlers();
  request.add_handlers("email");
  request.add_handlers("pdf \"quoted\", {odd}");
  request.set_max_jobs(10);
  auto email = this->jobs().ClaimNext(request);
  ASSERT_TRUE(email.ok()) << email.status();
  std::set<std::string> ids;
  for (const auto& job : email->jobs()) ids.insert(job.id());
  EXPECT_EQ(ids, (std::set<std::string>{a.id(), c.id()}));
  EXPECT_TRUE(this->jobs().ClaimNext(request)->jobs().empty());
}

TYPED_TEST(JobStoreTest, OldRunnerIsFencedOffAfterResetStalled) {
  const v1::Job job = this->Create("stall");
  ASSERT_TRUE(this->Claim(job.id(), "old-runner").ok());
  auto reset = this->ResetIds({job.id()});
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->count(), 1);
  EXPECT_EQ(reset->failed(), 0);
  auto pending = this->Get(job.id());
  EXPECT_EQ(pending->status(), v1::JOB_STATUS_PENDING);
  EXPECT_FALSE(pending->has_runner_id());

  EXPECT_EQ(this->Heartbeat(job.id(), "old-runner").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Complete(job.id(), "old-runner").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(this->Claim(job.id(), "new-runner").ok());
  EXPECT_EQ(this->Heartbeat(job.id(), "old-runner").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Complete(job.id(), "old-runner").code(), StatusCode::kFailedPrecondition);
  v1::FailJobRequest fail;
  fail.set_job_id(job.id());
  fail.set_runner_id("old-runner");
  fail.mutable_error()->set_code("E");
  EXPECT_EQ(this->jobs().Fail(fail).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(this->Complete(job.id(), "new-runner").ok());
  EXPECT_EQ(this->Get(job.id())->attempts(), 2);
}

// ResetStalled affects at most `limit` jobs, by time and by ids alike.
TYPED_TEST(JobStoreTest, ResetStalledResetsAtMostItsLimit) {
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    const v1::Job job = this->Create(absl::StrCat("limited-", i), "{}");
    ASSERT_TRUE(this->Claim(job.id(), "r").ok());
    ids.push_back(job.id());
  }
  v1::ResetStalledJobsRequest by_time;
  by_time.set_stalled_before(NowMs() + 60'000);
  by_time.set_limit(5);
  auto reset = this->jobs().ResetStalled(by_time);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->count(), 5);

  v1::ResetStalledJobsRequest by_ids;
  for (const auto& id : ids) by_ids.add_job_ids(id);
  by_ids.set_stalled_before(NowMs() + 60'000);
  by_ids.set_limit(3);
  reset = this->jobs().ResetStalled(by_ids);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->count(), 3);

  int pending = 0;
  for (const auto& id : ids) pending += this->Get(id)->status() == v1::JOB_STATUS_PENDING;
  EXPECT_EQ(pending, 8);
}

TYPED_TEST(JobStoreTest, StalledJobsOutOfAttemptsFail) {
  const v1::Job once = this->Create("once", "{}", "email", /*max_attempts=*/1);
  const v1::Job twice = this->Create("twice", "{}", "email", /*max_attempts=*/2);
  ASSERT_TRUE(this->Claim(once.id(), "r").ok());
  ASSERT_TRUE(this->Claim(twice.id(), "r").ok());

  v1::FindStalledJobsRequest find;
  find.set_stalled_before(NowMs() + 60'000);  // every running job's heartbeat is older
  auto stalled = this->jobs().FindStalled(find);
  ASSERT_TRUE(stalled.ok()) << stalled.status();
  EXPECT_EQ(stalled->jobs_size(), 2);
  find.set_stalled_before(1);
  EXPECT_EQ(this->jobs().FindStalled(find)->jobs_size(), 0);

  v1::ResetStalledJobsRequest reset;
  reset.set_stalled_before(NowMs() + 60'000);
  auto result = this->jobs().ResetStalled(reset);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->count(), 2);
  EXPECT_EQ(result->failed(), 1);
  auto failed = this->Get(once.id());
  EXPECT_EQ(failed->status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(failed->error().code(), "STALLED");
  // Out of attempts: its execution is told, once, by a 'job.failed' event.
  v1::QueryEventsRequest told;
  told.set_execution_id(kJobExecution);
  told.add_event_types("job.failed");
  auto events = this->backend_.events().Query(told);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).step_id(), "once");
  EXPECT_EQ(this->Claim(once.id(), "r").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Get(twice.id())->status(), v1::JOB_STATUS_PENDING);

  // A pending job that has used its attempts (for example, max lowered by hand) is never
  // claimed: neither by id nor by ClaimNext.
  ASSERT_TRUE(this->Claim(twice.id(), "r").ok());
  ASSERT_EQ(
      RunSql(this->backend_.prefix(),
             "UPDATE fm_jobs SET status = 'pending', runner_id = NULL WHERE step_id = 'twice'",
             true),
      1);
  EXPECT_EQ(this->Claim(twice.id(), "r").status().code(), StatusCode::kFailedPrecondition);
  v1::ClaimNextJobsRequest next;
  next.set_runner_id("r");
  EXPECT_TRUE(this->jobs().ClaimNext(next)->jobs().empty());
}

TYPED_TEST(JobStoreTest, FailAndCancel) {
  const v1::Job job = this->Create("fail");
  ASSERT_TRUE(this->Claim(job.id(), "r").ok());
  v1::FailJobRequest fail;
  fail.set_job_id(job.id());
  fail.set_runner_id("r");
  fail.mutable_error()->set_code("SMTP_ERROR");
  fail.mutable_error()->set_message("Connection refused");
  fail.mutable_error()->set_details_json(R"({"port":25})");
  ASSERT_TRUE(this->jobs().Fail(fail).ok());
  auto failed = this->Get(job.id());
  EXPECT_EQ(failed->status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(failed->error().code(), "SMTP_ERROR");
  EXPECT_EQ(failed->error().message(), "Connection refused");
  EXPECT_EQ(nlohmann::json::parse(failed->error().details_json())["port"], 25);

  v1::CancelJobRequest cancel;
  cancel.set_job_id(job.id());
  EXPECT_EQ(this->jobs().Cancel(cancel).status().code(), StatusCode::kFailedPrecondition);
  const v1::Job other = this->Create("cancel");
  cancel.set_job_id(other.id());
  cancel.set_reason("user asked");
  EXPECT_TRUE(this->jobs().Cancel(cancel)->cancelled());
  EXPECT_FALSE(this->jobs().Cancel(cancel)->cancelled());
  EXPECT_EQ(this->Get(other.id())->status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_EQ(this->Claim(other.id(), "r").status().code(), StatusCode::kFailedPrecondition);
  cancel.set_job_id("missing");
  EXPECT_EQ(this->jobs().Cancel(cancel).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreTest, InstanceFencesCheckpointAndProgress) {
  const v1::Job job = this->Create("ckpt");
  v1::ClaimJobWithInstanceRequest claim;
  claim.set_job_id(job.id());
  claim.set_runner_id("r");
  claim.set_instance_id("inst-1");
  auto claimed = this->jobs().ClaimWithInstance(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->job().instance_id(), "inst-1");

  v1::SaveJobCheckpointRequest save;
  save.set_job_id(job.id());
  save.set_instance_id("inst-1");
  save.set_checkpoint_json(R"({"page":3})");
  ASSERT_TRUE(this->jobs().SaveCheckpoint(save).ok());
  save.set_instance_id("inst-2");
  EXPECT_EQ(this->jobs().SaveCheckpoint(save).status().code(), StatusCode::kFailedPrecondition);
  v1::GetJobCheckpointRequest get;
  get.set_job_id(job.id());
  EXPECT_EQ(nlohmann::json::parse(this->jobs().GetCheckpoint(get)->checkpoint_json())["page"], 3);

  v1::UpdateJobProgressRequest progress;
  progress.set_job_id(job.id());
  progress.set_instance_id("inst-1");
  progress.mutable_progress()->set_percent(40);
  progress.mutable_progress()->set_message("halfway-ish");
  ASSERT_TRUE(this->jobs().UpdateProgress(progress).ok());
  EXPECT_EQ(this->Get(job.id())->progress().percent(), 40);
  progress.set_runner_id("someone-else");
  EXPECT_EQ(this->jobs().UpdateProgress(progress).status().code(), StatusCode::kFailedPrecondition);

  v1::IsJobInstanceActiveRequest active;
  active.set_job_id(job.id());
  active.set_instance_id("inst-1");
  EXPECT_TRUE(this->jobs().IsInstanceActive(active)->active());
  active.set_instance_id("inst-2");
  EXPECT_FALSE(this->jobs().IsInstanceActive(active)->active());
  v1::GetJobInstanceIdRequest instance;
  instance.set_job_id(job.id());
  EXPECT_EQ(this->jobs().GetInstanceId(instance)->instance_id(), "inst-1");

  // After a reset the instance is no longer active, but the checkpoint survives for the
  // next instance to resume from.
  ASSERT_TRUE(this->ResetIds({job.id()}).ok());
  active.set_instance_id("inst-1");
  EXPECT_FALSE(this->jobs().IsInstanceActive(active)->active());
  EXPECT_FALSE(this->jobs().GetInstanceId(instance)->has_instance_id());
  save.set_instance_id("inst-1");
  EXPECT_EQ(this->jobs().SaveCheckpoint(save).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(this->jobs().GetCheckpoint(get)->checkpoint_json().empty());
}

TYPED_TEST(JobStoreTest, ListByStatusPagesNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(this->Create(absl::StrCat("list-", i)).id());
  ASSERT_TRUE(this->Claim(ids[0], "r").ok());
  v1::ListJobsByStatusRequest request;
  request.set_status(v1::JOB_STATUS_PENDING);
  request.set_limit(2);
  std::set<std::string> seen;
  int pages = 0;
  int64_t last_created = std::numeric_limits<int64_t>::max();
  while (pages < 10) {
    ++pages;
    auto response = this->jobs().ListByStatus(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& job : response->jobs()) {
      EXPECT_LE(job.created_at(), last_created);
      last_created = job.created_at();
      EXPECT_TRUE(seen.insert(job.id()).second);
    }
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(seen, (std::set<std::string>(ids.begin() + 1, ids.end())));
  EXPECT_EQ(pages, 2);
}

TYPED_TEST(JobStoreTest, DeleteOldRemovesOnlyFinishedJobs) {
  const v1::Job done = this->Create("done");
  ASSERT_TRUE(this->Claim(done.id(), "r").ok());
  ASSERT_TRUE(this->Complete(done.id(), "r").ok());
  const v1::Job pending = this->Create("pending");
  v1::DeleteOldJobsRequest request;
  request.set_before(1);
  EXPECT_EQ(this->jobs().DeleteOld(request)->deleted(), 0);
  request.set_before(NowMs() + 60'000);
  EXPECT_EQ(this->jobs().DeleteOld(request)->deleted(), 1);
  EXPECT_EQ(this->Get(done.id()).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->Get(pending.id()).ok());
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadJobRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(JobStore&)> call;
};

std::vector<BadJobRequest> BadJobRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  auto create = [](const std::function<void(v1::CreateJobRequest&)>& edit) {
    return [edit](JobStore& s) {
      v1::CreateJobRequest r;
      r.set_execution_id(kJobExecution);
      r.set_step_id("bad");
      r.set_handler("h");
      edit(r);
      return s.Create(r).status();
    };
  };
  return {
      {"create: empty execution_id", kInvalid,
       create([](v1::CreateJobRequest& r) { r.clear_execution_id(); })},
      {"create: empty handler", kInvalid,
       create([](v1::CreateJobRequest& r) { r.clear_handler(); })},
      {"create: input not JSON", kInvalid,
       create([](v1::CreateJobRequest& r) { r.set_input_json("{nope"); })},
      {"create: \\u0000 in input", kInvalid,
       create([](v1::CreateJobRequest& r) { r.set_input_json(R"({"a":"\u0000"})"); })},
      {"create: zero max_attempts", kInvalid,
       create([](v1::CreateJobRequest& r) { r.set_max_attempts(0); })},
      {"create: negative heartbeat_ms", kInvalid,
       create([](v1::CreateJobRequest& r) { r.set_heartbeat_ms(-1); })},
      {"create: NUL in step_id", kInvalid,
       create([](v1::CreateJobRequest& r) { r.set_step_id(std::string("a\0b", 3)); })},
      {"get: empty id", kInvalid, [](JobStore& s) { return s.Get(v1::GetJobRequest()).status(); }},
      {"get: over-long id", kInvalid,
       [](JobStore& s) {
         v1::GetJobRequest r;
         r.set_job_id(std::string(300, 'j'));
         return s.Get(r).status();
       }},
      {"get for step: no step", kInvalid,
       [](JobStore& s) {
         v1::GetJobForStepRequest r;
         r.set_execution_id(kJobExecution);
         return s.GetForStep(r).status();
       }},
      {"claim: empty runner", kInvalid,
       [](JobStore& s) {
         v1::ClaimJobRequest r;
         r.set_job_id("j");
         return s.Claim(r).status();
       }},
      {"claim next: negative max_jobs", kInvalid,
       [](JobStore& s) {
         v1::ClaimNextJobsRequest r;
         r.set_runner_id("r");
         r.set_max_jobs(-1);
         return s.ClaimNext(r).status();
       }},
      {"claim next: max_jobs over maximum", kInvalid,
       [](JobStore& s) {
         v1::ClaimNextJobsRequest r;
         r.set_runner_id("r");
         r.set_max_jobs(10'001);
         return s.ClaimNext(r).status();
       }},
      {"claim next: empty handler name", kInvalid,
       [](JobStore& s) {
         v1::ClaimNextJobsRequest r;
         r.set_runner_id("r");
         r.add_handlers("");
         return s.ClaimNext(r).status();
       }},
      {"claim with instance: no instance", kInvalid,
       [](JobStore& s) {
         v1::ClaimJobWithInstanceRequest r;
         r.set_job_id("j");
         r.set_runner_id("r");
         return s.ClaimWithInstance(r).status();
       }},
      {"heartbeat: neither runner nor instance", kInvalid,
       [](JobStore& s) {
         v1::HeartbeatJobRequest r;
         r.set_job_id("j");
         return s.Heartbeat(r).status();
       }},
      {"heartbeat: unknown job", StatusCode::kNotFound,
       [](JobStore& s) {
         v1::HeartbeatJobRequest r;
         r.set_job_id("no-such-job");
         r.set_runner_id("r");
         return s.Heartbeat(r).status();
       }},
      {"complete: result not JSON", kInvalid,
       [](JobStore& s) {
         v1::CompleteJobRequest r;
         r.set_job_id("j");
         r.set_runner_id("r");
         r.set_result_json("undefined");
         return s.Complete(r).status();
       }},
      {"fail: no error code", kInvalid,
       [](JobStore& s) {
         v1::FailJobRequest r;
         r.set_job_id("j");
         r.set_runner_id("r");
         return s.Fail(r).status();
       }},
      {"fail: invalid error details", kInvalid,
       [](JobStore& s) {
         v1::FailJobRequest r;
         r.set_job_id("j");
         r.set_runner_id("r");
         r.mutable_error()->set_code("E");
         r.mutable_error()->set_details_json("{");
         return s.Fail(r).status();
       }},
      {"cancel: empty id", kInvalid,
       [](JobStore& s) { return s.Cancel(v1::CancelJobRequest()).status(); }},
      {"find stalled: no stalled_before", kInvalid,
       [](JobStore& s) { return s.FindStalled(v1::FindStalledJobsRequest()).status(); }},
      {"find stalled: limit over maximum", kInvalid,
       [](JobStore& s) {
         v1::FindStalledJobsRequest r;
         r.set_stalled_before(1);
         r.set_limit(10'001);
         return s.FindStalled(r).status();
       }},
      {"reset stalled: neither ids nor time", kInvalid,
       [](JobStore& s) { return s.ResetStalled(v1::ResetStalledJobsRequest()).status(); }},
      {"reset stalled: negative stalled_before", kInvalid,
       [](JobStore& s) {
         v1::ResetStalledJobsRequest r;
         r.add_job_ids("j");
         r.set_stalled_before(-1);
         return s.ResetStalled(r).status();
       }},
      {"list by status: unspecified status", kInvalid,
       [](JobStore& s) { return s.ListByStatus(v1::ListJobsByStatusRequest()).status(); }},
      {"list by status: unknown status value", kInvalid,
       [](JobStore& s) {
         v1::ListJobsByStatusRequest r;
         r.set_status(static_cast<v1::JobStatus>(42));
         return s.ListByStatus(r).status();
       }},
      {"list by status: garbage page token", kInvalid,
       [](JobStore& s) {
         v1::ListJobsByStatusRequest r;
         r.set_status(v1::JOB_STATUS_PENDING);
         r.set_page_token("not-a-cursor");
         return s.ListByStatus(r).status();
       }},
      {"list by execution: negative limit", kInvalid,
       [](JobStore& s) {
         v1::ListJobsByExecutionRequest r;
         r.set_execution_id(kJobExecution);
         r.set_limit(-5);
         return s.ListByExecution(r).status();
       }},
      {"save checkpoint: checkpoint not JSON", kInvalid,
       [](JobStore& s) {
         v1::SaveJobCheckpointRequest r;
         r.set_job_id("j");
         r.set_instance_id("i");
         r.set_checkpoint_json("[1,");
         return s.SaveCheckpoint(r).status();
       }},
      {"get checkpoint: unknown job", StatusCode::kNotFound,
       [](JobStore& s) {
         v1::GetJobCheckpointRequest r;
         r.set_job_id("no-such-job");
         return s.GetCheckpoint(r).status();
       }},
      {"update progress: percent over 100", kInvalid,
       [](JobStore& s) {
         v1::UpdateJobProgressRequest r;
         r.set_job_id("j");
         r.set_instance_id("i");
         r.mutable_progress()->set_percent(101);
         return s.UpdateProgress(r).status();
       }},
      {"update progress: no progress", kInvalid,
       [](JobStore& s) {
         v1::UpdateJobProgressRequest r;
         r.set_job_id("j");
         r.set_instance_id("i");
         return s.UpdateProgress(r).status();
       }},
      {"is instance active: no instance", kInvalid,
       [](JobStore& s) {
         v1::IsJobInstanceActiveRequest r;
         r.set_job_id("j");
         return s.IsInstanceActive(r).status();
       }},
      {"get instance id: control character in id", kInvalid,
       [](JobStore& s) {
         v1::GetJobInstanceIdRequest r;
         r.set_job_id("a\nb");
         return s.GetInstanceId(r).status();
       }},
      {"delete old: no before", kInvalid,
       [](JobStore& s) { return s.DeleteOld(v1::DeleteOldJobsRequest()).status(); }},
  };
}

TYPED_TEST(JobStoreTest, MalformedRequestsGetTheirStatusCode) {
  const auto cases = BadJobRequests();
  ASSERT_GE(cases.size(), 20u);
  for (const BadJobRequest& c : cases) {
    const absl::Status status = c.call(this->jobs());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  v1::ListJobsByExecutionRequest list;
  list.set_execution_id(kJobExecution);
  EXPECT_EQ(this->jobs().ListByExecution(list)->jobs_size(), 0);  // nothing half-written
}

TYPED_TEST(JobStoreTest, RetryPutsAFailedJobBackWithAllItsAttempts) {
  const v1::Job job = this->Create("retry", R"({"n":7})", "email", 1);
  ASSERT_TRUE(this->Claim(job.id(), "r").ok());
  ASSERT_TRUE(this->Fail(job.id(), "r", "SMTP_ERROR").ok());
  ASSERT_EQ(this->Get(job.id())->status(), v1::JOB_STATUS_FAILED);

  v1::RetryJobRequest retry;
  retry.set_job_id(job.id());
  auto retried = this->jobs().Retry(retry);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->job().status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(retried->job().attempts(), 0);
  EXPECT_EQ(retried->job().error().code(), "");
  EXPECT_FALSE(retried->job().has_runner_id());
  EXPECT_EQ(nlohmann::json::parse(retried->job().input_json())["n"], 7);
  // Claimable again, by anyone.
  auto claimed = this->Claim(job.id(), "r2");
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->attempts(), 1);

  // Only a failed job: this one is running now.
  EXPECT_EQ(this->jobs().Retry(retry).status().code(), StatusCode::kFailedPrecondition);
  retry.set_job_id("no-such-job");
  EXPECT_EQ(this->jobs().Retry(retry).status().code(), StatusCode::kNotFound);
  retry.set_job_id("");
  EXPECT_EQ(this->jobs().Retry(retry).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(JobStoreTest, SixteenOperatorsRacingRetryOneWins) {
  const v1::Job job = this->Create("retry-race", R"({})", "email", 1);
  ASSERT_TRUE(this->Claim(job.id(), "r").ok());
  ASSERT_TRUE(this->Fail(job.id(), "r", "E").ok());
  constexpr int kThreads = 16;
  std::atomic<int> winners{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      v1::RetryJobRequest retry;
      retry.set_job_id(job.id());
      auto result = this->jobs().Retry(retry);
      if (result.ok()) {
        ++winners;
      } else if (result.status().code() == StatusCode::kFailedPrecondition) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TYPED_TEST(JobStoreTest, ListByStatusFiltersByHandler) {
  const v1::Job email = this->Create("handler-1", R"({})", "email");
  const v1::Job sms = this->Create("handler-2", R"({})", "sms");
  const v1::Job email2 = this->Create("handler-3", R"({})", "email");
  v1::ListJobsByStatusRequest request;
  request.set_status(v1::JOB_STATUS_PENDING);
  request.set_handler("email");
  auto response = this->jobs().ListByStatus(request);
  ASSERT_TRUE(response.ok()) << response.status();
  std::set<std::string> ids;
  for (const auto& job : response->jobs()) ids.insert(job.id());
  EXPECT_EQ(ids, (std::set<std::string>{email.id(), email2.id()}));
  request.set_handler("sms");
  response = this->jobs().ListByStatus(request);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->jobs_size(), 1);
  EXPECT_EQ(response->jobs(0).id(), sms.id());
  request.set_handler("");
  EXPECT_EQ(this->jobs().ListByStatus(request).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey::testing
