#pragma once

// gRPC adapter: flowmonkey.v1.ContextStorage served over a ContextStorage interface. Set
// gathers the chunks of a client stream into one value (refusing, as soon as the total is
// known to be over max_bytes, with RESOURCE_EXHAUSTED) and stores it only after a clean
// end of the stream; Get streams the stored value back in chunks of kContextChunkBytes.
// The bytes of values held by calls in flight, both ways, are bounded by `budget`.

#include <cstdint>

#include "flowmonkey/v1/context.fm_service.h"
#include "server/rpc/byte_budget.h"

namespace flowmonkey::rpc {

// Set is served raw (ByteBuffer messages, `raw_request` in its policy), to tell a malformed
// message from the end of the stream. The unary methods are generated (context.fm_service.h).
class ContextStorageService final : public ContextStorageServiceBase {
 public:
  ContextStorageService(ContextStorage& store, Executor& executor, int64_t max_bytes,
                        ByteBudget& budget)
      : ContextStorageServiceBase(store, executor), max_bytes_(max_bytes), budget_(budget) {}

  grpc::ServerReadReactor<grpc::ByteBuffer>* Set(grpc::CallbackServerContext* c,
                                                 grpc::ByteBuffer* resp) override;
  grpc::ServerWriteReactor<v1::GetContextResponse>* Get(grpc::CallbackServerContext* c,
                                                        const v1::GetContextRequest* req) override;

 private:
  const int64_t max_bytes_;
  ByteBudget& budget_;
};

}  // namespace flowmonkey::rpc
