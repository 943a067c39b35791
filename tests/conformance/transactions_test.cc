// Transactions conformance: every test runs against the PostgreSQL store, the batched stack
// and the remote client talking to a real server. Commits are built with the C++ client's
// builder (client/transaction.h), so the builder is tested against every backend too.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/transaction.h"
#include "core/job_rules.h"
#include "core/resume_token_rules.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;
using client::Transaction;

constexpr const char* kBase = "txn-base";      // exists at version 1, waiting
constexpr const char* kWorker = "txn-worker";  // has a job running for runner r1

v1::Execution TxExecution(const std::string& id, v1::ExecutionStatus status,
                          const std::string& step = "start") {
  v1::Execution e;
  e.set_id(id);
  e.set_flow_id("flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id(step);
  e.set_status(status);
  return e;
}

v1::Event TxEvent(const std::string& execution_id, const std::string& type) {
  v1::Event event;
  event.set_execution_id(execution_id);
  event.set_event_type(type);
  return event;
}

v1::CreateJobRequest MakeJob(const std::string& execution_id, const std::string& input) {
  v1::CreateJobRequest job;
  job.set_execution_id(execution_id);
  job.set_step_id("work");
  job.set_handler("h");
  job.set_input_json(input);
  return job;
}

template <typename Backend>
class TransactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {kBase, kWorker}) {
      v1::CreateExecutionRequest request;
      *request.mutable_execution() = TxExecution(id, v1::EXECUTION_STATUS_WAITING);
      ASSERT_TRUE(backend_.executions().Create(request).ok());
    }
    auto job = backend_.jobs().Create(MakeJob(kWorker, "{}"));
    ASSERT_TRUE(job.ok()) << job.status();
    worker_job_ = job->job().id();
    v1::ClaimJobRequest claim;
    claim.set_job_id(worker_job_);
    claim.set_runner_id("r1");
    ASSERT_TRUE(backend_.jobs().Claim(claim).ok());
  }

  Transaction Txn() { return Transaction(backend_.transactions()); }
  int64_t Sql(const std::string& sql) { return RunSql(backend_.prefix(), sql); }
  int64_t Events(const std::string& execution_id) {
    return Sql(
        absl::StrCat("SELECT count(*) FROM fm_events WHERE execution_id = '", execution_id, "'"));
  }
  int64_t Jobs(const std::string& execution_id) {
    return Sql(
        absl::StrCat("SELECT count(*) FROM fm_jobs WHERE execution_id = '", execution_id, "'"));
  }
  int64_t VersionOf(const std::string& execution_id) {
    return Sql(absl::StrCat("SELECT COALESCE(max(version), 0) FROM fm_executions WHERE id = '",
                            execution_id, "'"));
  }
  std::string NewToken(const std::string& execution_id = kBase) {
    v1::GenerateResumeTokenRequest request;
    request.set_execution_id(execution_id);
    request.set_step_id("approve");
    auto generated = backend_.tokens().Generate(request);
    EXPECT_TRUE(generated.ok()) << generated.status();
    return generated.ok() ? generated->token().token() : "";
  }

  Backend backend_;
  std::string worker_job_;
};

TYPED_TEST_SUITE(TransactionsTest, Backends, BackendNames);

