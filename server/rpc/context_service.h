#pragma once

// gRPC adapter: flowmonkey.v1.ContextStorage served over a ContextStorage interface. Set
// gathers the chunks of a client stream into one value (refusing, as soon as the total is
// known to be over max_bytes, with RESOURCE_EXHAUSTED) and stores it only after a clean
// end of the stream; Get streams the stored value back in chunks of kContextChunkBytes.
// The bytes of values held by calls in flight, both ways, are bounded by `budget`.

#include <cstdint>

#include "core/context_storage.h"
#include "flowmonkey/v1/context.grpc.pb.h"
#include "server/rpc/byte_budget.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

// Set is served raw (ByteBuffer messages), to tell a malformed message from the end of
// the stream.
class ContextService final
    : public v1::ContextStorage::WithRawCallbackMethod_Set<v1::ContextStorage::CallbackService> {
 public:
  ContextService(ContextStorage& store, Executor& executor, int64_t max_bytes, ByteBudget& budget)
      : store_(store), executor_(executor), max_bytes_(max_bytes), budget_(budget) {}

  grpc::ServerReadReactor<grpc::ByteBuffer>* Set(grpc::CallbackServerContext* c,
                                                 grpc::ByteBuffer* resp) override;
  grpc::ServerWriteReactor<v1::GetContextResponse>* Get(grpc::CallbackServerContext* c,
                                                        const v1::GetContextRequest* req) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* c,
                                   const v1::DeleteContextRequest* req,
                                   v1::DeleteContextResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* c, const v1::ListContextRequest* req,
                                 v1::ListContextResponse* resp) override;
  grpc::ServerUnaryReactor* ClearExecution(grpc::CallbackServerContext* c,
                                           const v1::ClearExecutionContextRequest* req,
                                           v1::ClearExecutionContextResponse* resp) override;

 private:
  ContextStorage& store_;
  Executor& executor_;
  const int64_t max_bytes_;
  ByteBudget& budget_;
};

}  // namespace flowmonkey::rpc
