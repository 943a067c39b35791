// Execution leases (ExecutionStore.AcquireLock / ExtendLock / ReleaseLock) conformance:
// every test runs against the PostgreSQL store and against the remote client talking to a
// real server.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/backends.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

constexpr const char* kLockedExecution = "locked-exec";
constexpr int64_t kLongTtlMs = 60'000;
constexpr int64_t kTinyTtlMs = 50;

template <typename Backend>
class ExecutionLocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::CreateExecutionRequest request;
    v1::Execution& e = *request.mutable_execution();
    e.set_id(kLockedExecution);
    e.set_flow_id("flow");
    e.set_flow_version("1.0.0");
    e.set_current_step_id("step");
    e.set_status(v1::EXECUTION_STATUS_RUNNING);
    ASSERT_TRUE(backend_.executions().Create(request).ok());
  }

  ExecutionStore& store() { return backend_.executions(); }

  absl::StatusOr<v1::AcquireLockResponse> Acquire(const std::string& owner, int64_t ttl_ms,
                                                  const std::string& execution = kLockedExecution) {
    v1::AcquireLockRequest request;
    request.set_execution_id(execution);
    request.set_owner(owner);
    request.set_ttl_ms(ttl_ms);
    return store().AcquireLock(request);
  }
  absl::StatusOr<v1::ExtendLockResponse> Extend(const std::string& owner, int64_t token,
                                                int64_t ttl_ms = kLongTtlMs) {
    v1::ExtendLockRequest request;
    request.set_execution_id(kLockedExecution);
    request.set_owner(owner);
    request.set_fencing_token(token);
    request.set_ttl_ms(ttl_ms);
    return store().ExtendLock(request);
  }
  absl::StatusOr<v1::ReleaseLockResponse> Release(const std::string& owner, int64_t token = 0) {
    v1::ReleaseLockRequest request;
    request.set_execution_id(kLockedExecution);
    request.set_owner(owner);
    request.set_fencing_token(token);
    return store().ReleaseLock(request);
  }
  // Waits (bounded) for a lease with a tiny ttl to run out, trying to take it as `owner`.
  absl::StatusOr<v1::AcquireLockResponse> AcquireOnceExpired(const std::string& owner) {
    for (int attempt = 0; attempt < 250; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kTinyTtlMs / 2));
      auto result = Acquire(owner, kLongTtlMs);
      if (!result.ok() || result->acquired()) return result;
    }
    return absl::DeadlineExceededError("the lease never expired");
  }

  Backend backend_;
};

TYPED_TEST_SUITE(ExecutionLocksTest, Backends, BackendNames);

TYPED_TEST(ExecutionLocksTest, AcquireExtendRelease) {
  auto first = this->Acquire("a", kLongTtlMs);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->acquired());
  EXPECT_EQ(first->owner(), "a");
  EXPECT_GE(first->fencing_token(), 1);
  const int64_t token = first->fencing_token();

  // Re-acquiring one's own live lease keeps the token.
  auto again = this->Acquire("a", kLongTtlMs);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->acquired());
  EXPECT_EQ(again->fencing_token(), token);

  auto other = this->Acquire("b", kLongTtlMs);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->acquired());
  EXPECT_EQ(other->owner(), "a");
  EXPECT_EQ(other->fencing_token(), token);

  auto extended = this->Extend("a", token);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->fencing_token(), token);
  EXPECT_GE(extended->expires_at(), first->expires_at());
  EXPECT_EQ(this->Extend("b", token).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Extend("a", token + 1).status().code(), StatusCode::kFailedPrecondition);

  EXPECT_FALSE(this->Release("b")->released());
  EXPECT_FALSE(this->Release("a", token + 7)->released());
  EXPECT_TRUE(this->Release("a", token)->released());
  EXPECT_FALSE(this->Release("a")->released());
  EXPECT_EQ(this->Extend("a", token).status().code(), StatusCode::kFailedPrecondition);

  // A released lease changes hands with a higher token.
  auto taken = this->Acquire("b", kLongTtlMs);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->acquired());
  EXPECT_GT(taken->fencing_token(), token);
}