TYPED_TEST(TransactionsTest, ResumeCommitsEveryOperation) {
  const std::string token = this->NewToken();
  auto committed = this->Txn()
                       .IfTokenPending(token)
                       .MarkResumeTokenUsed(token)
                       .SaveExecution(TxExecution(kBase, v1::EXECUTION_STATUS_RUNNING), 1)
                       .RecordEvents({TxEvent(kBase, "resumed")})
                       .Commit();
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(committed->results_size(), 3);
  EXPECT_EQ(committed->results(0).mark_resume_token_used().token().status(),
            v1::RESUME_TOKEN_STATUS_USED);
  EXPECT_EQ(committed->results(1).save_execution().version(), 2);
  EXPECT_GT(committed->results(2).record_events().events(0).id(), 0);

  v1::GetExecutionRequest get;
  get.set_execution_id(kBase);
  auto execution = this->backend_.executions().Get(get);
  ASSERT_TRUE(execution.ok());
  EXPECT_EQ(execution->execution().status(), v1::EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(execution->execution().version(), 2);
  EXPECT_EQ(this->Events(kBase), 1);
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(token);
  EXPECT_EQ(this->backend_.tokens().Validate(validate)->reason(), "used");
}

// Five operations; in turn each one fails at run time (a stale expected_version, or a fenced
// completion by the wrong runner). Nothing of the operations before it may remain.
TYPED_TEST(TransactionsTest, FailureAtAnyOperationWritesNothing) {
  constexpr int kOps = 5;
  for (int k = 0; k <= kOps; ++k) {  // k == kOps: no failure, everything is written
    SCOPED_TRACE(absl::StrCat("failing operation ", k));
    Transaction txn = this->Txn();
    const std::string fresh = absl::StrCat("txn-fresh-", k);
    const bool stale_save = k % 2 == 0;
    for (int i = 0; i < kOps; ++i) {
      if (i == k && stale_save) {
        txn.SaveExecution(TxExecution(kBase, v1::EXECUTION_STATUS_RUNNING), 99);
        continue;
      }
      if (i == k) {
        v1::CompleteJobRequest complete;
        complete.set_job_id(this->worker_job_);
        complete.set_runner_id("not-r1");
        txn.CompleteJob(complete);
        continue;
      }
      switch (i) {
        case 0:
          txn.CreateExecution(TxExecution(fresh, v1::EXECUTION_STATUS_PENDING));
          break;
        case 1:
          txn.RecordEvents({TxEvent(kBase, "a"), TxEvent(kBase, "b")});
          break;
        case 2:
          txn.CreateJob(MakeJob(kBase, absl::StrCat("{\"k\":", k, "}")));
          break;
        case 3:
          txn.SetContext(kBase, absl::StrCat("key-", k), R"({"v":1})");
          break;
        case 4:
          txn.SaveExecution(TxExecution(kBase, v1::EXECUTION_STATUS_RUNNING), 1);
          break;
      }
    }
    auto committed = txn.Commit();
    if (k == kOps) {
      ASSERT_TRUE(committed.ok()) << committed.status();
      EXPECT_EQ(this->VersionOf(fresh), 1);
      EXPECT_EQ(this->Events(kBase), 2);
      EXPECT_EQ(this->Jobs(kBase), 1);
      EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_context"), 1);
      EXPECT_EQ(this->VersionOf(kBase), 2);
      continue;
    }
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.status().code(),
              stale_save ? StatusCode::kAborted : StatusCode::kFailedPrecondition)
        << committed.status();
    EXPECT_TRUE(
        absl::StartsWith(committed.status().message(), absl::StrCat("operations[", k, "]: ")))
        << committed.status();
    EXPECT_EQ(this->VersionOf(fresh), 0);
    EXPECT_EQ(this->Events(kBase), 0);
    EXPECT_EQ(this->Jobs(kBase), 0);
    EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_context"), 0);
    EXPECT_EQ(this->VersionOf(kBase), 1);
    EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_jobs WHERE status = 'running'"), 1);
  }
}

