// EventStore conformance: every test runs against the PostgreSQL store and against the
// remote client talking to a real server.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

v1::Event NewEvent(const std::string& execution_id, const std::string& type,
                   int64_t created_at = 0) {
  v1::Event e;
  e.set_execution_id(execution_id);
  e.set_event_type(type);
  e.set_step_id("validate");
  e.set_data_json(R"({"duration":150,"output":{"validated":true}})");
  e.set_created_at(created_at);
  return e;
}

template <typename Backend>
class EventStoreTest : public ::testing::Test {
 protected:
  EventStore& store() { return backend_.events(); }

  v1::Event Record(const v1::Event& e) {
    v1::RecordEventRequest request;
    *request.mutable_event() = e;
    auto response = store().Record(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->event() : v1::Event();
  }
  std::vector<int64_t> Ids(const v1::QueryEventsRequest& request) {
    auto response = store().Query(request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::vector<int64_t> ids;
    if (response.ok()) {
      for (const auto& e : response->events()) ids.push_back(e.id());
    }
    return ids;
  }

  Backend backend_;
};

TYPED_TEST_SUITE(EventStoreTest, Backends, BackendNames);

TYPED_TEST(EventStoreTest, RecordAssignsIdAndRoundTrips) {
  v1::Event sent = NewEvent("exec-1", "step.completed", 1'700'000'000'000);
  v1::Event recorded = this->Record(sent);
  EXPECT_GT(recorded.id(), 0);
  EXPECT_EQ(recorded.created_at(), 1'700'000'000'000);

  v1::Event bare;
  bare.set_execution_id("exec-1");
  bare.set_event_type("execution.created");
  const int64_t before = NowMs();
  v1::Event second = this->Record(bare);
  EXPECT_GT(second.id(), recorded.id());
  EXPECT_GE(second.created_at(), before);

  v1::GetEventsByExecutionRequest request;
  request.set_execution_id("exec-1");
  auto got = this->store().GetByExecution(request);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->events_size(), 2);
  EXPECT_EQ(got->next_after_id(), 0);
  const v1::Event& first = got->events(0);
  EXPECT_EQ(first.id(), recorded.id());
  EXPECT_EQ(first.event_type(), "step.completed");
  EXPECT_EQ(first.step_id(), "validate");
  EXPECT_EQ(nlohmann::json::parse(first.data_json()), nlohmann::json::parse(sent.data_json()));
  EXPECT_FALSE(got->events(1).has_step_id());
  EXPECT_EQ(got->events(1).data_json(), "");
}

TYPED_TEST(EventStoreTest, RecordBatchIsAtomicAndKeepsOrder) {
  v1::RecordEventBatchRequest batch;
  for (const char* type : {"execution.started", "step.started", "step.completed"}) {
    *batch.add_events() = NewEvent("exec-batch", type);
  }
  batch.mutable_events(1)->clear_data_json();
  batch.mutable_events(2)->set_data_json(R"(["a","b\"c",null])");
  auto recorded = this->store().RecordBatch(batch);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->events_size(), 3);
  EXPECT_LT(recorded->events(0).id(), recorded->events(1).id());
  EXPECT_LT(recorded->events(1).id(), recorded->events(2).id());

  v1::GetEventsByExecutionRequest request;
  request.set_execution_id("exec-batch");
  auto got = this->store().GetByExecution(request);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->events_size(), 3);
  EXPECT_EQ(got->events(0).event_type(), "execution.started");
  EXPECT_EQ(got->events(1).data_json(), "");
  EXPECT_EQ(nlohmann::json::parse(got->events(2).data_json()),
            nlohmann::json::parse(R"(["a","b\"c",null])"));

  // One bad event fails the whole batch: nothing of it is written.
  v1::RecordEventBatchRequest bad;
  *bad.add_events() = NewEvent("exec-bad-batch", "step.started");
  *bad.add_events() = NewEvent("exec-bad-batch", "step.completed");
  bad.mutable_events(1)->set_data_json("{broken");
  EXPECT_EQ(this->store().RecordBatch(bad).status().code(), StatusCode::kInvalidArgument);
  request.set_execution_id("exec-bad-batch");
  EXPECT_EQ(this->store().GetByExecution(request)->events_size(), 0);

  EXPECT_TRUE(this->store().RecordBatch(v1::RecordEventBatchRequest()).ok());
}

