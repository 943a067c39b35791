#include "server/rpc/work.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "core/async_call.h"
#include "core/validation.h"
#include "flowmonkey/v1/job.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::rpc {
namespace {

using Bytes = grpc::ByteBuffer;

// Per stream: jobs held plus credit, and the handlers of one subscription.
constexpr int kMaxJobs = kMaxLimit;
constexpr int kMaxHandlers = 100;
// Writes (complete, fail, heartbeat, checkpoint) of one stream in flight; beyond, the
// stream reads no more until some finish.
constexpr int kMaxOps = 512;
// Of one incoming message: completions + failures + heartbeats + checkpoints.
constexpr int kMaxOpsPerMessage = 1'000;
// Outgoing messages: a new one is started beyond this many jobs or acks, or bytes.
constexpr int kMaxItemsPerMessage = 256;
constexpr size_t kMaxBytesPerMessage = 1 << 20;
// Outgoing messages queued; beyond, the stream reads no more until they are written.
constexpr size_t kMaxQueuedMessages = 64;

v1::WorkAck AckOf(const std::string& job_id, v1::WorkAck::Op op, const absl::Status& status) {
  v1::WorkAck ack;
  ack.set_job_id(job_id);
  ack.set_op(op);
  ack.set_code(static_cast<int32_t>(status.code()));
  ack.set_message(std::string(status.message().substr(0, kMaxStatusMessageBytes)));
  return ack;
}

// Whether a fenced write's failure means the job is no longer this worker's.
bool Lost(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition ||
         status.code() == absl::StatusCode::kNotFound;
}

}  // namespace