TYPED_TEST(TransactionsTest, ConcurrentCommitsOnOneVersionHaveOneWinner) {
  constexpr int kThreads = 64;
  std::atomic<int> wins{0};
  std::atomic<int> aborted{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto committed =
          this->Txn()
              .IfVersion(kBase, 1)
              .SaveExecution(TxExecution(kBase, v1::EXECUTION_STATUS_RUNNING, absl::StrCat("s", t)),
                             1)
              .RecordEvents({TxEvent(kBase, "step"), TxEvent(kBase, "step")})
              .CreateJob(MakeJob(kBase, absl::StrCat("{\"t\":", t, "}")))
              .Commit();
      if (committed.ok()) {
        ++wins;
      } else if (committed.status().code() == StatusCode::kAborted) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(this->VersionOf(kBase), 2);
  EXPECT_EQ(this->Events(kBase), 2);
  EXPECT_EQ(this->Jobs(kBase), 1);
}

// Commits that fail among concurrent ones (which the batched backends group into one
// transaction, a savepoint each) fail alone: the others are whole, the failed ones absent.
TYPED_TEST(TransactionsTest, ConcurrentCommitsFailAlone) {
  constexpr int kThreads = 32;
  std::vector<absl::Status> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = absl::StrCat("txn-group-", t);
      Transaction txn = this->Txn();
      txn.CreateExecution(TxExecution(id, v1::EXECUTION_STATUS_RUNNING))
          .RecordEvents({TxEvent(id, "started")})
          .CreateJob(MakeJob(id, "{}"));
      if (t % 2 == 1) txn.SaveExecution(TxExecution(id, v1::EXECUTION_STATUS_WAITING), 5);
      outcomes[t] = txn.Commit().status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE(t);
    const std::string id = absl::StrCat("txn-group-", t);
    if (t % 2 == 0) {
      EXPECT_TRUE(outcomes[t].ok()) << outcomes[t];
      EXPECT_EQ(this->VersionOf(id), 1);
      EXPECT_EQ(this->Events(id), 1);
      EXPECT_EQ(this->Jobs(id), 1);
    } else {
      EXPECT_EQ(outcomes[t].code(), StatusCode::kAborted) << outcomes[t];
      EXPECT_TRUE(absl::StartsWith(outcomes[t].message(), "operations[3]: ")) << outcomes[t];
      EXPECT_EQ(this->VersionOf(id), 0);
      EXPECT_EQ(this->Events(id), 0);
      EXPECT_EQ(this->Jobs(id), 0);
    }
  }
}

