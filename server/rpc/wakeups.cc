#include "server/rpc/wakeups.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "core/clock.h"
#include "core/validation.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "server/rpc/call_guard.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::rpc {
namespace {

using Bytes = grpc::ByteBuffer;

constexpr int kMaxUnacked = kMaxLimit;
constexpr int kMaxAcksPerMessage = 1'000;
// Of one claim (ClaimWakeupsRequest.limit's bound).
constexpr int kMaxClaim = 1'000;
// Outgoing messages: a new one is started beyond this many wake-ups, or bytes.
constexpr int kMaxWakeupsPerMessage = 256;
constexpr size_t kMaxWakeupBytesPerMessage = 1 << 20;
// AckWakeups calls of one stream in flight; beyond, the stream reads no more until some end.
constexpr int kMaxWakeupOps = 64;

v1::WakeupAck AckOf(const v1::Wakeup& wakeup) {
  v1::WakeupAck ack;
  ack.set_execution_id(wakeup.execution_id());
  if (wakeup.has_wake_at()) ack.set_wake_at(wakeup.wake_at());
  if (wakeup.has_wait_deadline_at()) ack.set_wait_deadline_at(wakeup.wait_deadline_at());
  ack.set_lease_until(wakeup.lease_until());
  return ack;
}

absl::Status Draining() { return absl::UnavailableError("the server is shutting down; reconnect"); }

}  // namespace

