#pragma once

// gRPC adapter: flowmonkey.v1.JobStore over a JobStore. The unary methods are generated
// (job.fm_service.h); Work is served by the WorkDispatcher (work.h).

#include "flowmonkey/v1/job.fm_service.h"
#include "server/rpc/work.h"

namespace flowmonkey::rpc {

class JobStoreService final : public JobStoreServiceBase {
 public:
  JobStoreService(JobStore& store, Executor& executor, WorkDispatcher& work)
      : JobStoreServiceBase(store, executor), work_(work) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Work(
      grpc::CallbackServerContext* context) override {
    return work_.Open(context);
  }

 private:
  WorkDispatcher& work_;
};

}  // namespace flowmonkey::rpc