// One Work call. Owned by a shared_ptr: gRPC's reference (self_, until OnDone), the
// dispatcher's while subscribed, and one per write in flight.
class WorkStream final : public grpc::ServerBidiReactor<Bytes, Bytes>,
                         public std::enable_shared_from_this<WorkStream> {
 public:
  WorkStream(grpc::CallbackServerContext* context, JobStore& jobs, Executor& executor,
             WorkDispatcher& dispatcher)
      : context_(context), jobs_(jobs), executor_(executor), dispatcher_(dispatcher) {}

  void Begin(std::shared_ptr<WorkStream> self) {
    self_ = std::move(self);
    StartRead(&in_);
  }

  // --- the dispatcher's side ---------------------------------------------------------------

  const std::string& group() const { return group_; }
  const v1::WorkSubscribe& subscription() const { return subscription_; }

  // Reserves up to `max` credits for a claim (Deliver spends what the claim used and frees
  // the rest); reserved credits still count against the stream's limit.
  int TakeCredits(int max) {
    std::lock_guard lock(mu_);
    if (ending_ || draining_) return 0;
    const int n = std::min(credits_ - reserved_, max);
    reserved_ += n;
    return n;
  }

  // The jobs of a claim that took `taken` credits; returns those the stream cannot take
  // (it is ending), which the dispatcher releases.
  std::vector<v1::Job> Deliver(std::vector<v1::Job> jobs, int taken) {
    std::unique_lock lock(mu_);
    reserved_ -= taken;
    if (ending_ || draining_) return jobs;
    credits_ -= static_cast<int>(jobs.size());
    for (v1::Job& job : jobs) {
      held_[job.id()] = job.instance_id();
      Outgoing& message = QueueLocked();
      message.bytes += job.ByteSizeLong();
      message.response.add_jobs()->Swap(&job);
    }
    dispatcher_.Held(static_cast<int>(jobs.size()));
    WriteLocked(lock);
    return {};
  }

  // The server shuts down: no more jobs for this stream; it ends (UNAVAILABLE) once the
  // worker has completed or failed the jobs it holds. gRPC's drain timeout cancels it if
  // the worker takes longer (its jobs then come back through the reaper).
  void Drain() {
    std::unique_lock lock(mu_);
    if (ending_) return;
    draining_ = true;
    if (held_.empty()) EndLocked(lock, Draining(), /*release_sent=*/false);
  }

  // --- gRPC's side -------------------------------------------------------------------------

  void OnReadDone(bool ok) override {
    if (!ok) {
      // A clean half-close, or a broken call that gRPC has not reported yet: both end the
      // same way here, except that jobs already sent are released only on a live call.
      std::unique_lock lock(mu_);
      EndLocked(lock, absl::OkStatus(), /*release_sent=*/!context_->IsCancelled());
      return;
    }
    ++messages_;
    v1::WorkRequest request;
    absl::Status status;
    if (!grpc::SerializationTraits<v1::WorkRequest>::Deserialize(&in_, &request).ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("request: message ", messages_,
                       " of the stream cannot be parsed (malformed, or a string field that is "
                       "not valid UTF-8)"));
    } else {
      status = Take(request);
    }
    std::unique_lock lock(mu_);
    if (!status.ok()) {
      spdlog::debug("JobStore.Work {}", status.ToString());
      EndLocked(lock, status, /*release_sent=*/true);
      return;
    }
    reading_ = false;
    ReadLocked(lock);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (!ok) {
      EndLocked(lock, absl::CancelledError("the stream broke"), /*release_sent=*/false);
      return;
    }
    WriteLocked(lock);
    if (!reading_) ReadLocked(lock);
    if (ending_) MaybeFinishLocked(lock);
  }

  void OnCancel() override {
    std::unique_lock lock(mu_);
    EndLocked(lock, absl::CancelledError("cancelled"), /*release_sent=*/false);
  }

  void OnDone() override {
    dispatcher_.Remove(this);
    std::shared_ptr<WorkStream> self;  // the last reference may go here
    {
      std::lock_guard lock(mu_);
      self = std::move(self_);
    }
  }

 private:
  struct Outgoing {
    v1::WorkResponse response;
    size_t bytes = 0;
    bool sent = false;  // handed to gRPC
  };

  // Applies one message; the stream fails with the status it returns.
  absl::Status Take(v1::WorkRequest& request) {
    if (messages_ == 1 && !request.has_subscribe()) {
      return absl::InvalidArgumentError("subscribe: required in the first message");
    }
    if (messages_ > 1 && request.has_subscribe()) {
      return absl::InvalidArgumentError("subscribe: only in the first message");
    }
    const int ops = request.complete_size() + request.fail_size() + request.heartbeat_size() +
                    request.checkpoint_size();
    if (ops > kMaxOpsPerMessage) {
      return absl::InvalidArgumentError(absl::StrCat(
          "complete, fail, heartbeat, checkpoint: at most ", kMaxOpsPerMessage, " per message"));
    }
    if (request.credits() < 0 || request.credits() > kMaxJobs) {
      return absl::InvalidArgumentError(absl::StrCat("credits: 0..", kMaxJobs));
    }
    if (request.has_subscribe()) {
      if (absl::Status s = Subscribe(*request.mutable_subscribe()); !s.ok()) return s;
    }
    for (v1::WorkComplete& complete : *request.mutable_complete()) StartComplete(complete);
    for (v1::WorkFail& fail : *request.mutable_fail()) StartFail(fail);
    for (const std::string& job_id : request.heartbeat()) StartHeartbeat(job_id);
    for (v1::WorkCheckpoint& checkpoint : *request.mutable_checkpoint()) {
      StartCheckpoint(checkpoint);
    }
    if (request.credits() > 0) {
      {
        std::lock_guard lock(mu_);
        if (static_cast<int64_t>(held_.size()) + credits_ + request.credits() > kMaxJobs) {
          return absl::InvalidArgumentError(
              absl::StrCat("credits: the stream would hold more than ", kMaxJobs,
                           " jobs and credit (", held_.size(), " held, ", credits_, " credit)"));
        }
        credits_ += request.credits();
      }
      dispatcher_.Wake();
    }
    return absl::OkStatus();
  }

  absl::Status Subscribe(v1::WorkSubscribe& subscribe) {
    if (absl::Status s = ValidateId(subscribe.runner_id(), "subscribe.runner_id"); !s.ok()) {
      return s;
    }
    if (subscribe.handlers_size() > kMaxHandlers) {
      return absl::InvalidArgumentError(absl::StrCat("subscribe.handlers: at most ", kMaxHandlers));
    }
    for (const std::string& handler : subscribe.handlers()) {
      if (absl::Status s = ValidateId(handler, "subscribe.handlers"); !s.ok()) return s;
    }
    if (subscribe.credits() < 0 || subscribe.credits() > kMaxJobs) {
      return absl::InvalidArgumentError(absl::StrCat("subscribe.credits: 0..", kMaxJobs));
    }
    if (subscribe.has_tenant_id()) {
      if (absl::Status s = ValidateId(subscribe.tenant_id(), "subscribe.tenant_id"); !s.ok()) {
        return s;
      }
    }
    if (CallGuard* guard = executor_.guard(); guard != nullptr) {
      absl::StatusOr<CallScope> scope = guard->ScopeOf(*context_);
      if (!scope.ok()) return scope.status();
      if (scope->restricted()) {
        if (subscribe.has_tenant_id() && subscribe.tenant_id() != *scope->tenant) {
          return absl::PermissionDeniedError(
              "subscribe.tenant_id: another tenant's jobs (the API key is bound to a tenant)");
        }
        subscribe.set_tenant_id(*scope->tenant);
      }
    }
    std::sort(subscribe.mutable_handlers()->begin(), subscribe.mutable_handlers()->end());
    subscribe.mutable_handlers()->erase(
        std::unique(subscribe.mutable_handlers()->begin(), subscribe.mutable_handlers()->end()),
        subscribe.mutable_handlers()->end());
    // The tenant (or none), then the handlers: streams of one group share their claims.
    group_ = absl::StrCat(subscribe.has_tenant_id() ? "t:" + subscribe.tenant_id() : "*", "\n",
                          absl::StrJoin(subscribe.handlers(), "\n"));
    {
      std::lock_guard lock(mu_);
      credits_ = subscribe.credits();
    }
    subscription_ = subscribe;
    if (!dispatcher_.Add(shared_from_this())) {
      return absl::UnavailableError("the server is shutting down; reconnect");
    }
    if (subscribe.credits() > 0) dispatcher_.Wake();
    return absl::OkStatus();
  }

  // The instance the stream holds `job_id` as, or an ack saying it does not.
  bool Held(const std::string& job_id, v1::WorkAck::Op op, std::string* instance) {
    std::unique_lock lock(mu_);
    auto it = held_.find(job_id);
    if (it != held_.end()) {
      *instance = it->second;
      ++ops_;
      return true;
    }
    AckLocked(lock, AckOf(job_id, op,
                          absl::FailedPreconditionError(
                              absl::StrCat("job ", job_id,
                                           " is not held by this stream (never pushed to it, "
                                           "already completed or failed, or released)"))));
    return false;
  }

  void StartComplete(v1::WorkComplete& complete) {
    auto request = std::make_shared<v1::CompleteJobRequest>();
    if (!Held(complete.job_id(), v1::WorkAck::OP_COMPLETE, request->mutable_instance_id())) {
      return;
    }
    request->set_job_id(complete.job_id());
    request->set_runner_id(subscription_.runner_id());
    request->mutable_result_json()->swap(*complete.mutable_result_json());
    auto done = [self = shared_from_this(), request](absl::StatusOr<v1::CompleteJobResponse> r) {
      self->Finished(request->job_id(), request->instance_id(),
                     AckOf(request->job_id(), v1::WorkAck::OP_COMPLETE, r.status()),
                     /*leaves=*/r.ok() || Lost(r.status()));
    };
    using Async = AsyncCall<v1::CompleteJobRequest, v1::CompleteJobResponse>;
    if (auto* async = dynamic_cast<Async*>(&jobs_);
        async != nullptr && async->Start(*request, done)) {
      return;
    }
    executor_.Submit([this, request, done = std::move(done)] { done(jobs_.Complete(*request)); });
  }

  void StartFail(v1::WorkFail& fail) {
    auto request = std::make_shared<v1::FailJobRequest>();
    if (!Held(fail.job_id(), v1::WorkAck::OP_FAIL, request->mutable_instance_id())) return;
    request->set_job_id(fail.job_id());
    request->set_runner_id(subscription_.runner_id());
    request->mutable_error()->Swap(fail.mutable_error());
    request->set_permanent(fail.permanent());
    executor_.Submit([self = shared_from_this(), request] {
      absl::StatusOr<v1::FailJobResponse> r = self->jobs_.Fail(*request);
      v1::WorkAck ack = AckOf(request->job_id(), v1::WorkAck::OP_FAIL, r.status());
      if (r.ok()) {
        ack.set_will_retry(r->will_retry());
        ack.set_next_run_at(r->next_run_at());
      }
      self->Finished(request->job_id(), request->instance_id(), std::move(ack),
                     /*leaves=*/r.ok() || Lost(r.status()));
    });
  }

  void StartHeartbeat(const std::string& job_id) {
    auto request = std::make_shared<v1::HeartbeatJobRequest>();
    if (!Held(job_id, v1::WorkAck::OP_HEARTBEAT, request->mutable_instance_id())) return;
    request->set_job_id(job_id);
    request->set_runner_id(subscription_.runner_id());
    executor_.Submit([self = shared_from_this(), request] {
      absl::StatusOr<v1::HeartbeatJobResponse> r = self->jobs_.Heartbeat(*request);
      self->Finished(request->job_id(), request->instance_id(),
                     AckOf(request->job_id(), v1::WorkAck::OP_HEARTBEAT, r.status()),
                     /*leaves=*/Lost(r.status()));
    });
  }

  void StartCheckpoint(v1::WorkCheckpoint& checkpoint) {
    auto request = std::make_shared<v1::SaveJobCheckpointRequest>();
    if (!Held(checkpoint.job_id(), v1::WorkAck::OP_CHECKPOINT, request->mutable_instance_id())) {
      return;
    }
    request->set_job_id(checkpoint.job_id());
    request->set_runner_id(subscription_.runner_id());
    request->mutable_checkpoint_json()->swap(*checkpoint.mutable_checkpoint_json());
    executor_.Submit([self = shared_from_this(), request] {
      absl::StatusOr<v1::SaveJobCheckpointResponse> r = self->jobs_.SaveCheckpoint(*request);
      self->Finished(request->job_id(), request->instance_id(),
                     AckOf(request->job_id(), v1::WorkAck::OP_CHECKPOINT, r.status()),
                     /*leaves=*/Lost(r.status()));
    });
  }

  // A write on a held job is over: ack it, and drop the job when it is no longer this
  // worker's (completed, failed, or lost to a reset).
  void Finished(const std::string& job_id, const std::string& instance, v1::WorkAck ack,
                bool leaves) {
    if (ack.code() == static_cast<int32_t>(absl::StatusCode::kInternal)) {
      spdlog::error("JobStore.Work {}: {}", job_id, ack.message());
    }
    std::unique_lock lock(mu_);
    --ops_;
    if (leaves) {
      auto it = held_.find(job_id);
      if (it != held_.end() && it->second == instance) {
        held_.erase(it);
        dispatcher_.Held(-1);
      }
    }
    AckLocked(lock, std::move(ack));
    if (draining_ && held_.empty() && !ending_) {
      EndLocked(lock, Draining(), /*release_sent=*/false);
      return;
    }
    if (!reading_) ReadLocked(lock);
    if (ending_) MaybeFinishLocked(lock);
  }

  static absl::Status Draining() {
    return absl::UnavailableError("the server is shutting down; reconnect");
  }

  // --- writing, reading and ending (all with mu_ held) --------------------------------------

  // The message new items join: the last queued one not yet sent, while it has room.
  Outgoing& QueueLocked() {
    if (out_.empty() || out_.back().sent ||
        out_.back().response.jobs_size() + out_.back().response.acks_size() >=
            kMaxItemsPerMessage ||
        out_.back().bytes >= kMaxBytesPerMessage) {
      out_.emplace_back();
    }
    return out_.back();
  }

  void AckLocked(std::unique_lock<std::mutex>& lock, v1::WorkAck ack) {
    if (finished_) return;
    Outgoing& message = QueueLocked();
    message.bytes += ack.ByteSizeLong();
    *message.response.add_acks() = std::move(ack);
    WriteLocked(lock);
  }

  // Starts writing the oldest queued message unless a write is in flight.
  void WriteLocked(std::unique_lock<std::mutex>& lock) {
    while (!out_.empty() && (out_.front().sent || (out_.front().response.jobs_size() == 0 &&
                                                   out_.front().response.acks_size() == 0))) {
      out_.pop_front();
    }
    if (writing_ || out_.empty() || finished_ || cancelled_) return;
    Outgoing& next = out_.front();
    next.sent = true;
    bool own = false;
    write_buffer_.Clear();
    if (!grpc::SerializationTraits<v1::WorkResponse>::Serialize(next.response, &write_buffer_, &own)
             .ok()) {
      EndLocked(lock, absl::InternalError("cannot serialize a WorkResponse"), true);
      return;
    }
    writing_ = true;
    // gRPC's calls are made without mu_ (as in server_stream.h); writing_ keeps
    // write_buffer_ ours until OnWriteDone.
    lock.unlock();
    StartWrite(&write_buffer_);
    lock.lock();
  }

  void ReadLocked(std::unique_lock<std::mutex>& lock) {
    if (reading_ || read_over_ || ending_ || ops_ >= kMaxOps || out_.size() >= kMaxQueuedMessages) {
      return;
    }
    reading_ = true;
    lock.unlock();
    StartRead(&in_);
    lock.lock();
  }

  // Ends the call with `status` once its writes are in: stops claiming for it, and
  // releases the jobs it holds: all of them, or (a broken call) those not yet sent.
  void EndLocked(std::unique_lock<std::mutex>& lock, absl::Status status, bool release_sent) {
    read_over_ = true;
    reading_ = false;
    if (status.code() == absl::StatusCode::kCancelled) cancelled_ = true;
    if (!ending_) {
      ending_ = true;
      status_ = std::move(status);
      release_sent_ = release_sent;
      lock.unlock();
      dispatcher_.Remove(this);
      lock.lock();
    } else if (!release_sent) {
      release_sent_ = false;
    }
    MaybeFinishLocked(lock);
  }

  // Once no write to the store is in flight: releases what the stream still holds, then
  // finishes the call once nothing is being written.
  void MaybeFinishLocked(std::unique_lock<std::mutex>& lock) {
    if (!ending_ || finished_ || ops_ > 0 || releasing_) return;
    if (!released_) {
      auto request = std::make_shared<v1::ReleaseJobsRequest>();
      // Jobs not yet handed to gRPC are released in every case, and never sent.
      absl::flat_hash_map<std::string, bool> unsent;
      for (Outgoing& message : out_) {
        if (message.sent) continue;
        for (const v1::Job& job : message.response.jobs()) unsent[job.id()] = true;
        message.response.clear_jobs();
      }
      for (const auto& [job_id, instance] : held_) {
        if (!release_sent_ && !unsent.contains(job_id)) continue;
        request->add_job_ids(job_id);
        request->add_instance_ids(instance);
      }
      dispatcher_.Held(-static_cast<int>(held_.size()));
      held_.clear();
      released_ = true;
      if (request->job_ids_size() > 0) {
        releasing_ = true;
        lock.unlock();
        executor_.Submit([self = shared_from_this(), request] {
          absl::StatusOr<v1::ReleaseJobsResponse> r = self->jobs_.Release(*request);
          if (!r.ok()) {
            spdlog::warn(
                "JobStore.Work: releasing {} jobs of a closed stream: {} (the "
                "heartbeat reaper will reset them)",
                request->job_ids_size(), r.status().ToString());
          }
          self->dispatcher_.Wake();
          std::unique_lock relock(self->mu_);
          self->releasing_ = false;
          self->MaybeFinishLocked(relock);
        });
        return;
      }
    }
    if (!cancelled_ && status_.ok() && (writing_ || !out_.empty())) {
      // Acks of the last writes go out before OK.
      WriteLocked(lock);
      return;
    }
    if (writing_) return;
    finished_ = true;
    out_.clear();
    const grpc::Status status = ToGrpcStatus(status_);
    lock.unlock();
    Finish(status);
  }

  grpc::CallbackServerContext* const context_;
  JobStore& jobs_;
  Executor& executor_;
  WorkDispatcher& dispatcher_;
  Bytes in_;
  int messages_ = 0;
  // Set by the first message, before the dispatcher knows the stream; read-only after.
  v1::WorkSubscribe subscription_;
  std::string group_;

  std::mutex mu_;
  std::shared_ptr<WorkStream> self_;  // gRPC's reference, until OnDone
  int credits_ = 0;                   // jobs the worker can still take, reserved ones included
  int reserved_ = 0;                  // of credits_, taken by a claim in flight
  absl::flat_hash_map<std::string, std::string> held_;  // job id → instance id
  std::deque<Outgoing> out_;
  Bytes write_buffer_;
  int ops_ = 0;
  bool reading_ = true;
  bool read_over_ = false;
  bool writing_ = false;
  bool ending_ = false;
  bool draining_ = false;
  bool cancelled_ = false;
  bool release_sent_ = true;
  bool releasing_ = false;
  bool released_ = false;
  bool finished_ = false;
  absl::Status status_;
};