// One WatchWakeups call; owned like WorkStream (work.cc): gRPC's reference until OnDone, the
// dispatcher's while subscribed, and one per AckWakeups in flight.
class WakeupStream final : public grpc::ServerBidiReactor<Bytes, Bytes>,
                           public std::enable_shared_from_this<WakeupStream> {
 public:
  WakeupStream(grpc::CallbackServerContext* context, ExecutionStore& executions, Executor& executor,
               WakeupDispatcher& dispatcher)
      : context_(context), executions_(executions), executor_(executor), dispatcher_(dispatcher) {}

  void Begin(std::shared_ptr<WakeupStream> self) {
    self_ = std::move(self);
    StartRead(&in_);
  }

  // --- the dispatcher's side ---------------------------------------------------------------

  const std::string& group() const { return group_; }
  const v1::WakeupSubscribe& subscription() const { return subscription_; }

  // Reserves up to `max` of the stream's room for a claim; Deliver frees what it did not use.
  // Wake-ups whose lease ran out unacknowledged are forgotten first: they are due again,
  // for any stream, and their room comes back (an ack of one now is ignored).
  int TakeRoom(int max) {
    std::unique_lock lock(mu_);
    if (ending_) return 0;
    ExpireLocked(lock);
    if (ending_ || draining_) return 0;
    const int room = subscription_.max_unacked() - static_cast<int>(held_.size()) - reserved_;
    const int n = std::clamp(room, 0, max);
    reserved_ += n;
    return n;
  }

  // The wake-ups of a claim that reserved `taken`; returns those the stream cannot take
  // (it is ending), which the dispatcher releases.
  std::vector<v1::Wakeup> Deliver(std::vector<v1::Wakeup> wakeups, int taken) {
    std::unique_lock lock(mu_);
    reserved_ -= taken;
    if (ending_ || draining_) return wakeups;
    int added = 0;
    for (v1::Wakeup& wakeup : wakeups) {
      // Held already when its lease ran out by the database's clock before ours.
      added += held_.insert_or_assign(wakeup.execution_id(), AckOf(wakeup)).second ? 1 : 0;
      next_expiry_ = std::min(next_expiry_, wakeup.lease_until());
      if (out_.empty() || out_.back().sent ||
          out_.back().response.wakeups_size() >= kMaxWakeupsPerMessage ||
          out_.back().bytes >= kMaxWakeupBytesPerMessage) {
        out_.emplace_back();
      }
      out_.back().bytes += wakeup.ByteSizeLong();
      out_.back().response.add_wakeups()->Swap(&wakeup);
    }
    dispatcher_.Held(added);
    WriteLocked(lock);
    return {};
  }

  void Drain() {
    std::unique_lock lock(mu_);
    if (ending_) return;
    draining_ = true;
    if (held_.empty()) EndLocked(lock, Draining(), /*release_sent=*/false);
  }

  // --- gRPC's side -------------------------------------------------------------------------

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::unique_lock lock(mu_);
      EndLocked(lock, absl::OkStatus(), /*release_sent=*/!context_->IsCancelled());
      return;
    }
    ++messages_;
    v1::WatchWakeupsRequest request;
    absl::Status status;
    if (!grpc::SerializationTraits<v1::WatchWakeupsRequest>::Deserialize(&in_, &request).ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("request: message ", messages_,
                       " of the stream cannot be parsed (malformed, or a string field that is "
                       "not valid UTF-8)"));
    } else {
      status = Take(request);
    }
    std::unique_lock lock(mu_);
    if (!status.ok()) {
      spdlog::debug("ExecutionStore.WatchWakeups {}", status.ToString());
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
    if (ending_) MaybeFinishLocked(lock);
  }

  void OnCancel() override {
    std::unique_lock lock(mu_);
    EndLocked(lock, absl::CancelledError("cancelled"), /*release_sent=*/false);
  }

  void OnDone() override {
    dispatcher_.Remove(this);
    std::shared_ptr<WakeupStream> self;  // the last reference may go here
    {
      std::lock_guard lock(mu_);
      self = std::move(self_);
    }
  }

 private:
  struct Outgoing {
    v1::WatchWakeupsResponse response;
    size_t bytes = 0;
    bool sent = false;  // handed to gRPC
  };

  absl::Status Take(v1::WatchWakeupsRequest& request) {
    if (messages_ == 1 && !request.has_subscribe()) {
      return absl::InvalidArgumentError("subscribe: required in the first message");
    }
    if (messages_ > 1 && request.has_subscribe()) {
      return absl::InvalidArgumentError("subscribe: only in the first message");
    }
    if (request.ack_size() > kMaxAcksPerMessage) {
      return absl::InvalidArgumentError(
          absl::StrCat("ack: at most ", kMaxAcksPerMessage, " per message"));
    }
    if (request.has_subscribe()) return Subscribe(*request.mutable_subscribe());
    if (request.ack_size() == 0) return absl::OkStatus();
    auto acks = std::make_shared<v1::AckWakeupsRequest>();
    {
      std::lock_guard lock(mu_);
      for (const std::string& execution_id : request.ack()) {
        auto it = held_.find(execution_id);
        if (it == held_.end()) continue;  // not held (any more): nothing to do
        *acks->add_wakeups() = std::move(it->second);
        held_.erase(it);
      }
      if (acks->wakeups_size() == 0) return absl::OkStatus();
      dispatcher_.Held(-acks->wakeups_size());
      ++ops_;
    }
    executor_.Submit([self = shared_from_this(), acks] {
      absl::StatusOr<v1::AckWakeupsResponse> r = self->executions_.AckWakeups(*acks);
      if (!r.ok()) {
        spdlog::warn(
            "ExecutionStore.WatchWakeups: acknowledging {} wake-ups: {} (they are delivered "
            "again when their leases end)",
            acks->wakeups_size(), r.status().ToString());
      }
      std::unique_lock lock(self->mu_);
      --self->ops_;
      if (self->draining_ && self->held_.empty() && !self->ending_) {
        self->EndLocked(lock, Draining(), /*release_sent=*/false);
        return;
      }
      if (!self->reading_) self->ReadLocked(lock);
      if (self->ending_) self->MaybeFinishLocked(lock);
    });
    dispatcher_.Wake();  // room for more
    return absl::OkStatus();
  }

  absl::Status Subscribe(v1::WakeupSubscribe& subscribe) {
    if (subscribe.max_unacked() < 1 || subscribe.max_unacked() > kMaxUnacked) {
      return absl::InvalidArgumentError(absl::StrCat("subscribe.max_unacked: 1..", kMaxUnacked));
    }
    // The claim checks its bounds again; failing the stream now says which field.
    const int64_t timeout = subscribe.ack_timeout_ms();
    if (timeout != 0 && (timeout < 1'000 || timeout > 3'600'000)) {
      return absl::InvalidArgumentError("subscribe.ack_timeout_ms: 1000..3600000 (0: 30000)");
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
              "subscribe.tenant_id: another tenant's executions (the API key is bound to a "
              "tenant)");
        }
        subscribe.set_tenant_id(*scope->tenant);
      }
    }
    group_ = absl::StrCat(subscribe.has_tenant_id() ? "t:" + subscribe.tenant_id() : "*", "\n",
                          subscribe.ids_only(), "\n", subscribe.ack_timeout_ms());
    subscription_ = subscribe;
    if (!dispatcher_.Add(shared_from_this())) return Draining();
    dispatcher_.Wake();
    return absl::OkStatus();
  }

  // --- writing, reading and ending (all with mu_ held) --------------------------------------

  void ExpireLocked(std::unique_lock<std::mutex>& lock) {
    const int64_t now = NowMs();
    if (now < next_expiry_) return;
    int expired = 0;
    next_expiry_ = std::numeric_limits<int64_t>::max();
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.lease_until() <= now) {
        held_.erase(it++);
        ++expired;
      } else {
        next_expiry_ = std::min(next_expiry_, it->second.lease_until());
        ++it;
      }
    }
    dispatcher_.Held(-expired);
    if (draining_ && held_.empty() && !ending_) EndLocked(lock, Draining(), false);
  }

  void WriteLocked(std::unique_lock<std::mutex>& lock) {
    while (!out_.empty() && (out_.front().sent || out_.front().response.wakeups_size() == 0)) {
      out_.pop_front();
    }
    if (writing_ || out_.empty() || finished_ || cancelled_) return;
    Outgoing& next = out_.front();
    next.sent = true;
    bool own = false;
    write_buffer_.Clear();
    if (!grpc::SerializationTraits<v1::WatchWakeupsResponse>::Serialize(next.response,
                                                                        &write_buffer_, &own)
             .ok()) {
      EndLocked(lock, absl::InternalError("cannot serialize a WatchWakeupsResponse"), true);
      return;
    }
    writing_ = true;
    lock.unlock();
    StartWrite(&write_buffer_);
    lock.lock();
  }

  void ReadLocked(std::unique_lock<std::mutex>& lock) {
    if (reading_ || read_over_ || ending_ || ops_ >= kMaxWakeupOps) return;
    reading_ = true;
    lock.unlock();
    StartRead(&in_);
    lock.lock();
  }

  // Ends the call with `status`: no more claims for it; what it holds is released (all of
  // it, or on a broken call only what was never handed to gRPC), then Finish.
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

  void MaybeFinishLocked(std::unique_lock<std::mutex>& lock) {
    if (!ending_ || finished_ || ops_ > 0 || releasing_) return;
    if (!released_) {
      released_ = true;
      auto release = std::make_shared<v1::AckWakeupsRequest>();
      release->set_release(true);
      absl::flat_hash_map<std::string, bool> unsent;
      for (Outgoing& message : out_) {
        if (message.sent) continue;
        for (const v1::Wakeup& wakeup : message.response.wakeups()) {
          unsent[wakeup.execution_id()] = true;
        }
        message.response.clear_wakeups();
      }
      for (auto& [execution_id, ack] : held_) {
        if (release_sent_ || unsent.contains(execution_id)) {
          *release->add_wakeups() = std::move(ack);
        }
      }
      dispatcher_.Held(-static_cast<int>(held_.size()));
      held_.clear();
      if (release->wakeups_size() > 0) {
        releasing_ = true;
        lock.unlock();
        executor_.Submit([self = shared_from_this(), release] {
          absl::StatusOr<v1::AckWakeupsResponse> r = self->executions_.AckWakeups(*release);
          if (!r.ok()) {
            spdlog::warn(
                "ExecutionStore.WatchWakeups: releasing {} wake-ups of a closed stream: {} "
                "(delivered again when their leases end)",
                release->wakeups_size(), r.status().ToString());
          }
          self->dispatcher_.Wake();
          std::unique_lock relock(self->mu_);
          self->releasing_ = false;
          self->MaybeFinishLocked(relock);
        });
        return;
      }
    }
    if (writing_) return;
    finished_ = true;
    out_.clear();
    const grpc::Status status = ToGrpcStatus(status_);
    lock.unlock();
    Finish(status);
  }

  grpc::CallbackServerContext* const context_;
  ExecutionStore& executions_;
  Executor& executor_;
  WakeupDispatcher& dispatcher_;
  Bytes in_;
  int messages_ = 0;
  // Set by the first message, before the dispatcher knows the stream; read-only after.
  v1::WakeupSubscribe subscription_;
  std::string group_;

  std::mutex mu_;
  std::shared_ptr<WakeupStream> self_;                    // gRPC's reference, until OnDone
  int reserved_ = 0;                                      // room taken by a claim in flight
  absl::flat_hash_map<std::string, v1::WakeupAck> held_;  // by execution id
  // No lease of held_ ends before (ms, NowMs).
  int64_t next_expiry_ = std::numeric_limits<int64_t>::max();
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

