#include "client/worker.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::client {
namespace {

// A subscription the server refused: reconnecting would be refused again.
bool Fatal(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

}  // namespace

JobWorker::JobWorker(std::shared_ptr<grpc::Channel> channel, CallOptions call,
                     WorkerOptions options, JobHandler handler)
    : call_(std::move(call)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      stub_(v1::JobStore::NewStub(std::move(channel))) {}

JobWorker::~JobWorker() { Stop(); }

int JobWorker::active() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size());
}

void JobWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
}

absl::Status JobWorker::Run() {
  if (options_.concurrency < 1 || options_.concurrency > 10'000) {
    return absl::InvalidArgumentError("concurrency: 1..10,000");
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.concurrency; ++i) threads.emplace_back([this] { RunJobs(); });
  std::thread heartbeats([this] { Heartbeats(); });
  absl::Status result;
  absl::Duration backoff = absl::Milliseconds(100);
  for (uint64_t generation = 1;; ++generation) {
    const absl::Status status = RunStream(generation);
    std::unique_lock lock(mu_);
    if (stopping_) break;
    if (Fatal(status.code())) {
      result = status;
      break;
    }
    spdlog::debug("JobStore.Work stream ended ({}); reconnecting in {}", status.ToString(),
                  absl::FormatDuration(backoff));
    changed_.wait_for(lock, absl::ToChronoMilliseconds(backoff), [this] { return stopping_; });
    if (stopping_) break;
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  Stop();
  for (std::thread& thread : threads) thread.join();
  {
    std::lock_guard lock(mu_);
    threads_over_ = true;
  }
  changed_.notify_all();
  heartbeats.join();
  return result;
}

absl::Status JobWorker::RunStream(uint64_t generation) {
  grpc::ClientContext context;
  if (!call_.api_key.empty()) context.AddMetadata("authorization", "Bearer " + call_.api_key);
  std::unique_ptr<grpc::ClientReaderWriter<v1::WorkRequest, v1::WorkResponse>> stream =
      stub_->Work(&context);
  v1::WorkRequest subscribe;
  v1::WorkSubscribe* s = subscribe.mutable_subscribe();
  s->set_runner_id(options_.runner_id);
  for (const std::string& handler : options_.handlers) s->add_handlers(handler);
  if (options_.tenant_id) s->set_tenant_id(*options_.tenant_id);
  {
    std::lock_guard lock(mu_);
    // Jobs still held from an earlier stream keep their slots.
    s->set_credits(
        std::max<int>(0, options_.concurrency - static_cast<int>(running_.size() + queue_.size())));
    generation_ = generation;
    stream_over_ = false;
  }
  {
    std::lock_guard lock(write_mu_);
    stream_ = stream.get();
    stream_generation_ = generation;
    writes_done_ = false;
  }
  // Closes our side once stopping and idle: the server then releases the jobs still
  // queued here and finishes the stream.
  std::thread closer([this, &stream] {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return stream_over_ || (stopping_ && running_.empty()); });
    if (stream_over_) return;
    lock.unlock();
    std::lock_guard write_lock(write_mu_);
    stream->WritesDone();
    writes_done_ = true;
  });
  {
    std::lock_guard lock(write_mu_);
    stream->Write(subscribe);  // a failure shows in Read and Finish
  }
  v1::WorkResponse response;
  while (stream->Read(&response)) {
    for (const v1::WorkAck& ack : response.acks()) {
      if (ack.code() == 0) {
        if (ack.op() == v1::WorkAck::OP_COMPLETE) ++completed_;
        if (ack.op() == v1::WorkAck::OP_FAIL) ++failed_;
      } else if (ack.op() != v1::WorkAck::OP_HEARTBEAT) {
        spdlog::warn("JobStore.Work: job {}: {} (code {})", ack.job_id(), ack.message(),
                     ack.code());
      }
    }
    if (response.jobs_size() > 0) {
      std::lock_guard lock(mu_);
      for (v1::Job& job : *response.mutable_jobs()) {
        queue_.push_back(Held{std::move(job), generation});
      }
    }
    changed_.notify_all();
  }
  {
    std::lock_guard lock(mu_);
    stream_over_ = true;
  }
  changed_.notify_all();
  closer.join();
  {
    std::lock_guard lock(write_mu_);
    stream_ = nullptr;
  }
  const grpc::Status status = stream->Finish();
  if (status.ok()) {
    // A clean end released the jobs the stream had pushed and we had not started.
    std::lock_guard lock(mu_);
    queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                                [generation](const Held& h) { return h.stream == generation; }),
                 queue_.end());
  }
  return FromGrpcStatus(status);
}

void JobWorker::RunJobs() {
  for (;;) {
    Held held;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      held = std::move(queue_.front());
      queue_.pop_front();
      running_[held.job.id()] = held;
    }
    absl::StatusOr<std::string> result;
    try {
      result = handler_(held.job);
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("the handler threw: ", e.what()));
    }
    Report(held, result);
    {
      std::lock_guard lock(mu_);
      running_.erase(held.job.id());
    }
    changed_.notify_all();
  }
}