WorkDispatcher::WorkDispatcher(JobStore& jobs, Executor& executor, WorkOptions options)
    : jobs_(jobs),
      executor_(executor),
      options_(std::move(options)),
      instance_prefix_([] {
        absl::BitGen bits;
        return absl::StrCat("w", absl::Hex(absl::Uniform<uint64_t>(bits), absl::kZeroPad16), "-");
      }()),
      thread_([this] { Loop(); }) {}

WorkDispatcher::~WorkDispatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  thread_.join();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WorkDispatcher::Open(
    grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<WorkStream>(context, jobs_, executor_, *this);
  WorkStream* reactor = stream.get();
  reactor->Begin(std::move(stream));
  return reactor;
}

void WorkDispatcher::Shutdown() {
  std::vector<std::shared_ptr<WorkStream>> open;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    for (const auto& [group, streams] : groups_)
      open.insert(open.end(), streams.begin(), streams.end());
  }
  for (const auto& stream : open) stream->Drain();
}

void WorkDispatcher::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

int WorkDispatcher::streams() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [group, streams] : groups_) n += streams.size();
  return static_cast<int>(n);
}

bool WorkDispatcher::Add(const std::shared_ptr<WorkStream>& stream) {
  std::lock_guard lock(mu_);
  if (shut_down_) return false;
  groups_[stream->group()].push_back(stream);
  return true;
}

