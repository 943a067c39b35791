// The C++ client's retry policy (client/call.h): UNAVAILABLE is retried for every call,
// UNKNOWN only for calls that are safe to repeat, always bounded; retries of a write with
// a request id send the same id.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "client/call.h"
#include "client/request_id.h"
#include "flowmonkey/v1/event.pb.h"

namespace flowmonkey::client {
namespace {

using Request = v1::RecordEventRequest;
using Response = v1::RecordEventResponse;

struct Outcome {
  absl::StatusCode code;
  int attempts = 0;
  std::set<std::string> request_ids;
};

// Runs a call whose first `failures` attempts answer `failure`, then OK.
Outcome RunCall(Retry retry, grpc::StatusCode failure, int failures) {
  CallOptions options;
  options.max_attempts = 3;
  options.initial_backoff = absl::ZeroDuration();
  Outcome outcome;
  const Request request = WithRequestId(Request());
  outcome.code = UnaryCall<Request, Response>(
                     options, retry, request,
                     [&](grpc::ClientContext*, const Request& r, Response*) {
                       outcome.request_ids.insert(r.request_id());
                       return ++outcome.attempts <= failures ? grpc::Status(failure, "failed")
                                                             : grpc::Status::OK;
                     })
                     .status()
                     .code();
  return outcome;
}

TEST(ClientRetry, UnknownIsRetriedOnlyForCallsSafeToRepeat) {
  const Outcome idempotent = RunCall(Retry::kIdempotent, grpc::StatusCode::UNKNOWN, 1);
  EXPECT_EQ(idempotent.code, absl::StatusCode::kOk);
  EXPECT_EQ(idempotent.attempts, 2);
  EXPECT_EQ(idempotent.request_ids.size(), 1u);  // the retry carries the same request id

  const Outcome once = RunCall(Retry::kOnce, grpc::StatusCode::UNKNOWN, 1);
  EXPECT_EQ(once.code, absl::StatusCode::kUnknown);
  EXPECT_EQ(once.attempts, 1);
}

TEST(ClientRetry, UnavailableIsRetriedForEveryCallAndBounded) {
  for (Retry retry : {Retry::kIdempotent, Retry::kOnce}) {
    const Outcome recovered = RunCall(retry, grpc::StatusCode::UNAVAILABLE, 2);
    EXPECT_EQ(recovered.code, absl::StatusCode::kOk);
    EXPECT_EQ(recovered.attempts, 3);
    const Outcome down = RunCall(retry, grpc::StatusCode::UNAVAILABLE, 100);
    EXPECT_EQ(down.code, absl::StatusCode::kUnavailable);
    EXPECT_EQ(down.attempts, 3);
  }
}

TEST(ClientRetry, OtherFailuresAreNeverRetried) {
  for (auto code : {grpc::StatusCode::ABORTED, grpc::StatusCode::DEADLINE_EXCEEDED,
                    grpc::StatusCode::INTERNAL, grpc::StatusCode::FAILED_PRECONDITION}) {
    EXPECT_EQ(RunCall(Retry::kIdempotent, code, 1).attempts, 1) << code;
  }
}

TEST(ClientRequestId, KeepsTheCallersAndOtherwiseSetsANewOne) {
  Request mine;
  mine.set_request_id("mine");
  EXPECT_EQ(WithRequestId(mine).request_id(), "mine");
  const Request a = WithRequestId(Request());
  const Request b = WithRequestId(Request());
  EXPECT_TRUE(a.has_request_id());
  EXPECT_NE(a.request_id(), b.request_id());
  EXPECT_LE(a.request_id().size(), 255u);
}

}  // namespace
}  // namespace flowmonkey::client
