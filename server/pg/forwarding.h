#pragma once

// Forwarding bases for decorators: each forwards every method of its interface to `next`,
// so a decorator derives from one and overrides only what it changes. Stand-in for the
// bases generated from the protos (issue 13, item 2); same names and signatures, so this
// file is deleted when the generated ones land.

#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/job_store.h"

namespace flowmonkey {

#define FM_FORWARD(Method, Request, Response)                                \
  absl::StatusOr<v1::Response> Method(const v1::Request& request) override { \
    return next_.Method(request);                                            \
  }

class ForwardingExecutionStore : public ExecutionStore {
 public:
  explicit ForwardingExecutionStore(ExecutionStore& next) : next_(next) {}
  FM_FORWARD(Create, CreateExecutionRequest, CreateExecutionResponse)
  FM_FORWARD(Get, GetExecutionRequest, GetExecutionResponse)
  FM_FORWARD(Save, SaveExecutionRequest, SaveExecutionResponse)
  FM_FORWARD(Update, UpdateExecutionRequest, UpdateExecutionResponse)
  FM_FORWARD(Delete, DeleteExecutionRequest, DeleteExecutionResponse)
  FM_FORWARD(FindByStatus, FindByStatusRequest, FindByStatusResponse)
  FM_FORWARD(ListWakeReady, ListWakeReadyRequest, ListWakeReadyResponse)
  FM_FORWARD(FindByTenant, FindByTenantRequest, FindByTenantResponse)
  FM_FORWARD(FindByIdempotencyKey, FindByIdempotencyKeyRequest, FindByIdempotencyKeyResponse)
  FM_FORWARD(FindChildren, FindChildrenRequest, FindChildrenResponse)
  FM_FORWARD(FindTimedOutExecutions, FindTimedOutExecutionsRequest, FindTimedOutExecutionsResponse)
  FM_FORWARD(FindTimedOutWaits, FindTimedOutWaitsRequest, FindTimedOutWaitsResponse)
  FM_FORWARD(AcquireLock, AcquireLockRequest, AcquireLockResponse)
  FM_FORWARD(ExtendLock, ExtendLockRequest, ExtendLockResponse)
  FM_FORWARD(ReleaseLock, ReleaseLockRequest, ReleaseLockResponse)

 protected:
  ExecutionStore& next() { return next_; }

 private:
  ExecutionStore& next_;
};

class ForwardingEventStore : public EventStore {
 public:
  explicit ForwardingEventStore(EventStore& next) : next_(next) {}
  FM_FORWARD(Record, RecordEventRequest, RecordEventResponse)
  FM_FORWARD(RecordBatch, RecordEventBatchRequest, RecordEventBatchResponse)
  FM_FORWARD(Query, QueryEventsRequest, QueryEventsResponse)
  FM_FORWARD(GetByExecution, GetEventsByExecutionRequest, GetEventsByExecutionResponse)
  FM_FORWARD(DeleteOld, DeleteOldEventsRequest, DeleteOldEventsResponse)

 protected:
  EventStore& next() { return next_; }

 private:
  EventStore& next_;
};

class ForwardingJobStore : public JobStore {
 public:
  explicit ForwardingJobStore(JobStore& next) : next_(next) {}
  FM_FORWARD(Create, CreateJobRequest, CreateJobResponse)
  FM_FORWARD(Get, GetJobRequest, GetJobResponse)
  FM_FORWARD(GetForStep, GetJobForStepRequest, GetJobForStepResponse)
  FM_FORWARD(Claim, ClaimJobRequest, ClaimJobResponse)
  FM_FORWARD(ClaimNext, ClaimNextJobsRequest, ClaimNextJobsResponse)
  FM_FORWARD(ClaimWithInstance, ClaimJobWithInstanceRequest, ClaimJobWithInstanceResponse)
  FM_FORWARD(Heartbeat, HeartbeatJobRequest, HeartbeatJobResponse)
  FM_FORWARD(Complete, CompleteJobRequest, CompleteJobResponse)
  FM_FORWARD(Fail, FailJobRequest, FailJobResponse)
  FM_FORWARD(Cancel, CancelJobRequest, CancelJobResponse)
  FM_FORWARD(FindStalled, FindStalledJobsRequest, FindStalledJobsResponse)
  FM_FORWARD(ResetStalled, ResetStalledJobsRequest, ResetStalledJobsResponse)
  FM_FORWARD(ListByStatus, ListJobsByStatusRequest, ListJobsByStatusResponse)
  FM_FORWARD(ListByExecution, ListJobsByExecutionRequest, ListJobsByExecutionResponse)
  FM_FORWARD(SaveCheckpoint, SaveJobCheckpointRequest, SaveJobCheckpointResponse)
  FM_FORWARD(GetCheckpoint, GetJobCheckpointRequest, GetJobCheckpointResponse)
  FM_FORWARD(UpdateProgress, UpdateJobProgressRequest, UpdateJobProgressResponse)
  FM_FORWARD(IsInstanceActive, IsJobInstanceActiveRequest, IsJobInstanceActiveResponse)
  FM_FORWARD(GetInstanceId, GetJobInstanceIdRequest, GetJobInstanceIdResponse)
  FM_FORWARD(DeleteOld, DeleteOldJobsRequest, DeleteOldJobsResponse)

 protected:
  JobStore& next() { return next_; }

 private:
  JobStore& next_;
};

#undef FM_FORWARD

}  // namespace flowmonkey