WakeupDispatcher::WakeupDispatcher(ExecutionStore& executions, Executor& executor,
                                   WakeupOptions options)
    : executions_(executions),
      executor_(executor),
      options_(std::move(options)),
      thread_([this] { Loop(); }) {}

WakeupDispatcher::~WakeupDispatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  thread_.join();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WakeupDispatcher::Open(
    grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<WakeupStream>(context, executions_, executor_, *this);
  WakeupStream* reactor = stream.get();
  reactor->Begin(std::move(stream));
  return reactor;
}

void WakeupDispatcher::Shutdown() {
  std::vector<std::shared_ptr<WakeupStream>> open;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    for (const auto& [group, streams] : groups_) {
      open.insert(open.end(), streams.begin(), streams.end());
    }
  }
  for (const auto& stream : open) stream->Drain();
}

void WakeupDispatcher::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

bool WakeupDispatcher::Add(const std::shared_ptr<WakeupStream>& stream) {
  std::lock_guard lock(mu_);
  if (shut_down_) return false;
  groups_[stream->group()].push_back(stream);
  return true;
}

void WakeupDispatcher::Remove(const WakeupStream* stream) {
  std::shared_ptr<WakeupStream> removed;  // destroyed outside the lock
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

void WakeupDispatcher::Loop() {
  pthread_setname_np(pthread_self(), "fm-wakeups");
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll),
                      [this] { return stop_ || wake_; });
    if (stop_) break;
    wake_ = false;
    std::vector<std::vector<std::shared_ptr<WakeupStream>>> groups;
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

