// ExecutionStore conformance: every test runs against the PostgreSQL store and against the
// remote client talking to a real server.

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

v1::Execution NewExecution(const std::string& id) {
  v1::Execution e;
  e.set_id(id);
  e.set_flow_id("order-flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("validate");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  e.set_context_json(R"({"order":{"id":42,"items":["a","b"]},"total":9.5})");
  return e;
}

template <typename Backend>
class ExecutionStoreTest : public ::testing::Test {
 protected:
  ExecutionStore& store() { return backend_.executions(); }

  v1::Execution Create(const v1::Execution& e) {
    v1::CreateExecutionRequest request;
    *request.mutable_execution() = e;
    auto response = store().Create(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->execution() : v1::Execution();
  }
  absl::StatusOr<v1::Execution> Get(const std::string& id) {
    v1::GetExecutionRequest request;
    request.set_execution_id(id);
    auto response = store().Get(request);
    if (!response.ok()) return response.status();
    return response->execution();
  }
  absl::StatusOr<v1::SaveExecutionResponse> Save(const v1::Execution& e,
                                                 std::optional<int64_t> expected = std::nullopt) {
    v1::SaveExecutionRequest request;
    *request.mutable_execution() = e;
    if (expected) request.set_expected_version(*expected);
    return store().Save(request);
  }

  Backend backend_;
};

TYPED_TEST_SUITE(ExecutionStoreTest, Backends, BackendNames);

TYPED_TEST(ExecutionStoreTest, EveryFieldRoundTrips) {
  v1::Execution e = NewExecution("exec-all-fields");
  e.set_status(v1::EXECUTION_STATUS_WAITING);
  e.set_wake_at(1'700'000'000'000);
  e.set_wait_reason("approval");
  e.mutable_error()->set_code("E_TIMEOUT");
  e.mutable_error()->set_message("took too long");
  e.mutable_error()->set_step_id("validate");
  e.mutable_error()->set_details_json(R"({"attempt":3})");
  e.mutable_error()->set_timestamp(1'700'000'000'001);
  e.set_step_count(7);
  e.set_history_json(R"([{"step":"a","ok":true}])");
  e.set_tenant_id("tenant-a");
  e.set_metadata_json(R"({"source":"api"})");
  e.set_created_at(1'600'000'000'000);
  e.set_updated_at(1'600'000'000'500);
  e.set_idempotency_key("key-1");
  e.set_idempotency_expires_at(4'000'000'000'000);
  e.mutable_cancellation()->set_source(v1::CANCELLATION_SOURCE_USER);
  e.mutable_cancellation()->set_reason("asked to");
  e.mutable_cancellation()->set_cancelled_at(1'650'000'000'000);
  e.set_parent_execution_id("parent-1");
  e.set_wait_started_at(1'690'000'000'000);
  e.mutable_timeout_config()->set_execution_timeout_ms(60'000);
  e.mutable_timeout_config()->set_wait_timeout_ms(30'000);
  (*e.mutable_retry_attempts())["validate"] = 2;
  (*e.mutable_retry_attempts())["charge"] = 1;

  ASSERT_TRUE(this->Save(e).ok());
  auto got = this->Get(e.id());
  ASSERT_TRUE(got.ok()) << got.status();
  e.set_version(1);
  // JSON comes back normalised by jsonb: compare it by meaning, the rest field by field.
  EXPECT_EQ(nlohmann::json::parse(got->context_json()), nlohmann::json::parse(e.context_json()));
  EXPECT_EQ(nlohmann::json::parse(got->history_json()), nlohmann::json::parse(e.history_json()));
  EXPECT_EQ(nlohmann::json::parse(got->metadata_json()), nlohmann::json::parse(e.metadata_json()));
  EXPECT_EQ(nlohmann::json::parse(got->error().details_json()),
            nlohmann::json::parse(e.error().details_json()));
  v1::Execution a = *got, b = e;
  for (v1::Execution* x : {&a, &b}) {
    x->clear_context_json();
    x->clear_history_json();
    x->clear_metadata_json();
    x->mutable_error()->clear_details_json();
  }
  EXPECT_EQ(a.DebugString(), b.DebugString());
}

TYPED_TEST(ExecutionStoreTest, OptionalFieldsStayAbsent) {
  const v1::Execution e = NewExecution("exec-minimal");
  const v1::Execution created = this->Create(e);
  EXPECT_GT(created.created_at(), 0);
  auto got = this->Get(e.id());
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_wake_at());
  EXPECT_FALSE(got->has_error());
  EXPECT_FALSE(got->has_tenant_id());
  EXPECT_FALSE(got->has_cancellation());
  EXPECT_FALSE(got->has_timeout_config());
  EXPECT_TRUE(got->history_json().empty());
  EXPECT_TRUE(got->metadata_json().empty());
  EXPECT_EQ(got->version(), 1);
  EXPECT_EQ(got->created_at(), created.created_at());
}

TYPED_TEST(ExecutionStoreTest, SaveUpsertsAndIncrementsVersion) {
  v1::Execution e = NewExecution("exec-upsert");
  auto first = this->Save(e);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created());
  EXPECT_EQ(first->version(), 1);
  e.set_current_step_id("charge");
  e.set_step_count(1);
  auto second = this->Save(e);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->version(), 2);
  EXPECT_EQ(second->created_at(), first->created_at());
  auto got = this->Get(e.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->current_step_id(), "charge");
  EXPECT_EQ(got->version(), 2);
}

TYPED_TEST(ExecutionStoreTest, ExpectedVersionRejectsStaleWrites) {
  v1::Execution e = NewExecution("exec-cas");
  ASSERT_TRUE(this->Save(e, 0).ok());
  EXPECT_EQ(this->Save(e, 0).status().code(), StatusCode::kAborted);
  EXPECT_TRUE(this->Save(e, 1).ok());
  EXPECT_EQ(this->Save(e, 1).status().code(), StatusCode::kAborted);
  EXPECT_EQ(this->Save(NewExecution("exec-cas-missing"), 3).status().code(), StatusCode::kNotFound);
  auto got = this->Get(e.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version(), 2);
}

TYPED_TEST(ExecutionStoreTest, UpdateRequiresAnExistingExecution) {
  v1::UpdateExecutionRequest request;
  *request.mutable_execution() = NewExecution("exec-update");
  EXPECT_EQ(this->store().Update(request).status().code(), StatusCode::kNotFound);
  this->Create(request.execution());
  request.mutable_execution()->set_status(v1::EXECUTION_STATUS_COMPLETED);
  request.set_expected_version(1);
  auto updated = this->store().Update(request);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);
  EXPECT_EQ(this->store().Update(request).status().code(), StatusCode::kAborted);
  EXPECT_EQ(this->Get("exec-update")->status(), v1::EXECUTION_STATUS_COMPLETED);
}