TYPED_TEST(ExecutionLocksTest, TwoOwnersRaceOneHoldsThenTheOtherTakesOverAfterExpiry) {
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    const std::string owners[2] = {absl::StrCat("left-", round), absl::StrCat("right-", round)};
    std::atomic<int> acquired{0}, errors{0};
    absl::StatusOr<v1::AcquireLockResponse> results[2];
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        results[i] = this->Acquire(owners[i], kLongTtlMs);
        if (!results[i].ok()) {
          errors++;
        } else if (results[i]->acquired()) {
          acquired++;
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(errors.load(), 0);
    ASSERT_EQ(acquired.load(), 1);
    const int winner = results[0]->acquired() ? 0 : 1;
    const int loser = 1 - winner;
    const int64_t token = results[winner]->fencing_token();
    EXPECT_EQ(results[loser]->owner(), owners[winner]);

    // The winner shortens its lease to a tiny ttl and stops renewing it.
    auto shortened = this->Acquire(owners[winner], kTinyTtlMs);
    ASSERT_TRUE(shortened.ok());
    ASSERT_TRUE(shortened->acquired());
    EXPECT_EQ(shortened->fencing_token(), token);

    auto taken = this->AcquireOnceExpired(owners[loser]);
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_TRUE(taken->acquired());
    EXPECT_EQ(taken->owner(), owners[loser]);
    EXPECT_GT(taken->fencing_token(), token);
    // The old holder is fenced off.
    EXPECT_EQ(this->Extend(owners[winner], token).status().code(), StatusCode::kFailedPrecondition);
    EXPECT_FALSE(this->Release(owners[winner])->released());
    EXPECT_TRUE(this->Release(owners[loser], taken->fencing_token())->released());
  }
}

TYPED_TEST(ExecutionLocksTest, UnknownExecutionIsNotFound) {
  EXPECT_EQ(this->Acquire("a", kLongTtlMs, "no-such-execution").status().code(),
            StatusCode::kNotFound);
  v1::ExtendLockRequest extend;
  extend.set_execution_id("no-such-execution");
  extend.set_owner("a");
  extend.set_fencing_token(1);
  extend.set_ttl_ms(kLongTtlMs);
  EXPECT_EQ(this->store().ExtendLock(extend).status().code(), StatusCode::kNotFound);
  v1::ReleaseLockRequest release;
  release.set_execution_id("no-such-execution");
  release.set_owner("a");
  EXPECT_EQ(this->store().ReleaseLock(release).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ExecutionLocksTest, DeletingTheExecutionDropsItsLease) {
  auto held = this->Acquire("a", kLongTtlMs);
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->acquired());
  v1::DeleteExecutionRequest request;
  request.set_execution_id(kLockedExecution);
  ASSERT_TRUE(this->store().Delete(request)->deleted());
  EXPECT_EQ(this->Acquire("b", kLongTtlMs).status().code(), StatusCode::kNotFound);
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadLockRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(ExecutionStore&)> call;
};