void JobWorker::Report(Held held, absl::StatusOr<std::string> result) {
  std::vector<Outcome> batch;
  {
    std::lock_guard lock(outbox_mu_);
    outbox_.push_back(Outcome{std::move(held), std::move(result)});
    if (sending_) return;  // the sending thread takes it with its next message
    sending_ = true;
  }
  for (;;) {
    {
      std::lock_guard lock(outbox_mu_);
      if (outbox_.empty()) {
        sending_ = false;
        return;
      }
      batch.clear();
      batch.swap(outbox_);
    }
    Send(batch);
  }
}

void JobWorker::Send(std::vector<Outcome>& batch) {
  // At most the server's limit of completions and failures per WorkRequest (1,000).
  const size_t per_message =
      static_cast<size_t>(std::clamp(options_.max_reports_per_message, 1, 1'000));
  std::vector<const Outcome*> unary;
  {
    std::lock_guard write_lock(write_mu_);
    const bool open = stream_ != nullptr && !writes_done_;
    for (size_t first = 0; first < batch.size(); first += per_message) {
      const size_t last = std::min(batch.size(), first + per_message);
      v1::WorkRequest request;
      std::vector<const Outcome*> sent;
      for (size_t i = first; i < last; ++i) {
        const Outcome& outcome = batch[i];
        if (!open || outcome.held.stream != stream_generation_) {
          // The job came on an earlier stream: its slot is free on this one.
          unary.push_back(&outcome);
          continue;
        }
        const v1::Job& job = outcome.held.job;
        if (outcome.result.ok()) {
          v1::WorkComplete* complete = request.add_complete();
          complete->set_job_id(job.id());
          complete->set_result_json(*outcome.result);
        } else {
          v1::WorkFail* fail = request.add_fail();
          fail->set_job_id(job.id());
          fail->mutable_error()->set_code(absl::StatusCodeToString(outcome.result.status().code()));
          fail->mutable_error()->set_message(std::string(outcome.result.status().message()));
        }
        sent.push_back(&outcome);
      }
      request.set_credits(static_cast<int32_t>(last - first));  // one slot per job reported
      if (open && !stream_->Write(request)) unary.insert(unary.end(), sent.begin(), sent.end());
    }
  }
  for (const Outcome* outcome : unary) ReportUnary(*outcome);
}

// The stream that pushed the job is gone: the unary calls, fenced by the same instance.
void JobWorker::ReportUnary(const Outcome& outcome) {
  const v1::Job& job = outcome.held.job;
  absl::Status status;
  if (outcome.result.ok()) {
    v1::CompleteJobRequest complete;
    complete.set_job_id(job.id());
    complete.set_runner_id(job.runner_id());
    complete.set_instance_id(job.instance_id());
    complete.set_result_json(*outcome.result);
    status = UnaryCall<v1::CompleteJobRequest, v1::CompleteJobResponse>(
                 call_, Retry::kOnce, complete,
                 [this](grpc::ClientContext* c, const v1::CompleteJobRequest& r,
                        v1::CompleteJobResponse* out) { return stub_->Complete(c, r, out); })
                 .status();
    if (status.ok()) ++completed_;
  } else {
    v1::FailJobRequest fail;
    fail.set_job_id(job.id());
    fail.set_runner_id(job.runner_id());
    fail.set_instance_id(job.instance_id());
    fail.mutable_error()->set_code(absl::StatusCodeToString(outcome.result.status().code()));
    fail.mutable_error()->set_message(std::string(outcome.result.status().message()));
    status = UnaryCall<v1::FailJobRequest, v1::FailJobResponse>(
                 call_, Retry::kOnce, fail,
                 [this](grpc::ClientContext* c, const v1::FailJobRequest& r,
                        v1::FailJobResponse* out) { return stub_->Fail(c, r, out); })
                 .status();
    if (status.ok()) ++failed_;
  }
  if (!status.ok()) {
    spdlog::warn("JobStore.Work: job {}: {} (the reaper will reset it)", job.id(),
                 status.ToString());
  }
}

void JobWorker::Heartbeats() {
  std::unique_lock lock(mu_);
  while (!threads_over_) {
    changed_.wait_for(lock, absl::ToChronoMilliseconds(options_.heartbeat),
                      [this] { return threads_over_; });
    if (threads_over_) return;
    v1::WorkRequest request;
    std::vector<v1::Job> elsewhere;  // from an earlier stream: heartbeated with the unary call
    for (const auto& [id, held] : running_) {
      if (!stream_over_ && held.stream == generation_) {
        request.add_heartbeat(id);
      } else {
        elsewhere.push_back(held.job);
      }
    }
    lock.unlock();
    if (request.heartbeat_size() > 0) {
      std::lock_guard write_lock(write_mu_);
      if (stream_ != nullptr && !writes_done_) stream_->Write(request);
    }
    for (const v1::Job& job : elsewhere) {
      v1::HeartbeatJobRequest heartbeat;
      heartbeat.set_job_id(job.id());
      heartbeat.set_runner_id(job.runner_id());
      heartbeat.set_instance_id(job.instance_id());
      (void)UnaryCall<v1::HeartbeatJobRequest, v1::HeartbeatJobResponse>(
          call_, Retry::kIdempotent, heartbeat,
          [this](grpc::ClientContext* c, const v1::HeartbeatJobRequest& r,
                 v1::HeartbeatJobResponse* out) { return stub_->Heartbeat(c, r, out); });
    }
    lock.lock();
  }
}

}  // namespace flowmonkey::client