TYPED_TEST(ExecutionStoreTest, DeleteReportsWhetherAnythingWasDeleted) {
  this->Create(NewExecution("exec-delete"));
  v1::DeleteExecutionRequest request;
  request.set_execution_id("exec-delete");
  EXPECT_TRUE(this->store().Delete(request)->deleted());
  EXPECT_FALSE(this->store().Delete(request)->deleted());
  EXPECT_EQ(this->Get("exec-delete").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ExecutionStoreTest, CreateRejectsATakenId) {
  this->Create(NewExecution("exec-dup"));
  v1::CreateExecutionRequest request;
  *request.mutable_execution() = NewExecution("exec-dup");
  EXPECT_EQ(this->store().Create(request).status().code(), StatusCode::kAlreadyExists);
}

TYPED_TEST(ExecutionStoreTest, IdempotentCreateReturnsTheFirstExecution) {
  v1::Execution e = NewExecution("exec-idem-1");
  e.set_idempotency_key("order-42");
  v1::CreateExecutionRequest request;
  *request.mutable_execution() = e;
  auto first = this->store().Create(request);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created());
  EXPECT_GT(first->execution().idempotency_expires_at(), first->execution().created_at());
  request.mutable_execution()->set_id("exec-idem-2");
  auto second = this->store().Create(request);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->execution().id(), "exec-idem-1");
  EXPECT_EQ(this->Get("exec-idem-2").status().code(), StatusCode::kNotFound);
  // The same key for another flow is another key.
  request.mutable_execution()->set_flow_id("other-flow");
  EXPECT_TRUE(this->store().Create(request)->created());
}

