#pragma once

// A job worker over JobStore.Work (proto/flowmonkey/v1/job.proto): the server pushes jobs,
// `concurrency` threads run them, and each result goes back on the stream with one more
// credit. No polling.
//
//   flowmonkey::client::JobWorker worker(stores->channel, {}, {.runner_id = "worker-1",
//       .handlers = {"email"}, .concurrency = 8},
//       [](const flowmonkey::v1::Job& job) -> absl::StatusOr<std::string> {
//         return R"({"sent":true})";  // the result JSON; an error status fails the job
//       });
//   std::thread t([&] { worker.Run(); });
//   ...
//   worker.Stop();  // running jobs finish and are completed; the rest go back to pending
//   t.join();
//
// While jobs run, the worker heartbeats them on the stream. A job that fails with a status
// fails with error code = the status code's name (e.g. "UNAVAILABLE") and its message; a
// job with a retry policy is retried by the server. When the stream breaks (the server
// restarts, the network), the worker reconnects with backoff; jobs it already holds are
// still run and completed, through the unary Complete/Fail (they stay fenced by their
// instance id), and the server's reaper resets any it cannot reach.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call.h"
#include "flowmonkey/v1/job.grpc.pb.h"

namespace flowmonkey::client {

struct WorkerOptions {
  // Required: Job.runner_id of every job this worker runs.
  std::string runner_id;
  // Empty: any handler.
  std::vector<std::string> handlers;
  // Jobs run at once (threads), and so the most the worker holds.
  int concurrency = 4;
  // How often running jobs are heartbeated; keep it below the jobs' heartbeat_ms.
  absl::Duration heartbeat = absl::Seconds(5);
  // Only jobs of this tenant (a tenant-bound API key sets it anyway).
  std::optional<std::string> tenant_id;
  // Outcomes sent in one message at most: those that finish while an earlier message is
  // being written leave together with the next one. 1 = a message per job. 1..1000.
  int max_reports_per_message = 1000;
};

// Runs one job: its result JSON (empty = none), or an error status to fail it.
using JobHandler = std::function<absl::StatusOr<std::string>(const v1::Job& job)>;

class JobWorker {
 public:
  // `call` gives the API key and, for the unary fallback, the per-call timeout and attempts.
  JobWorker(std::shared_ptr<grpc::Channel> channel, CallOptions call, WorkerOptions options,
            JobHandler handler);
  ~JobWorker();
  JobWorker(const JobWorker&) = delete;
  JobWorker& operator=(const JobWorker&) = delete;

  // Works until Stop(): OK then. Returns early with the stream's status when the server
  // refuses the subscription (INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, ...);
  // reconnects after any other end (UNAVAILABLE, a broken stream).
  absl::Status Run();
  // Stops taking jobs; Run returns once the running ones are completed and the stream is
  // closed (the server then releases the jobs the worker held but had not started).
  void Stop();

  // Jobs completed, and failed, as acknowledged by the server (durable).
  int64_t completed() const { return completed_.load(); }
  int64_t failed() const { return failed_.load(); }
  // Jobs running now.
  int active() const;

 private:
  struct Held {
    v1::Job job;
    uint64_t stream = 0;  // the stream that pushed it
  };

  absl::Status RunStream(uint64_t generation);
  void RunJobs();
  void Heartbeats();
  struct Outcome {
    Held held;
    absl::StatusOr<std::string> result;
  };
  // Reports the outcome of one job: on the stream that pushed it while that stream is
  // open, else with the unary call. Outcomes that arrive while another thread is writing
  // wait for it and leave together, in one message (as many as finished meanwhile).
  void Report(Held held, absl::StatusOr<std::string> result);
  // Sends `batch` in messages of at most max_reports_per_message outcomes; what the stream
  // cannot take goes through ReportUnary.
  void Send(std::vector<Outcome>& batch);
  void ReportUnary(const Outcome& outcome);

  const CallOptions call_;
  const WorkerOptions options_;
  const JobHandler handler_;
  std::unique_ptr<v1::JobStore::Stub> stub_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Held> queue_;                          // pushed, not started
  absl::flat_hash_map<std::string, Held> running_;  // job id →
  bool stopping_ = false;
  bool threads_over_ = false;  // the job threads have exited (ends the heartbeats)
  bool stream_over_ = true;
  uint64_t generation_ = 0;  // of the open stream

  std::mutex write_mu_;  // one Write at a time on the stream
  grpc::ClientReaderWriter<v1::WorkRequest, v1::WorkResponse>* stream_ = nullptr;
  uint64_t stream_generation_ = 0;  // of stream_
  bool writes_done_ = false;

  std::mutex outbox_mu_;
  std::vector<Outcome> outbox_;  // reports waiting for the thread that is sending
  bool sending_ = false;         // a thread is in Send(); it takes outbox_ when done

  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace flowmonkey::client