std::vector<BadLockRequest> BadLockRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  auto acquire = [](const std::function<void(v1::AcquireLockRequest&)>& edit) {
    return [edit](ExecutionStore& s) {
      v1::AcquireLockRequest r;
      r.set_execution_id(kLockedExecution);
      r.set_owner("o");
      r.set_ttl_ms(1000);
      edit(r);
      return s.AcquireLock(r).status();
    };
  };
  auto extend = [](const std::function<void(v1::ExtendLockRequest&)>& edit) {
    return [edit](ExecutionStore& s) {
      v1::ExtendLockRequest r;
      r.set_execution_id(kLockedExecution);
      r.set_owner("o");
      r.set_fencing_token(1);
      r.set_ttl_ms(1000);
      edit(r);
      return s.ExtendLock(r).status();
    };
  };
  return {
      {"acquire: empty execution_id", kInvalid,
       acquire([](v1::AcquireLockRequest& r) { r.clear_execution_id(); })},
      {"acquire: empty owner", kInvalid,
       acquire([](v1::AcquireLockRequest& r) { r.clear_owner(); })},
      {"acquire: zero ttl", kInvalid, acquire([](v1::AcquireLockRequest& r) { r.set_ttl_ms(0); })},
      {"acquire: negative ttl", kInvalid,
       acquire([](v1::AcquireLockRequest& r) { r.set_ttl_ms(-10); })},
      {"acquire: ttl over a day", kInvalid,
       acquire([](v1::AcquireLockRequest& r) { r.set_ttl_ms(86'400'001); })},
      {"acquire: control character in owner", kInvalid,
       acquire([](v1::AcquireLockRequest& r) { r.set_owner("a\x01"); })},
      {"extend: no fencing token", kInvalid,
       extend([](v1::ExtendLockRequest& r) { r.set_fencing_token(0); })},
      {"extend: zero ttl", kInvalid, extend([](v1::ExtendLockRequest& r) { r.set_ttl_ms(0); })},
      {"extend: not held", StatusCode::kFailedPrecondition, extend([](v1::ExtendLockRequest&) {})},
      {"release: empty owner", kInvalid,
       [](ExecutionStore& s) {
         v1::ReleaseLockRequest r;
         r.set_execution_id(kLockedExecution);
         return s.ReleaseLock(r).status();
       }},
      {"release: negative fencing token", kInvalid,
       [](ExecutionStore& s) {
         v1::ReleaseLockRequest r;
         r.set_execution_id(kLockedExecution);
         r.set_owner("o");
         r.set_fencing_token(-1);
         return s.ReleaseLock(r).status();
       }},
  };
}

TYPED_TEST(ExecutionLocksTest, MalformedRequestsGetTheirStatusCode) {
  for (const BadLockRequest& c : BadLockRequests()) {
    const absl::Status status = c.call(this->store());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  // Nothing was taken by the bad requests.
  auto fresh = this->Acquire("fresh", kLongTtlMs);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->acquired());
}

TYPED_TEST(ExecutionLocksTest, GetLockTellsTheLeaseAsStored) {
  v1::GetLockRequest get;
  get.set_execution_id(kLockedExecution);
  auto free = this->store().GetLock(get);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_FALSE(free->held());
  EXPECT_EQ(free->owner(), "");

  auto held = this->Acquire("engine-a", kLongTtlMs);
  ASSERT_TRUE(held.ok() && held->acquired());
  auto now_held = this->store().GetLock(get);
  ASSERT_TRUE(now_held.ok()) << now_held.status();
  EXPECT_TRUE(now_held->held());
  EXPECT_EQ(now_held->owner(), "engine-a");
  EXPECT_EQ(now_held->fencing_token(), held->fencing_token());
  EXPECT_EQ(now_held->expires_at(), held->expires_at());

  ASSERT_TRUE(this->Release("engine-a", held->fencing_token())->released());
  auto released = this->store().GetLock(get);
  ASSERT_TRUE(released.ok());
  EXPECT_FALSE(released->held());

  // An expired lease reads as not held, with its last holder.
  ASSERT_TRUE(this->Acquire("engine-b", kTinyTtlMs)->acquired());
  absl::StatusOr<v1::GetLockResponse> expired;
  for (int attempt = 0; attempt < 250; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kTinyTtlMs / 2));
    expired = this->store().GetLock(get);
    if (!expired.ok() || !expired->held()) break;
  }
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_FALSE(expired->held());
  EXPECT_EQ(expired->owner(), "engine-b");

  get.set_execution_id("no-such-execution");
  EXPECT_EQ(this->store().GetLock(get).status().code(), StatusCode::kNotFound);
  get.set_execution_id("");
  EXPECT_EQ(this->store().GetLock(get).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey::testing
