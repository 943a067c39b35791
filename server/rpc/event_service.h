#pragma once

// gRPC adapter: flowmonkey.v1.EventStore served over an EventStore interface.

#include "core/event_store.h"
#include "flowmonkey/v1/event.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class EventService final : public v1::EventStore::CallbackService {
 public:
  EventService(EventStore& store, Executor& executor) : store_(store), executor_(executor) {}

  grpc::ServerUnaryReactor* Record(grpc::CallbackServerContext* c,
                                   const v1::RecordEventRequest* req,
                                   v1::RecordEventResponse* resp) override;
  grpc::ServerUnaryReactor* RecordBatch(grpc::CallbackServerContext* c,
                                        const v1::RecordEventBatchRequest* req,
                                        v1::RecordEventBatchResponse* resp) override;
  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* c,
                                  const v1::QueryEventsRequest* req,
                                  v1::QueryEventsResponse* resp) override;
  grpc::ServerUnaryReactor* GetByExecution(grpc::CallbackServerContext* c,
                                           const v1::GetEventsByExecutionRequest* req,
                                           v1::GetEventsByExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteOld(grpc::CallbackServerContext* c,
                                      const v1::DeleteOldEventsRequest* req,
                                      v1::DeleteOldEventsResponse* resp) override;

 private:
  EventStore& store_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
