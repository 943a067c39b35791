// ExecutionStore.ClaimWakeups / AckWakeups conformance (docs/adr/0015-wakeups.md): a due
// wake-up (wake_at passed, or a wait timed out) is claimed by one caller at a time, until
// it is acknowledged, and never after; another wake_at is a new one. Every backend.

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/clock.h"
#include "server/pg/params.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

v1::Execution Waiting(const std::string& id, std::optional<int64_t> wake_at,
                      const std::string& tenant = "") {
  v1::Execution e;
  e.set_id(id);
  e.set_flow_id("timer-flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("sleep");
  e.set_status(v1::EXECUTION_STATUS_WAITING);
  e.set_context_json("{}");
  if (wake_at) e.set_wake_at(*wake_at);
  if (!tenant.empty()) e.set_tenant_id(tenant);
  return e;
}

v1::WakeupAck AckOf(const v1::Wakeup& w) {
  v1::WakeupAck ack;
  ack.set_execution_id(w.execution_id());
  if (w.has_wake_at()) ack.set_wake_at(w.wake_at());
  if (w.has_wait_deadline_at()) ack.set_wait_deadline_at(w.wait_deadline_at());
  ack.set_lease_until(w.lease_until());
  return ack;
}

template <typename Backend>
class WakeupTest : public ::testing::Test {
 protected:
  ExecutionStore& store() { return backend_.executions(); }

  void Save(const v1::Execution& e) {
    v1::SaveExecutionRequest request;
    *request.mutable_execution() = e;
    auto saved = store().Save(request);
    ASSERT_TRUE(saved.ok()) << saved.status();
  }
  std::vector<v1::Wakeup> Claim(int limit = 100, bool ids_only = false,
                                std::optional<std::string> tenant = std::nullopt) {
    v1::ClaimWakeupsRequest request;
    request.set_limit(limit);
    request.set_ids_only(ids_only);
    request.set_ack_timeout_ms(60'000);
    if (tenant) request.set_tenant_id(*tenant);
    auto claimed = store().ClaimWakeups(request);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed.ok()) return {};
    return {claimed->wakeups().begin(), claimed->wakeups().end()};
  }
  int Ack(const std::vector<v1::Wakeup>& wakeups, bool release = false) {
    v1::AckWakeupsRequest request;
    request.set_release(release);
    for (const auto& w : wakeups) *request.add_wakeups() = AckOf(w);
    auto acked = store().AckWakeups(request);
    EXPECT_TRUE(acked.ok()) << acked.status();
    return acked.ok() ? acked->acknowledged() : -1;
  }
  static std::vector<std::string> Ids(const std::vector<v1::Wakeup>& wakeups) {
    std::vector<std::string> ids;
    for (const auto& w : wakeups) ids.push_back(w.execution_id());
    return ids;
  }

  Backend backend_;
};

TYPED_TEST_SUITE(WakeupTest, Backends, BackendNames);

TYPED_TEST(WakeupTest, ADueWakeAtIsClaimedOnceUntilAcknowledgedAndNeverAfter) {
  const int64_t now = NowMs();
  this->Save(Waiting("due-late", now - 1'000));
  this->Save(Waiting("due-early", now - 5'000));
  this->Save(Waiting("not-yet", now + 600'000));
  v1::Execution running = Waiting("running", now - 9'000);
  running.set_status(v1::EXECUTION_STATUS_RUNNING);
  this->Save(running);

  std::vector<v1::Wakeup> claimed = this->Claim();
  ASSERT_EQ(this->Ids(claimed), (std::vector<std::string>{"due-early", "due-late"}));
  EXPECT_EQ(claimed[0].wake_at(), now - 5'000);
  EXPECT_FALSE(claimed[0].has_wait_deadline_at());
  EXPECT_EQ(claimed[0].execution().id(), "due-early");
  EXPECT_EQ(claimed[0].execution().current_step_id(), "sleep");
  EXPECT_GT(claimed[0].lease_until(), now);
  // Leased: no other claim gets them.
  EXPECT_TRUE(this->Claim().empty());

  // A release gives one back; the claim after that returns it (ids only: no execution).
  EXPECT_EQ(this->Ack({claimed[1]}, /*release=*/true), 1);
  std::vector<v1::Wakeup> again = this->Claim(100, /*ids_only=*/true);
  ASSERT_EQ(this->Ids(again), (std::vector<std::string>{"due-late"}));
  EXPECT_FALSE(again[0].has_execution());
  // The first lease is over: releasing with it again does nothing.
  EXPECT_EQ(this->Ack({claimed[1]}, /*release=*/true), 0);
  EXPECT_TRUE(this->Claim().empty());

  // Acknowledged, and released as well: never claimed again, even with no lease.
  EXPECT_EQ(this->Ack({claimed[0], again[0]}), 2);
  EXPECT_EQ(this->Ack({again[0]}, /*release=*/true), 0);
  EXPECT_TRUE(this->Claim().empty());

  // Saved again while waiting with the same wake_at (a context change): still done.
  v1::Execution early = Waiting("due-early", now - 5'000);
  early.set_context_json(R"({"touched":true})");
  this->Save(early);
  EXPECT_TRUE(this->Claim().empty());
  // Another wake_at is another wake-up.
  this->Save(Waiting("due-early", now - 4'000));
  std::vector<v1::Wakeup> next = this->Claim();
  ASSERT_EQ(this->Ids(next), (std::vector<std::string>{"due-early"}));
  EXPECT_EQ(next[0].wake_at(), now - 4'000);
  EXPECT_EQ(next[0].execution().context_json(), "{}");
}

TYPED_TEST(WakeupTest, ATimedOutWaitIsAWakeupOfItsOwnOncePerWait) {
  const int64_t now = NowMs();
  // No wake_at; waiting since 10 s with a 2 s wait timeout.
  v1::Execution e = Waiting("timed-out", std::nullopt);
  e.set_wait_started_at(now - 10'000);
  e.mutable_timeout_config()->set_wait_timeout_ms(2'000);
  this->Save(e);
  // Within its timeout: nothing.
  v1::Execution patient = Waiting("patient", std::nullopt);
  patient.set_wait_started_at(now);
  patient.mutable_timeout_config()->set_wait_timeout_ms(600'000);
  this->Save(patient);

  std::vector<v1::Wakeup> claimed = this->Claim();
  ASSERT_EQ(this->Ids(claimed), (std::vector<std::string>{"timed-out"}));
  EXPECT_FALSE(claimed[0].has_wake_at());
  EXPECT_EQ(claimed[0].wait_deadline_at(), now - 8'000);
  EXPECT_EQ(this->Ack(claimed), 1);
  EXPECT_TRUE(this->Claim().empty());

  // A wake_at that is due as well: a new wake-up for the wake_at only.
  e.set_wake_at(now - 1);
  this->Save(e);
  claimed = this->Claim();
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].wake_at(), now - 1);
  EXPECT_FALSE(claimed[0].has_wait_deadline_at());
  EXPECT_EQ(this->Ack(claimed), 1);

  // A new wait (another wait_started_at) times out on its own.
  e.clear_wake_at();
  e.set_wait_started_at(now - 5'000);
  this->Save(e);
  claimed = this->Claim();
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].wait_deadline_at(), now - 3'000);
}

TYPED_TEST(WakeupTest, AnAckAfterTheEngineMovedOnEndsOnlyTheOldLease) {
  const int64_t now = NowMs();
  this->Save(Waiting("moved-on", now - 2'000));
  std::vector<v1::Wakeup> claimed = this->Claim();
  ASSERT_EQ(claimed.size(), 1u);
  // The engine resumed the execution and saved its next wait before acknowledging.
  this->Save(Waiting("moved-on", now - 1'000));
  EXPECT_EQ(this->Ack(claimed), 0);  // the old value is not current: nothing ended
  // The lease went with the ack: the new wake-up is claimable at once, not acknowledged.
  std::vector<v1::Wakeup> next = this->Claim();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].wake_at(), now - 1'000);
  // The first delivery's ack again: the second delivery's lease stays.
  EXPECT_EQ(this->Ack(claimed), 0);
  EXPECT_TRUE(this->Claim().empty());
  EXPECT_EQ(this->Ack(next), 1);
  EXPECT_EQ(this->Ack(next), 1);  // acknowledging twice is harmless
  EXPECT_TRUE(this->Claim().empty());
}

TYPED_TEST(WakeupTest, AnUnacknowledgedWakeupIsClaimedAgainWhenItsLeaseEnds) {
  this->Save(Waiting("forgotten", NowMs() - 1'000));
  v1::ClaimWakeupsRequest request;
  request.set_ack_timeout_ms(1'000);
  auto first = this->store().ClaimWakeups(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->wakeups_size(), 1);
  absl::SleepFor(absl::Milliseconds(1'100));
  std::vector<v1::Wakeup> again = this->Claim();
  ASSERT_EQ(this->Ids(again), (std::vector<std::string>{"forgotten"}));
  EXPECT_GT(again[0].lease_until(), first->wakeups(0).lease_until());
  // The first delivery's late release does not free the second's lease.
  EXPECT_EQ(this->Ack({first->wakeups(0)}, /*release=*/true), 0);
  EXPECT_TRUE(this->Claim().empty());
}

TYPED_TEST(WakeupTest, ClaimsHonourTheLimitAndTheTenantFilter) {
  const int64_t now = NowMs();
  for (int i = 0; i < 5; ++i) {
    this->Save(Waiting(absl::StrCat("a-", i), now - 1'000 * (10 - i), "tenant-a"));
  }
  this->Save(Waiting("b-0", now - 60'000, "tenant-b"));
  std::vector<v1::Wakeup> first = this->Claim(2, false, "tenant-a");
  EXPECT_EQ(this->Ids(first), (std::vector<std::string>{"a-0", "a-1"}));
  std::vector<v1::Wakeup> rest = this->Claim(100, false, "tenant-a");
  EXPECT_EQ(this->Ids(rest), (std::vector<std::string>{"a-2", "a-3", "a-4"}));
  EXPECT_EQ(this->Ids(this->Claim()), (std::vector<std::string>{"b-0"}));
}

TYPED_TEST(WakeupTest, BadRequestsAreInvalidArgument) {
  auto claim = [&](int32_t limit, int64_t timeout) {
    v1::ClaimWakeupsRequest request;
    request.set_limit(limit);
    request.set_ack_timeout_ms(timeout);
    return this->store().ClaimWakeups(request).status().code();
  };
  EXPECT_EQ(claim(-1, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(claim(1'001, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(claim(1, 999), StatusCode::kInvalidArgument);
  EXPECT_EQ(claim(1, -5), StatusCode::kInvalidArgument);
  EXPECT_EQ(claim(1, 3'600'001), StatusCode::kInvalidArgument);
  v1::ClaimWakeupsRequest bad_tenant;
  bad_tenant.set_tenant_id("");
  EXPECT_EQ(this->store().ClaimWakeups(bad_tenant).status().code(), StatusCode::kInvalidArgument);

  v1::AckWakeupsRequest ack;
  ack.add_wakeups()->set_execution_id("x");  // neither value
  auto acked = this->store().AckWakeups(ack);
  EXPECT_EQ(acked.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(acked.status().message().find("wakeups[0]"), std::string_view::npos) << acked.status();
  ack.set_release(true);  // a release needs the lease
  EXPECT_EQ(this->store().AckWakeups(ack).status().code(), StatusCode::kInvalidArgument);
  v1::AckWakeupsRequest no_id;
  no_id.add_wakeups()->set_wake_at(5);
  EXPECT_EQ(this->store().AckWakeups(no_id).status().code(), StatusCode::kInvalidArgument);
  v1::AckWakeupsRequest too_many;
  for (int i = 0; i < 1'001; ++i) {
    v1::WakeupAck* w = too_many.add_wakeups();
    w->set_execution_id(absl::StrCat("x", i));
    w->set_wake_at(1);
  }
  EXPECT_EQ(this->store().AckWakeups(too_many).status().code(), StatusCode::kInvalidArgument);
}

// Every due wake-up goes to exactly one of many racing claimers.
TYPED_TEST(WakeupTest, ConcurrentClaimsDeliverEachWakeupOnce) {
  constexpr int kExecutions = 120;
  constexpr int kThreads = 8;
  const int64_t now = NowMs();
  for (int i = 0; i < kExecutions; ++i) {
    this->Save(Waiting(absl::StrCat("race-", i), now - 1'000 - i));
  }
  std::mutex mu;
  std::map<std::string, int> deliveries;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        v1::ClaimWakeupsRequest request;
        request.set_limit(7);
        request.set_ids_only(true);
        request.set_ack_timeout_ms(600'000);
        auto claimed = this->store().ClaimWakeups(request);
        ASSERT_TRUE(claimed.ok()) << claimed.status();
        if (claimed->wakeups_size() == 0) return;
        v1::AckWakeupsRequest ack;
        {
          std::lock_guard lock(mu);
          for (const auto& w : claimed->wakeups()) {
            ++deliveries[w.execution_id()];
            *ack.add_wakeups() = AckOf(w);
          }
        }
        auto acked = this->store().AckWakeups(ack);
        ASSERT_TRUE(acked.ok()) << acked.status();
        EXPECT_EQ(acked->acknowledged(), claimed->wakeups_size());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kExecutions));
  for (const auto& [id, n] : deliveries) EXPECT_EQ(n, 1) << id;
  EXPECT_TRUE(this->Claim().empty());
}

// The claim reads the partial indexes of waiting executions (wake_at, wait_deadline_at), not
// the table: 20,000 executions, a tenth of them waiting (half of those due), after ANALYZE.
TEST(WakeupClaimPlanTest, ClaimWakeupsUsesThePartialIndexes) {
  PgBackend backend;
  const int64_t now = NowMs();
  ASSERT_EQ(
      RunSql(backend.prefix(),
             absl::StrCat("INSERT INTO fm_executions (id, flow_id, flow_version, current_step,"
                          " status, created_at, updated_at, wake_at, wait_started_at) SELECT"
                          " 'e-' || g, 'f', '1.0.0', 's', CASE WHEN g % 10 = 0 THEN 'waiting'"
                          " ELSE 'completed' END, g, g, CASE WHEN g % 20 = 0 THEN ",
                          now, " - g ELSE ", now,
                          " + 3600000 + g END, CASE WHEN g % 30 = 0 THEN g END"
                          " FROM generate_series(1, 20000) AS g"),
             /*affected=*/true),
      20000);
  RunSql(backend.prefix(), "ANALYZE fm_executions");
  const std::string executions = backend.prefix() + "executions";
  for (const char* statement : {"exec_claim_wakeups", "exec_claim_wakeup_ids"}) {
    pg::Params params;
    params.Add(int32_t{100}).Add(int64_t{30'000}).AddNull();
    absl::StatusOr<std::string> plan = ExplainStatement(backend.pool(), statement, params);
    ASSERT_TRUE(plan.ok()) << plan.status();
    SCOPED_TRACE(absl::StrCat(statement, "\n", *plan));
    EXPECT_NE(plan->find("idx_" + backend.prefix() + "exec_wake"), std::string::npos);
    EXPECT_NE(plan->find("idx_" + backend.prefix() + "exec_wait_deadline"), std::string::npos);
    EXPECT_EQ(plan->find("Seq Scan on " + executions), std::string::npos);
  }
  // And the statement does what it says on that table: the 1,000 due wake_at values and
  // the timed-out waits (g % 30 == 0 waiting since g ms after the epoch) are all claimable.
  v1::ClaimWakeupsRequest request;
  request.set_limit(1'000);
  request.set_ids_only(true);
  size_t claimed = 0;
  for (;;) {
    auto batch = backend.executions().ClaimWakeups(request);
    ASSERT_TRUE(batch.ok()) << batch.status();
    if (batch->wakeups_size() == 0) break;
    claimed += batch->wakeups_size();
  }
  EXPECT_EQ(claimed, static_cast<size_t>(RunSql(
                         backend.prefix(),
                         absl::StrCat("SELECT count(*) FROM fm_executions WHERE status = 'waiting'"
                                      " AND (wake_at <= ",
                                      now, " OR wait_deadline_at <= ", now, ")"))));
}

}  // namespace
}  // namespace flowmonkey::testing