// jsonb keeps any JSON number exactly; a double cannot. Such numbers are valid input, and
// an invalid 200 kB number is refused with a short message (a long one breaks clients).
TYPED_TEST(ExecutionStoreTest, NumbersBeyondDoubleAreStoredAndErrorsStayShort) {
  const std::string nines(5000, '9');
  v1::Execution e = NewExecution("exec-big-numbers");
  e.set_context_json(R"({"big":1e400,"long":)" + nines + "}");
  this->Create(e);
  auto got = this->Get("exec-big-numbers");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NE(got->context_json().find(nines), std::string::npos);
  v1::CreateExecutionRequest bad;
  *bad.mutable_execution() = NewExecution("exec-bad-number");
  bad.mutable_execution()->set_context_json(R"({"n":)" + std::string(200000, '9') + "x}");
  const absl::Status status = this->store().Create(bad).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), 1024u);
  EXPECT_NE(status.message().find("context_json"), std::string::npos) << status;
}

// The largest accepted window and time: the expiry is their exact sum (no overflow), and
// the key blocks a second execution.
TYPED_TEST(ExecutionStoreTest, IdempotencyWindowAtItsLimitKeepsTheKeyAlive) {
  v1::CreateExecutionRequest request;
  *request.mutable_execution() = NewExecution("exec-window-1");
  request.mutable_execution()->set_idempotency_key("window-limit");
  request.set_idempotency_window_ms(kMaxDurationMs);
  auto first = this->store().Create(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->execution().idempotency_expires_at(),
            first->execution().created_at() + kMaxDurationMs);
  request.mutable_execution()->set_id("exec-window-2");
  auto second = this->store().Create(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->execution().id(), "exec-window-1");
  // Timestamps and timeouts at their limits are stored (the derived deadlines fit BIGINT).
  v1::Execution edge = NewExecution("exec-time-limits");
  edge.set_created_at(kMaxTimestampMs);
  edge.set_wait_started_at(kMaxTimestampMs);
  edge.mutable_timeout_config()->set_execution_timeout_ms(kMaxDurationMs);
  edge.mutable_timeout_config()->set_wait_timeout_ms(kMaxDurationMs);
  this->Create(edge);
  EXPECT_EQ(this->Get("exec-time-limits")->created_at(), kMaxTimestampMs);
}

TYPED_TEST(ExecutionStoreTest, ExpiredIdempotencyKeyNeverBlocks) {
  v1::Execution e = NewExecution("exec-expired-1");
  e.set_idempotency_key("k");
  e.set_idempotency_expires_at(NowMs() - 1000);
  this->Create(e);
  e.set_id("exec-expired-2");
  e.clear_idempotency_expires_at();
  v1::CreateExecutionRequest request;
  *request.mutable_execution() = e;
  auto second = this->store().Create(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created());
  EXPECT_EQ(second->execution().id(), "exec-expired-2");
}