void WorkDispatcher::Remove(const WorkStream* stream) {
  std::shared_ptr<WorkStream> removed;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  for (auto it = groups_.begin(); it != groups_.end(); ++it) {
    auto& streams = it->second;
    auto found = std::find_if(streams.begin(), streams.end(),
                              [stream](const auto& s) { return s.get() == stream; });
    if (found == streams.end()) continue;
    removed = std::move(*found);
    streams.erase(found);
    if (streams.empty()) groups_.erase(it);
    return;
  }
}

std::string WorkDispatcher::NewInstanceId() {
  return absl::StrCat(instance_prefix_, next_instance_.fetch_add(1, std::memory_order_relaxed));
}

void WorkDispatcher::Loop() {
  pthread_setname_np(pthread_self(), "fm-work");
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll),
                      [this] { return stop_ || wake_; });
    if (stop_) break;
    wake_ = false;
    std::vector<std::vector<std::shared_ptr<WorkStream>>> groups;
    groups.reserve(groups_.size());
    for (const auto& [key, streams] : groups_) groups.push_back(streams);
    lock.unlock();
    bool again = false;
    for (const auto& group : groups) again |= Claim(group);
    groups.clear();  // references dropped outside the lock
    lock.lock();
    if (again) wake_ = true;
  }
}