TYPED_TEST(EventStoreTest, ARepeatedRequestIdReturnsTheFirstResultAndWritesOnce) {
  v1::RecordEventRequest record;
  *record.mutable_event() = NewEvent("exec-request-id", "step.started");
  record.set_request_id("request-id-record");
  auto first = this->store().Record(record);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = this->store().Record(record);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->event().id(), first->event().id());
  EXPECT_EQ(again->event().created_at(), first->event().created_at());
  EXPECT_EQ(again->event().event_type(), "step.started");

  v1::RecordEventBatchRequest batch;
  for (const char* type : {"a", "b", "c"}) *batch.add_events() = NewEvent("exec-request-id", type);
  batch.set_request_id("request-id-batch");
  auto batch_first = this->store().RecordBatch(batch);
  ASSERT_TRUE(batch_first.ok()) << batch_first.status();
  auto batch_again = this->store().RecordBatch(batch);
  ASSERT_TRUE(batch_again.ok()) << batch_again.status();
  ASSERT_EQ(batch_again->events_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(batch_again->events(i).id(), batch_first->events(i).id());
    EXPECT_EQ(batch_again->events(i).event_type(), batch_first->events(i).event_type());
  }
  v1::GetEventsByExecutionRequest get;
  get.set_execution_id("exec-request-id");
  EXPECT_EQ(this->store().GetByExecution(get)->events_size(), 4);
  // The same id for another request is a client bug: refused, nothing written.
  record.mutable_event()->set_event_type("step.other");
  EXPECT_EQ(this->store().Record(record).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(this->store().GetByExecution(get)->events_size(), 4);
  record.set_request_id(std::string(256, 'r'));
  EXPECT_EQ(this->store().Record(record).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(EventStoreTest, QueryFiltersByExecutionTypeAndTime) {
  this->Record(NewEvent("exec-q", "step.started", 1000));
  this->Record(NewEvent("exec-q", "step.completed", 2000));
  this->Record(NewEvent("exec-q", "step.failed", 3000));
  this->Record(NewEvent("exec-q", "job.created", 4000));
  this->Record(NewEvent("exec-other", "step.completed", 2500));

  v1::QueryEventsRequest request;
  request.set_execution_id("exec-q");
  request.add_event_types("step.started");
  request.add_event_types("step.completed");
  request.add_event_types("step.failed");
  request.set_after(1000);
  request.set_before(4000);
  auto got = this->store().Query(request);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> types;
  for (const auto& e : got->events()) types.push_back(e.event_type());
  EXPECT_EQ(types, (std::vector<std::string>{"step.completed", "step.failed"}));

  v1::QueryEventsRequest all_types;
  all_types.add_event_types("step.completed");
  EXPECT_EQ(this->Ids(all_types).size(), 2u);  // both executions

  v1::QueryEventsRequest newest_first;
  newest_first.set_execution_id("exec-q");
  newest_first.set_descending(true);
  newest_first.set_limit(3);
  auto page = this->store().Query(newest_first);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), 3);
  EXPECT_EQ(page->events(0).event_type(), "job.created");
  ASSERT_NE(page->next_after_id(), 0);
  newest_first.set_after_id(page->next_after_id());
  page = this->store().Query(newest_first);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), 1);
  EXPECT_EQ(page->events(0).event_type(), "step.started");
  EXPECT_EQ(page->next_after_id(), 0);
}

TYPED_TEST(EventStoreTest, DeleteOldCountsAndKeepsNewerEvents) {
  this->Record(NewEvent("exec-old", "step.started", 1000));
  this->Record(NewEvent("exec-old", "step.completed", 2000));
  this->Record(NewEvent("exec-old", "step.completed", 9000));
  v1::DeleteOldEventsRequest request;
  request.set_before(5000);
  auto deleted = this->store().DeleteOld(request);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted_count(), 2);
  EXPECT_EQ(this->store().DeleteOld(request)->deleted_count(), 0);
  v1::QueryEventsRequest rest;
  rest.set_execution_id("exec-old");
  EXPECT_EQ(this->Ids(rest).size(), 1u);
}

TYPED_TEST(EventStoreTest, EventsOutliveTheirExecution) {
  v1::Execution execution;
  execution.set_id("exec-deleted");
  execution.set_flow_id("f");
  execution.set_flow_version("1.0.0");
  execution.set_current_step_id("s");
  execution.set_status(v1::EXECUTION_STATUS_RUNNING);
  v1::CreateExecutionRequest create;
  *create.mutable_execution() = execution;
  ASSERT_TRUE(this->backend_.executions().Create(create).ok());
  this->Record(NewEvent("exec-deleted", "execution.created"));
  v1::DeleteExecutionRequest del;
  del.set_execution_id("exec-deleted");
  ASSERT_TRUE(this->backend_.executions().Delete(del).ok());
  v1::QueryEventsRequest request;
  request.set_execution_id("exec-deleted");
  EXPECT_EQ(this->Ids(request).size(), 1u);
}