TYPED_TEST(ExecutionStoreTest, ConcurrentIdempotentCreatesYieldOneRow) {
  constexpr int kThreads = 32;
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, failed{0};
  std::vector<std::string> ids(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateExecutionRequest request;
      *request.mutable_execution() = NewExecution(absl::StrCat("exec-race-", i));
      request.mutable_execution()->set_idempotency_key("same-key");
      auto response = this->store().Create(request);
      if (!response.ok()) {
        failed++;
        return;
      }
      created += response->created();
      ids[i] = response->execution().id();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  int rows = 0;
  for (int i = 0; i < kThreads; ++i) rows += this->Get(absl::StrCat("exec-race-", i)).ok();
  EXPECT_EQ(rows, 1);
}

TYPED_TEST(ExecutionStoreTest, ConcurrentSavesWithOneExpectedVersionHaveOneWinner) {
  const v1::Execution e = NewExecution("exec-cas-race");
  this->Create(e);
  constexpr int kThreads = 16;
  std::atomic<int> won{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::Execution mine = e;
      mine.set_step_count(i + 1);
      auto result = this->Save(mine, 1);
      if (result.ok()) {
        won++;
      } else if (result.status().code() == StatusCode::kAborted) {
        aborted++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(this->Get(e.id())->version(), 2);
}

TYPED_TEST(ExecutionStoreTest, FindByStatusPagesInIdOrder) {
  for (int i = 0; i < 5; ++i) {
    v1::Execution e = NewExecution(absl::StrCat("exec-page-", i));
    e.set_status(v1::EXECUTION_STATUS_PENDING);
    this->Create(e);
  }
  this->Create(NewExecution("exec-page-running"));
  v1::FindByStatusRequest request;
  request.set_status(v1::EXECUTION_STATUS_PENDING);
  request.set_limit(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto response = this->store().FindByStatus(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& e : response->executions()) seen.push_back(e.id());
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"exec-page-0", "exec-page-1", "exec-page-2",
                                            "exec-page-3", "exec-page-4"}));
}

TYPED_TEST(ExecutionStoreTest, ListWakeReadyReturnsDueWaitsOldestFirst) {
  const int64_t now = NowMs();
  const struct {
    const char* id;
    v1::ExecutionStatus status;
    int64_t wake_at;
  } rows[] = {
      {"wake-late", v1::EXECUTION_STATUS_WAITING, now - 1000},
      {"wake-early", v1::EXECUTION_STATUS_WAITING, now - 5000},
      {"wake-future", v1::EXECUTION_STATUS_WAITING, now + 60'000},
      {"wake-running", v1::EXECUTION_STATUS_RUNNING, now - 9000},
  };
  for (const auto& r : rows) {
    v1::Execution e = NewExecution(r.id);
    e.set_status(r.status);
    e.set_wake_at(r.wake_at);
    this->Create(e);
  }
  v1::ListWakeReadyRequest request;
  request.set_now(now);
  auto response = this->store().ListWakeReady(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(
      std::vector<std::string>(response->execution_ids().begin(), response->execution_ids().end()),
      (std::vector<std::string>{"wake-early", "wake-late"}));
  ASSERT_EQ(response->executions_size(), 2);
  request.set_ids_only(true);
  request.set_limit(1);
  response = this->store().ListWakeReady(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->executions_size(), 0);
  ASSERT_EQ(response->execution_ids_size(), 1);
  EXPECT_EQ(response->execution_ids(0), "wake-early");
}

TYPED_TEST(ExecutionStoreTest, FindByTenantFiltersByTenantAndStatus) {
  for (int i = 0; i < 3; ++i) {
    v1::Execution e = NewExecution(absl::StrCat("tenant-a-", i));
    e.set_tenant_id("a");
    if (i == 2) e.set_status(v1::EXECUTION_STATUS_COMPLETED);
    this->Create(e);
  }
  v1::Execution other = NewExecution("tenant-b-0");
  other.set_tenant_id("b");
  this->Create(other);
  v1::FindByTenantRequest request;
  request.set_tenant_id("a");
  EXPECT_EQ(this->store().FindByTenant(request)->executions_size(), 3);
  request.set_status(v1::EXECUTION_STATUS_COMPLETED);
  auto completed = this->store().FindByTenant(request);
  ASSERT_EQ(completed->executions_size(), 1);
  EXPECT_EQ(completed->executions(0).id(), "tenant-a-2");
}

TYPED_TEST(ExecutionStoreTest, FindByIdempotencyKeyHonoursExpiryAndWindow) {
  v1::Execution e = NewExecution("exec-find-key");
  e.set_idempotency_key("find-me");
  this->Create(e);
  v1::FindByIdempotencyKeyRequest request;
  request.set_flow_id("order-flow");
  request.set_idempotency_key("find-me");
  auto found = this->store().FindByIdempotencyKey(request);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->found());
  EXPECT_EQ(found->execution().id(), "exec-find-key");
  request.set_idempotency_key("unknown");
  EXPECT_FALSE(this->store().FindByIdempotencyKey(request)->found());

  v1::Execution old = NewExecution("exec-old-key");
  old.set_idempotency_key("old");
  old.set_created_at(NowMs() - 3'600'000);
  old.set_idempotency_expires_at(NowMs() + 3'600'000);
  this->Create(old);
  request.set_idempotency_key("old");
  EXPECT_TRUE(this->store().FindByIdempotencyKey(request)->found());
  request.set_window_ms(60'000);  // created an hour ago: outside a one-minute window
  EXPECT_FALSE(this->store().FindByIdempotencyKey(request)->found());
}

TYPED_TEST(ExecutionStoreTest, FindChildrenListsOnlyChildren) {
  this->Create(NewExecution("parent"));
  for (int i = 0; i < 3; ++i) {
    v1::Execution child = NewExecution(absl::StrCat("child-", i));
    child.set_parent_execution_id("parent");
    this->Create(child);
  }
  v1::FindChildrenRequest request;
  request.set_parent_execution_id("parent");
  auto children = this->store().FindChildren(request);
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->executions_size(), 3);
  EXPECT_EQ(children->executions(0).id(), "child-0");
  request.set_parent_execution_id("child-0");
  EXPECT_EQ(this->store().FindChildren(request)->executions_size(), 0);
}

TYPED_TEST(ExecutionStoreTest, FindTimedOutExecutionsUsesDefaultAndCustomTimeouts) {
  const int64_t now = NowMs();
  v1::Execution old_default = NewExecution("timeout-default");
  old_default.set_created_at(now - 25LL * 3600 * 1000);  // past the 24 h default
  this->Create(old_default);
  v1::Execution custom = NewExecution("timeout-custom");
  custom.set_created_at(now - 10'000);
  custom.mutable_timeout_config()->set_execution_timeout_ms(5'000);
  this->Create(custom);
  v1::Execution fresh = NewExecution("timeout-fresh");
  this->Create(fresh);
  v1::Execution done = NewExecution("timeout-done");
  done.set_created_at(now - 25LL * 3600 * 1000);
  done.set_status(v1::EXECUTION_STATUS_COMPLETED);
  this->Create(done);

  v1::FindTimedOutExecutionsRequest request;
  request.set_now(now);
  auto timed_out = this->store().FindTimedOutExecutions(request);
  ASSERT_TRUE(timed_out.ok());
  std::vector<std::string> ids;
  for (const auto& e : timed_out->executions()) ids.push_back(e.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"timeout-default", "timeout-custom"}));

  // With a tenant: that tenant's only.
  v1::Execution tenants = NewExecution("timeout-tenant-b");
  tenants.set_created_at(now - 26LL * 3600 * 1000);
  tenants.set_tenant_id("b");
  this->Create(tenants);
  request.set_tenant_id("b");
  timed_out = this->store().FindTimedOutExecutions(request);
  ASSERT_TRUE(timed_out.ok()) << timed_out.status();
  ASSERT_EQ(timed_out->executions_size(), 1);
  EXPECT_EQ(timed_out->executions(0).id(), "timeout-tenant-b");
  request.clear_tenant_id();
  timed_out = this->store().FindTimedOutExecutions(request);
  ASSERT_TRUE(timed_out.ok()) << timed_out.status();
  EXPECT_EQ(timed_out->executions_size(), 3);
}

TYPED_TEST(ExecutionStoreTest, FindTimedOutWaitsUsesDefaultAndCustomTimeouts) {
  const int64_t now = NowMs();
  v1::Execution long_wait = NewExecution("wait-default");
  long_wait.set_status(v1::EXECUTION_STATUS_WAITING);
  long_wait.set_wait_started_at(now - 8LL * 24 * 3600 * 1000);  // past the 7-day default
  this->Create(long_wait);
  v1::Execution custom = NewExecution("wait-custom");
  custom.set_status(v1::EXECUTION_STATUS_WAITING);
  custom.set_wait_started_at(now - 2'000);
  custom.mutable_timeout_config()->set_wait_timeout_ms(1'000);
  this->Create(custom);
  v1::Execution fresh = NewExecution("wait-fresh");
  fresh.set_status(v1::EXECUTION_STATUS_WAITING);
  fresh.set_wait_started_at(now);
  this->Create(fresh);

  v1::FindTimedOutWaitsRequest request;
  request.set_now(now);
  auto timed_out = this->store().FindTimedOutWaits(request);
  ASSERT_TRUE(timed_out.ok());
  std::vector<std::string> ids;
  for (const auto& e : timed_out->executions()) ids.push_back(e.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"wait-default", "wait-custom"}));
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadSaveRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(ExecutionStore&)> call;
};

template <typename Request, typename Response>
absl::Status Call(absl::StatusOr<Response> (ExecutionStore::*method)(const Request&),
                  ExecutionStore& store, const Request& request) {
  return (store.*method)(request).status();
}

absl::Status CreateWith(ExecutionStore& s, const std::function<void(v1::Execution&)>& edit) {
  v1::CreateExecutionRequest request;
  *request.mutable_execution() = NewExecution("bad-input");
  edit(*request.mutable_execution());
  return s.Create(request).status();
}

absl::Status SaveExecutionWith(ExecutionStore& s,
                               const std::function<void(v1::SaveExecutionRequest&)>& edit) {
  v1::SaveExecutionRequest request;
  *request.mutable_execution() = NewExecution("bad-input");
  edit(request);
  return s.Save(request).status();
}

std::vector<BadSaveRequest> BadSaveRequests() {
  using E = v1::Execution;
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  return {
      {"get: empty id", kInvalid,
       [](ExecutionStore& s) { return Call(&ExecutionStore::Get, s, v1::GetExecutionRequest()); }},
      {"get: over-long id", kInvalid,
       [](ExecutionStore& s) {
         v1::GetExecutionRequest r;
         r.set_execution_id(std::string(300, 'x'));
         return Call(&ExecutionStore::Get, s, r);
       }},
      {"get: unknown id", StatusCode::kNotFound,
       [](ExecutionStore& s) {
         v1::GetExecutionRequest r;
         r.set_execution_id("no-such-execution");
         return Call(&ExecutionStore::Get, s, r);
       }},
      {"create: no execution", kInvalid,
       [](ExecutionStore& s) {
         return Call(&ExecutionStore::Create, s, v1::CreateExecutionRequest());
       }},
      {"create: unspecified status", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_status(v1::EXECUTION_STATUS_UNSPECIFIED); });
       }},
      {"create: unknown status value", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_status(static_cast<v1::ExecutionStatus>(99)); });
       }},
      {"create: invalid JSON context", kInvalid,
       [](ExecutionStore& s) { return CreateWith(s, [](E& e) { e.set_context_json("{oops"); }); }},
      {"create: context not an object", kInvalid,
       [](ExecutionStore& s) { return CreateWith(s, [](E& e) { e.set_context_json("[1,2]"); }); }},
      {"create: \\u0000 in context", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_context_json(R"({"a":"x\u0000"})"); });
       }},
      {"create: history not an array", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_history_json(R"({"a":1})"); });
       }},
      {"create: metadata a number", kInvalid,
       [](ExecutionStore& s) { return CreateWith(s, [](E& e) { e.set_metadata_json("3"); }); }},
      {"create: JSON nested too deep", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) {
           e.set_context_json("{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}");
         });
       }},
      {"create: NUL byte in id", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_id(std::string("bad\0id", 6)); });
       }},
      {"create: empty flow_id", kInvalid,
       [](ExecutionStore& s) { return CreateWith(s, [](E& e) { e.clear_flow_id(); }); }},
      {"create: negative wake_at", kInvalid,
       [](ExecutionStore& s) { return CreateWith(s, [](E& e) { e.set_wake_at(-5); }); }},
      {"create: invalid error details JSON", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.mutable_error()->set_details_json("nope"); });
       }},
      {"create: cancellation without source", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.mutable_cancellation()->set_reason("why"); });
       }},
      {"create: zero execution timeout", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s,
                           [](E& e) { e.mutable_timeout_config()->set_execution_timeout_ms(0); });
       }},
      {"create: negative idempotency window", kInvalid,
       [](ExecutionStore& s) {
         v1::CreateExecutionRequest r;
         *r.mutable_execution() = NewExecution("bad-window");
         r.mutable_execution()->set_idempotency_key("k");
         r.set_idempotency_window_ms(-1);
         return Call(&ExecutionStore::Create, s, r);
       }},
      {"save: negative expected_version", kInvalid,
       [](ExecutionStore& s) {
         return SaveExecutionWith(s,
                                  [](v1::SaveExecutionRequest& r) { r.set_expected_version(-1); });
       }},
      {"save: negative retry count", kInvalid,
       [](ExecutionStore& s) {
         return SaveExecutionWith(s, [](v1::SaveExecutionRequest& r) {
           (*r.mutable_execution()->mutable_retry_attempts())["step"] = -1;
         });
       }},
      {"update: unknown id", StatusCode::kNotFound,
       [](ExecutionStore& s) {
         v1::UpdateExecutionRequest r;
         *r.mutable_execution() = NewExecution("never-created");
         return Call(&ExecutionStore::Update, s, r);
       }},
      {"update: expected_version 0", kInvalid,
       [](ExecutionStore& s) {
         v1::UpdateExecutionRequest r;
         *r.mutable_execution() = NewExecution("never-created");
         r.set_expected_version(0);
         return Call(&ExecutionStore::Update, s, r);
       }},
      {"find by status: negative limit", kInvalid,
       [](ExecutionStore& s) {
         v1::FindByStatusRequest r;
         r.set_status(v1::EXECUTION_STATUS_RUNNING);
         r.set_limit(-1);
         return Call(&ExecutionStore::FindByStatus, s, r);
       }},
      {"find by status: huge limit", kInvalid,
       [](ExecutionStore& s) {
         v1::FindByStatusRequest r;
         r.set_status(v1::EXECUTION_STATUS_RUNNING);
         r.set_limit(2'000'000'000);
         return Call(&ExecutionStore::FindByStatus, s, r);
       }},
      {"find by status: unspecified status", kInvalid,
       [](ExecutionStore& s) {
         return Call(&ExecutionStore::FindByStatus, s, v1::FindByStatusRequest());
       }},
      {"find by status: over-long page token", kInvalid,
       [](ExecutionStore& s) {
         v1::FindByStatusRequest r;
         r.set_status(v1::EXECUTION_STATUS_RUNNING);
         r.set_page_token(std::string(1000, 'p'));
         return Call(&ExecutionStore::FindByStatus, s, r);
       }},
      {"wake-ready: negative now", kInvalid,
       [](ExecutionStore& s) {
         v1::ListWakeReadyRequest r;
         r.set_now(-1);
         return Call(&ExecutionStore::ListWakeReady, s, r);
       }},
      {"find by tenant: empty tenant", kInvalid,
       [](ExecutionStore& s) {
         return Call(&ExecutionStore::FindByTenant, s, v1::FindByTenantRequest());
       }},
      {"find by key: empty key", kInvalid,
       [](ExecutionStore& s) {
         v1::FindByIdempotencyKeyRequest r;
         r.set_flow_id("f");
         return Call(&ExecutionStore::FindByIdempotencyKey, s, r);
       }},
      {"find children: control character in id", kInvalid,
       [](ExecutionStore& s) {
         v1::FindChildrenRequest r;
         r.set_parent_execution_id("a\tb");
         return Call(&ExecutionStore::FindChildren, s, r);
       }},
      {"create: idempotency window overflows a time", kInvalid,
       [](ExecutionStore& s) {
         v1::CreateExecutionRequest r;
         *r.mutable_execution() = NewExecution("bad-input");
         r.mutable_execution()->set_idempotency_key("k-overflow");
         r.set_idempotency_window_ms(std::numeric_limits<int64_t>::max());
         return Call(&ExecutionStore::Create, s, r);
       }},
      {"create: created_at past year 9999", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_created_at(std::numeric_limits<int64_t>::max()); });
       }},
      {"create: wake_at past year 9999", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) { e.set_wake_at(kMaxTimestampMs + 1); });
       }},
      {"create: execution timeout over 100 years", kInvalid,
       [](ExecutionStore& s) {
         return CreateWith(s, [](E& e) {
           e.mutable_timeout_config()->set_execution_timeout_ms(
               std::numeric_limits<int64_t>::max());
         });
       }},
      {"save: wait timeout over 100 years", kInvalid,
       [](ExecutionStore& s) {
         return SaveExecutionWith(s, [](v1::SaveExecutionRequest& r) {
           r.mutable_execution()->set_wait_started_at(kMaxTimestampMs);
           r.mutable_execution()->mutable_timeout_config()->set_wait_timeout_ms(kMaxDurationMs + 1);
         });
       }},
      {"save: negative cancelled_at", kInvalid,
       [](ExecutionStore& s) {
         return SaveExecutionWith(s, [](v1::SaveExecutionRequest& r) {
           auto* c = r.mutable_execution()->mutable_cancellation();
           c->set_source(v1::CANCELLATION_SOURCE_USER);
           c->set_cancelled_at(std::numeric_limits<int64_t>::min());
         });
       }},
      {"timed-out waits: limit over maximum", kInvalid,
       [](ExecutionStore& s) {
         v1::FindTimedOutWaitsRequest r;
         r.set_limit(10'001);
         return Call(&ExecutionStore::FindTimedOutWaits, s, r);
       }},
  };
}