bool WorkDispatcher::Claim(const std::vector<std::shared_ptr<WorkStream>>& group) {
  int budget = std::min(options_.max_claim, options_.max_held - held());
  if (budget <= 0) return false;
  // Credits taken from each stream in turn, a few at a time, so that a short supply of
  // jobs is spread over the streams; slot i of the claim goes to taken[i]'s stream.
  std::vector<int> taken(group.size(), 0);
  std::vector<int> order;  // stream index of each slot
  for (bool more = true; more && budget > 0;) {
    more = false;
    for (size_t i = 0; i < group.size() && budget > 0; ++i) {
      const int n = group[i]->TakeCredits(std::min(budget, 8));
      if (n == 0) continue;
      more = true;
      taken[i] += n;
      budget -= n;
      order.insert(order.end(), n, static_cast<int>(i));
    }
  }
  if (order.empty()) return false;
  const v1::WorkSubscribe& subscription = group.front()->subscription();
  v1::ClaimNextJobsRequest request;
  *request.mutable_handlers() = subscription.handlers();
  if (subscription.has_tenant_id()) request.set_tenant_id(subscription.tenant_id());
  absl::flat_hash_map<std::string, int> slot_of;  // instance id → stream index
  for (int index : order) {
    v1::ClaimSlot* slot = request.add_slots();
    slot->set_runner_id(group[index]->subscription().runner_id());
    slot->set_instance_id(NewInstanceId());
    slot_of[slot->instance_id()] = index;
  }
  absl::StatusOr<v1::ClaimNextJobsResponse> claimed = jobs_.ClaimNext(request);
  std::vector<std::vector<v1::Job>> jobs(group.size());
  if (!claimed.ok()) {
    spdlog::warn("JobStore.Work: claim for {} slots failed: {}", order.size(),
                 claimed.status().ToString());
  } else {
    for (v1::Job& job : *claimed->mutable_jobs()) {
      auto it = slot_of.find(job.instance_id());
      if (it == slot_of.end()) continue;  // cannot happen: every job takes a slot
      jobs[it->second].push_back(std::move(job));
    }
  }
  size_t pushed = 0;
  v1::ReleaseJobsRequest release;
  for (size_t i = 0; i < group.size(); ++i) {
    if (taken[i] == 0) continue;
    pushed += jobs[i].size();
    for (const v1::Job& job : group[i]->Deliver(std::move(jobs[i]), taken[i])) {
      release.add_job_ids(job.id());
      release.add_instance_ids(job.instance_id());
    }
  }
  if (release.job_ids_size() > 0) {
    pushed -= release.job_ids_size();
    if (absl::StatusOr<v1::ReleaseJobsResponse> r = jobs_.Release(release); !r.ok()) {
      spdlog::warn("JobStore.Work: releasing {} jobs of closed streams: {}", release.job_ids_size(),
                   r.status().ToString());
    }
  }
  if (pushed > 0 && options_.on_push) options_.on_push(pushed);
  return claimed.ok() && claimed->jobs_size() == static_cast<int>(order.size());
}

}  // namespace flowmonkey::rpc