bool WakeupDispatcher::Claim(const std::vector<std::shared_ptr<WakeupStream>>& group) {
  int budget = std::min(kMaxClaim, options_.max_held - held());
  if (budget <= 0) return false;
  // Room taken from each stream in turn, a few at a time, so that a few due wake-ups are
  // spread over the streams; wake-up i of the claim goes to stream order[i].
  std::vector<int> taken(group.size(), 0);
  std::vector<int> order;
  for (bool more = true; more && budget > 0;) {
    more = false;
    for (size_t i = 0; i < group.size() && budget > 0; ++i) {
      const int n = group[i]->TakeRoom(std::min(budget, 8));
      if (n == 0) continue;
      more = true;
      taken[i] += n;
      budget -= n;
      order.insert(order.end(), n, static_cast<int>(i));
    }
  }
  if (order.empty()) return false;
  const v1::WakeupSubscribe& subscription = group.front()->subscription();
  v1::ClaimWakeupsRequest request;
  request.set_limit(static_cast<int32_t>(order.size()));
  request.set_ack_timeout_ms(subscription.ack_timeout_ms());
  request.set_ids_only(subscription.ids_only());
  if (subscription.has_tenant_id()) request.set_tenant_id(subscription.tenant_id());
  absl::StatusOr<v1::ClaimWakeupsResponse> claimed = executions_.ClaimWakeups(request);
  std::vector<std::vector<v1::Wakeup>> wakeups(group.size());
  if (!claimed.ok()) {
    spdlog::warn("ExecutionStore.WatchWakeups: claim of {} failed: {}", order.size(),
                 claimed.status().ToString());
  } else {
    for (int i = 0; i < claimed->wakeups_size(); ++i) {
      wakeups[order[i]].push_back(std::move(*claimed->mutable_wakeups(i)));
    }
  }
  size_t pushed = 0;
  std::vector<v1::Wakeup> unwanted;
  for (size_t i = 0; i < group.size(); ++i) {
    if (taken[i] == 0) continue;
    pushed += wakeups[i].size();
    for (v1::Wakeup& wakeup : group[i]->Deliver(std::move(wakeups[i]), taken[i])) {
      unwanted.push_back(std::move(wakeup));
    }
  }
  pushed -= unwanted.size();
  if (!unwanted.empty()) Release(unwanted);
  if (pushed > 0 && options_.on_push) options_.on_push(pushed);
  return claimed.ok() && claimed->wakeups_size() == static_cast<int>(order.size());
}

void WakeupDispatcher::Release(const std::vector<v1::Wakeup>& wakeups) {
  v1::AckWakeupsRequest release;
  release.set_release(true);
  for (const v1::Wakeup& wakeup : wakeups) *release.add_wakeups() = AckOf(wakeup);
  if (absl::StatusOr<v1::AckWakeupsResponse> r = executions_.AckWakeups(release); !r.ok()) {
    spdlog::warn("ExecutionStore.WatchWakeups: releasing {} wake-ups of closed streams: {}",
                 release.wakeups_size(), r.status().ToString());
  }
}

}  // namespace flowmonkey::rpc
