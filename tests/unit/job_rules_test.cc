#include "core/job_rules.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "core/validation.h"

namespace flowmonkey {
namespace {

v1::RetryPolicy Policy(int64_t initial, int64_t max) {
  v1::RetryPolicy policy;
  policy.set_initial_backoff_ms(initial);
  policy.set_max_backoff_ms(max);
  return policy;
}

TEST(JobBackoffCapMs, DoublesPerAttemptUpToTheMaximum) {
  const v1::RetryPolicy policy = Policy(1000, 10'000);
  EXPECT_EQ(JobBackoffCapMs(policy, 1), 1000);
  EXPECT_EQ(JobBackoffCapMs(policy, 2), 2000);
  EXPECT_EQ(JobBackoffCapMs(policy, 3), 4000);
  EXPECT_EQ(JobBackoffCapMs(policy, 4), 8000);
  EXPECT_EQ(JobBackoffCapMs(policy, 5), 10'000);
  EXPECT_EQ(JobBackoffCapMs(policy, kMaxJobMaxAttempts), 10'000);
  // The largest policy cannot overflow, however many attempts.
  const v1::RetryPolicy huge = Policy(kMaxDurationMs, kMaxDurationMs);
  EXPECT_EQ(JobBackoffCapMs(huge, kMaxJobMaxAttempts), kMaxDurationMs);
  EXPECT_EQ(JobBackoffCapMs(Policy(1, kMaxDurationMs), kMaxJobMaxAttempts), kMaxDurationMs);
}

TEST(ValidateCreateJob, SchedulingFieldsInRange) {
  v1::CreateJobRequest request;
  request.set_execution_id("e");
  request.set_step_id("s");
  request.set_handler("h");
  request.set_run_at(kMaxTimestampMs);
  request.set_priority(kMinJobPriority);
  *request.mutable_retry() = Policy(1, 1);
  EXPECT_TRUE(ValidateCreateJob(request).ok());
  request.set_priority(kMaxJobPriority + 1);
  EXPECT_EQ(ValidateCreateJob(request).message(), "priority: must be between -1000 and 1000");
  request.set_priority(0);
  *request.mutable_retry() = Policy(10, 9);
  EXPECT_EQ(ValidateCreateJob(request).code(), absl::StatusCode::kInvalidArgument);
  request.clear_retry();
  request.set_run_at(-1);
  EXPECT_EQ(ValidateCreateJob(request).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey
