#pragma once

// EventStore over gRPC. Reads and DeleteOld are retried on UNAVAILABLE; Record and
// RecordBatch are not (a repeated append would record the event twice).

#include <memory>

#include <grpcpp/grpcpp.h>

#include "client/call.h"
#include "core/event_store.h"
#include "flowmonkey/v1/event.grpc.pb.h"

namespace flowmonkey::client {

class RemoteEventStore : public EventStore {
 public:
  RemoteEventStore(std::shared_ptr<grpc::Channel> channel, CallOptions options);

  absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) override;
  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) override;
  absl::StatusOr<v1::QueryEventsResponse> Query(const v1::QueryEventsRequest& request) override;
  absl::StatusOr<v1::GetEventsByExecutionResponse> GetByExecution(
      const v1::GetEventsByExecutionRequest& request) override;
  absl::StatusOr<v1::DeleteOldEventsResponse> DeleteOld(
      const v1::DeleteOldEventsRequest& request) override;

 private:
  std::unique_ptr<v1::EventStore::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