// Writers append (single events and batches, several threads so that commits race and can
// finish out of id order) while a reader pages through with a small limit. The reader must
// see every event exactly once, in id order.
TYPED_TEST(EventStoreTest, PagingWhileAppendingNeitherSkipsNorRepeats) {
  constexpr int kWriters = 6;
  constexpr int kPerWriter = 40;
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        absl::Status status;
        if (w % 2 == 0) {
          v1::RecordEventRequest request;
          *request.mutable_event() = NewEvent("exec-tail", absl::StrCat("w", w, ".", i));
          status = this->store().Record(request).status();
        } else {
          v1::RecordEventBatchRequest batch;
          for (int k = 0; k < 3; ++k) {
            *batch.add_events() = NewEvent("exec-tail", absl::StrCat("w", w, ".", i, ".", k));
          }
          status = this->store().RecordBatch(batch).status();
        }
        if (!status.ok()) failures.fetch_add(1);
      }
      writers_left.fetch_sub(1);
    });
  }

  std::vector<int64_t> seen;
  int64_t cursor = 0;
  bool last_pass = false;
  for (;;) {
    const bool writers_done = writers_left.load() == 0;
    v1::QueryEventsRequest request;
    request.set_execution_id("exec-tail");
    request.set_after_id(cursor);
    request.set_limit(7);
    auto page = this->store().Query(request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->events()) seen.push_back(e.id());
    if (page->events_size() > 0) cursor = page->events(page->events_size() - 1).id();
    if (page->events_size() == 0) {
      if (last_pass) break;
      last_pass = writers_done;  // one more empty page after every writer finished
    }
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  const size_t expected = (kWriters / 2) * kPerWriter + (kWriters / 2) * kPerWriter * 3;
  EXPECT_EQ(seen.size(), expected);
  for (size_t i = 1; i < seen.size(); ++i) {
    ASSERT_LT(seen[i - 1], seen[i]) << "repeated or out of order at " << i;
  }
  std::vector<int64_t> all;
  v1::QueryEventsRequest everything;
  everything.set_execution_id("exec-tail");
  everything.set_limit(10'000);
  all = this->Ids(everything);
  EXPECT_EQ(seen, all) << "the reader skipped events";
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadEventRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(EventStore&)> call;
};

absl::Status RecordWith(EventStore& s, const std::function<void(v1::Event&)>& edit) {
  v1::RecordEventRequest request;
  *request.mutable_event() = NewEvent("exec-bad", "step.started");
  edit(*request.mutable_event());
  return s.Record(request).status();
}

std::vector<BadEventRequest> BadEventRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  return {
      {"record: no event", kInvalid,
       [](EventStore& s) { return s.Record(v1::RecordEventRequest()).status(); }},
      {"record: empty execution_id", kInvalid,
       [](EventStore& s) { return RecordWith(s, [](v1::Event& e) { e.clear_execution_id(); }); }},
      {"record: empty event_type", kInvalid,
       [](EventStore& s) { return RecordWith(s, [](v1::Event& e) { e.clear_event_type(); }); }},
      {"record: invalid data JSON", kInvalid,
       [](EventStore& s) { return RecordWith(s, [](v1::Event& e) { e.set_data_json("{x"); }); }},
      {"record: \\u0000 in data", kInvalid,
       [](EventStore& s) {
         return RecordWith(s, [](v1::Event& e) { e.set_data_json(R"("a\u0000")"); });
       }},
      {"record: negative created_at", kInvalid,
       [](EventStore& s) { return RecordWith(s, [](v1::Event& e) { e.set_created_at(-1); }); }},
      {"record: over-long step_id", kInvalid,
       [](EventStore& s) {
         return RecordWith(s, [](v1::Event& e) { e.set_step_id(std::string(300, 's')); });
       }},
      {"batch: too many events", kInvalid,
       [](EventStore& s) {
         v1::RecordEventBatchRequest r;
         for (int i = 0; i <= kMaxEventBatch; ++i) {
           v1::Event* e = r.add_events();
           e->set_execution_id("x");
           e->set_event_type("t");
         }
         return s.RecordBatch(r).status();
       }},
      {"query: negative limit", kInvalid,
       [](EventStore& s) {
         v1::QueryEventsRequest r;
         r.set_limit(-1);
         return s.Query(r).status();
       }},
      {"query: limit over maximum", kInvalid,
       [](EventStore& s) {
         v1::QueryEventsRequest r;
         r.set_limit(10'001);
         return s.Query(r).status();
       }},
      {"query: negative after_id", kInvalid,
       [](EventStore& s) {
         v1::QueryEventsRequest r;
         r.set_after_id(-5);
         return s.Query(r).status();
       }},
      {"query: empty event type", kInvalid,
       [](EventStore& s) {
         v1::QueryEventsRequest r;
         r.add_event_types("");
         return s.Query(r).status();
       }},
      {"query: empty execution_id set", kInvalid,
       [](EventStore& s) {
         v1::QueryEventsRequest r;
         r.set_execution_id("");
         return s.Query(r).status();
       }},
      {"get by execution: empty id", kInvalid,
       [](EventStore& s) { return s.GetByExecution(v1::GetEventsByExecutionRequest()).status(); }},
      {"delete old: no cutoff", kInvalid,
       [](EventStore& s) { return s.DeleteOld(v1::DeleteOldEventsRequest()).status(); }},
  };
}

TYPED_TEST(EventStoreTest, MalformedRequestsGetTheirStatusCode) {
  const auto cases = BadEventRequests();
  for (const BadEventRequest& c : cases) {
    const absl::Status status = c.call(this->store());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  v1::QueryEventsRequest request;
  request.set_execution_id("exec-bad");
  EXPECT_TRUE(this->Ids(request).empty()) << "a bad record wrote something";
}

}  // namespace
}  // namespace flowmonkey::testing