TYPED_TEST(TransactionsTest, ConditionsHoldOrFailWithTheirCodes) {
  const std::string pending = this->NewToken();
  const std::string used = this->NewToken();
  v1::MarkResumeTokenUsedRequest mark;
  mark.set_token(used);
  ASSERT_TRUE(this->backend_.tokens().MarkUsed(mark).ok());
  v1::AcquireLockRequest acquire;
  acquire.set_execution_id(kBase);
  acquire.set_owner("engine-1");
  acquire.set_ttl_ms(60'000);
  auto lease = this->backend_.executions().AcquireLock(acquire);
  ASSERT_TRUE(lease.ok() && lease->acquired());
  auto pending_job = this->backend_.jobs().Create(MakeJob(kWorker, R"({"p":1})"));
  ASSERT_TRUE(pending_job.ok());

  struct Case {
    const char* name;
    std::function<void(Transaction&)> condition;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {"version holds", [](Transaction& t) { t.IfVersion(kBase, 1); }, StatusCode::kOk},
      {"version differs", [](Transaction& t) { t.IfVersion(kBase, 7); }, StatusCode::kAborted},
      {"version of missing", [](Transaction& t) { t.IfVersion("nope", 1); }, StatusCode::kNotFound},
      {"absent holds", [](Transaction& t) { t.IfAbsent("nope"); }, StatusCode::kOk},
      {"absent fails", [](Transaction& t) { t.IfAbsent(kBase); }, StatusCode::kFailedPrecondition},
      {"job running", [&](Transaction& t) { t.IfJobRunning(this->worker_job_, "r1"); },
       StatusCode::kOk},
      {"job other runner", [&](Transaction& t) { t.IfJobRunning(this->worker_job_, "r2"); },
       StatusCode::kFailedPrecondition},
      {"job pending", [&](Transaction& t) { t.IfJobRunning(pending_job->job().id(), "r1"); },
       StatusCode::kFailedPrecondition},
      {"job missing", [](Transaction& t) { t.IfJobRunning("nope", "r1"); }, StatusCode::kNotFound},
      {"token pending", [&](Transaction& t) { t.IfTokenPending(pending); }, StatusCode::kOk},
      {"token used", [&](Transaction& t) { t.IfTokenPending(used); },
       StatusCode::kFailedPrecondition},
      {"token unknown",
       [](Transaction& t) { t.IfTokenPending("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); },
       StatusCode::kNotFound},
      {"lease held",
       [&](Transaction& t) { t.IfLeaseHeld(kBase, "engine-1", lease->fencing_token()); },
       StatusCode::kOk},
      {"lease stale token",
       [&](Transaction& t) { t.IfLeaseHeld(kBase, "engine-1", lease->fencing_token() + 1); },
       StatusCode::kFailedPrecondition},
      {"lease other owner",
       [&](Transaction& t) { t.IfLeaseHeld(kBase, "engine-2", lease->fencing_token()); },
       StatusCode::kFailedPrecondition},
  };
  int64_t written = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Transaction txn = this->Txn();
    txn.IfVersion(kWorker, 1);  // holds: the failing condition is the second
    c.condition(txn);
    txn.RecordEvents({TxEvent(kBase, c.name)});
    auto committed = txn.Commit();
    EXPECT_EQ(committed.status().code(), c.code) << committed.status();
    if (committed.ok()) {
      ++written;
    } else {
      EXPECT_TRUE(absl::StartsWith(committed.status().message(), "conditions[1]: "))
          << committed.status();
    }
    EXPECT_EQ(this->Events(kBase), written);
  }
}

TYPED_TEST(TransactionsTest, ResultsAreOnePerOperationInOrder) {
  const std::string fresh = "txn-new";
  v1::GenerateResumeTokenRequest wait;
  wait.set_execution_id(fresh);
  wait.set_step_id("approve");
  const v1::CreateJobRequest job = MakeJob(fresh, R"({"n":1})");
  auto committed =
      this->Txn()
          .IfAbsent(fresh)
          .CreateExecution(TxExecution(fresh, v1::EXECUTION_STATUS_RUNNING))
          .RecordEvents({TxEvent(fresh, "started"), TxEvent(fresh, "step")})
          .CreateJob(job)
          .CancelJob(DeriveJobId(fresh, "work", "h", NormalizeJson(R"({"n":1})")), "changed course")
          .GenerateResumeToken(wait)
          .SetContext(fresh, "big", R"({"rows":[1,2,3]})")
          .SaveExecution(TxExecution(fresh, v1::EXECUTION_STATUS_WAITING), 1)
          .DeleteContext(fresh, "big")
          .Commit();
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(committed->results_size(), 8);
  EXPECT_TRUE(committed->results(0).create_execution().created());
  EXPECT_EQ(committed->results(0).create_execution().execution().version(), 1);
  const auto& events = committed->results(1).record_events().events();
  ASSERT_EQ(events.size(), 2);
  EXPECT_LT(events[0].id(), events[1].id());
  EXPECT_EQ(committed->results(2).create_job().job().id(),
            DeriveJobId(fresh, "work", "h", NormalizeJson(R"({"n":1})")));
  // Operations see the writes before them: the job created just before is cancelled.
  EXPECT_TRUE(committed->results(3).cancel_job().cancelled());
  const v1::ResumeToken& token = committed->results(4).generate_resume_token().token();
  EXPECT_EQ(token.id(), ResumeTokenHash(token.token()));
  EXPECT_EQ(committed->results(5).set_context().reference().ref(), "storage://txn-new/big");
  EXPECT_EQ(committed->results(6).save_execution().version(), 2);
  EXPECT_TRUE(committed->results(7).delete_context().deleted());

  v1::ValidateResumeTokenRequest validate;
  validate.set_token(token.token());
  EXPECT_TRUE(this->backend_.tokens().Validate(validate)->valid());
  EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_jobs WHERE status = 'cancelled'"), 1);
}

TYPED_TEST(TransactionsTest, RequestIdRepeatAnswersTheFirstCommit) {
  v1::GenerateResumeTokenRequest wait;
  wait.set_execution_id(kBase);
  wait.set_step_id("approve");
  auto txn = this->Txn()
                 .WithRequestId("commit-1")
                 .SaveExecution(TxExecution(kBase, v1::EXECUTION_STATUS_WAITING), 1)
                 .RecordEvents({TxEvent(kBase, "waiting")})
                 .CreateJob(MakeJob(kBase, "{}"))
                 .GenerateResumeToken(wait);
  auto first = txn.Commit();
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = txn.Commit();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->results(0).save_execution().version(), 2);
  EXPECT_EQ(again->results(1).record_events().events(0).id(),
            first->results(1).record_events().events(0).id());
  EXPECT_EQ(again->results(2).create_job().job().id(), first->results(2).create_job().job().id());
  // The token comes back under a new value, which works; the first value no longer does.
  const std::string reissued = again->results(3).generate_resume_token().token().token();
  EXPECT_NE(reissued, first->results(3).generate_resume_token().token().token());
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(reissued);
  EXPECT_TRUE(this->backend_.tokens().Validate(validate)->valid());
  EXPECT_EQ(this->VersionOf(kBase), 2);
  EXPECT_EQ(this->Events(kBase), 1);
  EXPECT_EQ(this->Jobs(kBase), 1);
  EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_resume_tokens"), 1);

  auto different =
      this->Txn().WithRequestId("commit-1").RecordEvents({TxEvent(kBase, "other")}).Commit();
  EXPECT_EQ(different.status().code(), StatusCode::kAlreadyExists) << different.status();
  EXPECT_EQ(this->Events(kBase), 1);
}

TYPED_TEST(TransactionsTest, MalformedCommitsNameTheIndex) {
  const std::string big(kMaxCommitContextBytes + 1, ' ');
  struct Case {
    const char* name;
    std::function<void(Transaction&)> build;
    StatusCode code;
    const char* prefix;
  };
  const std::vector<Case> cases = {
      {"no operation", [](Transaction&) {}, StatusCode::kInvalidArgument, "operations: "},
      {"too many operations",
       [](Transaction& t) {
         for (int i = 0; i <= kMaxCommitOperations; ++i) t.DeleteExecution("x");
       },
       StatusCode::kInvalidArgument, "operations: "},
      {"too many conditions",
       [](Transaction& t) {
         for (int i = 0; i <= kMaxCommitConditions; ++i) t.IfAbsent("x");
         t.DeleteExecution("x");
       },
       StatusCode::kInvalidArgument, "conditions: "},
      {"bad operation",
       [](Transaction& t) { t.DeleteExecution("x").DeleteExecution("x").DeleteExecution(""); },
       StatusCode::kInvalidArgument, "operations[2]: execution_id"},
      {"bad condition",
       [](Transaction& t) { t.IfAbsent("x").IfVersion("", 1).DeleteExecution("x"); },
       StatusCode::kInvalidArgument, "conditions[1]: execution_id"},
      {"nested request id",
       [](Transaction& t) {
         t.RecordEvents({TxEvent(kBase, "e")});
         v1::GenerateResumeTokenRequest g;
         g.set_execution_id(kBase);
         g.set_step_id("s");
         g.set_request_id("r");
         t.GenerateResumeToken(g);
       },
       StatusCode::kInvalidArgument, "operations[1]: generate_resume_token.request_id"},
      {"context not JSON", [](Transaction& t) { t.SetContext(kBase, "k", "{nope"); },
       StatusCode::kInvalidArgument, "operations[0]: value_json"},
      {"context over 1 MiB", [&](Transaction& t) { t.SetContext(kBase, "k", big); },
       StatusCode::kResourceExhausted, "operations[0]: value_json"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Transaction txn = this->Txn();
    c.build(txn);
    auto committed = txn.Commit();
    EXPECT_EQ(committed.status().code(), c.code) << committed.status();
    EXPECT_TRUE(absl::StartsWith(committed.status().message(), c.prefix)) << committed.status();
  }
  EXPECT_EQ(this->Events(kBase), 0);
  EXPECT_EQ(this->Sql("SELECT count(*) FROM fm_resume_tokens"), 0);
}

}  // namespace
}  // namespace flowmonkey::testing