TYPED_TEST(ExecutionStoreTest, MalformedRequestsGetTheirStatusCode) {
  const auto cases = BadSaveRequests();
  ASSERT_GE(cases.size(), 15u);
  for (const BadSaveRequest& c : cases) {
    const absl::Status status = c.call(this->store());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  // Nothing half-written: the one id every bad create/save used does not exist.
  EXPECT_EQ(this->Get("bad-input").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ExecutionStoreTest, FindByStatusAndCountByStatusFilterByFlowAndTenant) {
  const struct {
    const char* id;
    const char* flow;
    const char* tenant;
    v1::ExecutionStatus status;
  } rows[] = {
      {"count-1", "billing", "acme", v1::EXECUTION_STATUS_RUNNING},
      {"count-2", "billing", "acme", v1::EXECUTION_STATUS_RUNNING},
      {"count-3", "billing", "globex", v1::EXECUTION_STATUS_RUNNING},
      {"count-4", "shipping", "acme", v1::EXECUTION_STATUS_RUNNING},
      {"count-5", "billing", "acme", v1::EXECUTION_STATUS_FAILED},
      {"count-6", "shipping", "", v1::EXECUTION_STATUS_WAITING},
  };
  for (const auto& row : rows) {
    v1::Execution e = NewExecution(row.id);
    e.set_flow_id(row.flow);
    if (*row.tenant != '\0') e.set_tenant_id(row.tenant);
    e.set_status(row.status);
    this->Create(e);
  }
  auto ids = [&](v1::FindByStatusRequest request) {
    std::vector<std::string> found;
    auto response = this->store().FindByStatus(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok()) {
      for (const auto& e : response->executions()) found.push_back(e.id());
    }
    return found;
  };
  v1::FindByStatusRequest find;
  find.set_status(v1::EXECUTION_STATUS_RUNNING);
  find.set_flow_id("billing");
  EXPECT_EQ(ids(find), (std::vector<std::string>{"count-1", "count-2", "count-3"}));
  find.set_tenant_id("acme");
  EXPECT_EQ(ids(find), (std::vector<std::string>{"count-1", "count-2"}));
  find.set_flow_id("no-such-flow");
  EXPECT_TRUE(ids(find).empty());

  auto counts = [&](v1::CountByStatusRequest request) {
    std::vector<std::pair<v1::ExecutionStatus, int64_t>> found;
    auto response = this->store().CountByStatus(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok()) {
      for (const auto& c : response->counts()) found.emplace_back(c.status(), c.count());
    }
    return found;
  };
  using Counts = std::vector<std::pair<v1::ExecutionStatus, int64_t>>;
  EXPECT_EQ(counts({}), (Counts{{v1::EXECUTION_STATUS_RUNNING, 4},
                                {v1::EXECUTION_STATUS_WAITING, 1},
                                {v1::EXECUTION_STATUS_FAILED, 1}}));
  v1::CountByStatusRequest count;
  count.set_tenant_id("acme");
  EXPECT_EQ(counts(count),
            (Counts{{v1::EXECUTION_STATUS_RUNNING, 3}, {v1::EXECUTION_STATUS_FAILED, 1}}));
  count.set_flow_id("billing");
  EXPECT_EQ(counts(count),
            (Counts{{v1::EXECUTION_STATUS_RUNNING, 2}, {v1::EXECUTION_STATUS_FAILED, 1}}));
  count.clear_tenant_id();
  count.set_flow_id("shipping");
  EXPECT_EQ(counts(count),
            (Counts{{v1::EXECUTION_STATUS_RUNNING, 1}, {v1::EXECUTION_STATUS_WAITING, 1}}));
  count.set_flow_id("");
  EXPECT_EQ(this->store().CountByStatus(count).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey::testing
