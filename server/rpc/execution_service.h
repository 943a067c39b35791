#pragma once

// gRPC adapter: flowmonkey.v1.ExecutionStore over an ExecutionStore. The unary methods are
// generated (execution.fm_service.h); WatchWakeups is served by the WakeupDispatcher
// (wakeups.h).

#include "flowmonkey/v1/execution.fm_service.h"
#include "server/rpc/wakeups.h"

namespace flowmonkey::rpc {

class ExecutionStoreService final : public ExecutionStoreServiceBase {
 public:
  ExecutionStoreService(ExecutionStore& store, Executor& executor, WakeupDispatcher& wakeups)
      : ExecutionStoreServiceBase(store, executor), wakeups_(wakeups) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WatchWakeups(
      grpc::CallbackServerContext* context) override {
    return wakeups_.Open(context);
  }

 private:
  WakeupDispatcher& wakeups_;
};

}  // namespace flowmonkey::rpc
