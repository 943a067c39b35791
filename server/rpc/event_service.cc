#include "server/rpc/event_service.h"

#include "server/rpc/unary.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* EventService::Record(grpc::CallbackServerContext* c,
                                               const v1::RecordEventRequest* req,
                                               v1::RecordEventResponse* resp) {
  return Serve(c, executor_, store_, &EventStore::Record, req, resp, "EventStore.Record");
}

grpc::ServerUnaryReactor* EventService::RecordBatch(grpc::CallbackServerContext* c,
                                                    const v1::RecordEventBatchRequest* req,
                                                    v1::RecordEventBatchResponse* resp) {
  return Serve(c, executor_, store_, &EventStore::RecordBatch, req, resp, "EventStore.RecordBatch");
}

grpc::ServerUnaryReactor* EventService::Query(grpc::CallbackServerContext* c,
                                              const v1::QueryEventsRequest* req,
                                              v1::QueryEventsResponse* resp) {
  return Serve(c, executor_, store_, &EventStore::Query, req, resp, "EventStore.Query");
}

grpc::ServerUnaryReactor* EventService::GetByExecution(grpc::CallbackServerContext* c,
                                                       const v1::GetEventsByExecutionRequest* req,
                                                       v1::GetEventsByExecutionResponse* resp) {
  return Serve(c, executor_, store_, &EventStore::GetByExecution, req, resp,
               "EventStore.GetByExecution");
}

grpc::ServerUnaryReactor* EventService::DeleteOld(grpc::CallbackServerContext* c,
                                                  const v1::DeleteOldEventsRequest* req,
                                                  v1::DeleteOldEventsResponse* resp) {
  return Serve(c, executor_, store_, &EventStore::DeleteOld, req, resp, "EventStore.DeleteOld");
}

}  // namespace flowmonkey::rpc
