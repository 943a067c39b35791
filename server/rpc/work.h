#pragma once

// JobStore.Work: push delivery of jobs to workers over one bidirectional stream each
// (proto/flowmonkey/v1/job.proto, docs/adr/0013-work-stream.md).
//
// WorkDispatcher owns one thread ("fm-work") that claims for every open stream: streams
// that subscribed to the same handlers under the same tenant form a group, and one
// ClaimNext per group, with a slot per credit (ClaimNextJobsRequest.slots), serves all of
// them; each job comes back running for its stream's runner with a fresh instance id, so a
// stale worker's completion is refused by the store's fencing. It runs a pass when woken
// (new jobs: the LISTEN connection; new credits; released jobs) and every poll interval.
//
// WorkStream is one call: it reads the worker's messages, runs their completions (group
// commit, core/async_call.h), failures, heartbeats and checkpoints on the jobs it holds,
// and writes jobs and acks back, coalesced into few messages. Bounded: a stream holds at
// most kMaxJobs jobs plus credit, has at most kMaxOps writes in flight (beyond, it stops
// reading: back-pressure on the worker), and the server holds at most
// WorkOptions::max_held jobs over all streams (beyond, the dispatcher claims nothing).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/job_store.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

struct WorkOptions {
  // A pass over every waiting stream this often even when nothing woke the dispatcher:
  // jobs whose run_at came, retries, jobs reset or released elsewhere.
  absl::Duration poll = absl::Milliseconds(500);
  // Jobs all streams of this server may hold at once.
  int max_held = 10'000;
  // Slots of one claim (one statement).
  int max_claim = 1'000;
  // Reports jobs pushed (metrics); may be empty.
  std::function<void(size_t)> on_push;
};

class WorkStream;

class WorkDispatcher {
 public:
  WorkDispatcher(JobStore& jobs, Executor& executor, WorkOptions options);
  // Stops the thread. Streams still open are not finished here: the server's shutdown
  // cancels them.
  ~WorkDispatcher();
  WorkDispatcher(const WorkDispatcher&) = delete;
  WorkDispatcher& operator=(const WorkDispatcher&) = delete;

  // Starts the call's stream (JobStore.Work).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Open(
      grpc::CallbackServerContext* context);

  // Runs a pass soon: jobs may have become claimable, or a stream has credit.
  void Wake();
  // Drains every stream: no more jobs are pushed, and each ends with UNAVAILABLE once its
  // worker has completed or failed what it holds (the worker reconnects, to a replica or
  // to this server restarted); streams opened from now on are refused. The server calls
  // it before gRPC's drain, whose timeout cancels streams still open.
  void Shutdown();
  // Jobs held by all streams.
  int held() const { return held_.load(std::memory_order_relaxed); }
  int streams() const;

 private:
  friend class WorkStream;

  // False once shut down.
  bool Add(const std::shared_ptr<WorkStream>& stream);
  void Remove(const WorkStream* stream);
  void Held(int delta) { held_.fetch_add(delta, std::memory_order_relaxed); }
  std::string NewInstanceId();
  void Loop();
  // One claim for the streams of one group; true when it filled every slot (more may wait).
  bool Claim(const std::vector<std::shared_ptr<WorkStream>>& group);

  JobStore& jobs_;
  Executor& executor_;
  const WorkOptions options_;
  const std::string instance_prefix_;  // random per server: instance ids never repeat
  std::atomic<uint64_t> next_instance_{0};
  std::atomic<int> held_{0};

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  bool stop_ = false;
  bool shut_down_ = false;
  // Open, subscribed streams by group (tenant and handlers).
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<WorkStream>>> groups_;
  std::thread thread_;
};

}  // namespace flowmonkey::rpc
