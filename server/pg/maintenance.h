#pragma once

// Background maintenance, one pass at a time (the server runs a pass every
// --maintenance-interval-ms):
//  * running jobs with no heartbeat for 3 x their heartbeat_ms go back to pending, or, out
//    of attempts, become failed with error code STALLED;
//  * pending resume tokens past expires_at are marked expired;
//  * expired idempotency keys are deleted;
//  * client request ids older than 24 h are forgotten (events, resume tokens, commits);
//  * recurring jobs: the jobs of schedules' occurrences in the next two minutes are created
//    (job_schedules.h);
//  * events partitions (event_partitions.h): the previous period's through `ahead` periods
//    after now exist; with a retention, partitions wholly older than it are dropped.
// Every statement takes its rows with FOR UPDATE SKIP LOCKED and re-checks them, so any
// number of replicas may run passes at once: each row changes once.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/pg/job_store.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

struct MaintenanceCounts {
  int64_t jobs_requeued = 0;  // stalled, back to pending
  int64_t jobs_failed = 0;    // stalled with no attempts left
  int64_t tokens_expired = 0;
  int64_t idempotency_keys_deleted = 0;
  int64_t request_ids_forgotten = 0;
  int64_t jobs_scheduled = 0;  // occurrences of recurring jobs created
  int64_t event_partitions_created = 0;
  int64_t event_partitions_dropped = 0;
  int64_t events_dropped = 0;  // rows of the dropped partitions

  int64_t total() const {
    return jobs_requeued + jobs_failed + tokens_expired + idempotency_keys_deleted +
           request_ids_forgotten + jobs_scheduled + event_partitions_created +
           event_partitions_dropped;
  }
};

struct MaintenanceOptions {
  // Events partitions made ahead of time, in periods after the current one.
  int event_partitions_ahead = 3;
  // Events are kept at least this long (at most one partition period longer), then their
  // partition is dropped; zero keeps them.
  absl::Duration events_retention = absl::ZeroDuration();
};

class PgMaintenance {
 public:
  // Rows changed per statement; a pass repeats a statement until it changes fewer.
  static constexpr int kBatch = 1000;

  explicit PgMaintenance(ConnectionPool& pool, MaintenanceOptions options = {});

  // One pass at time `now_ms` (milliseconds since the epoch).
  absl::StatusOr<MaintenanceCounts> RunOnce(int64_t now_ms);

  // The job queue's depth: how many jobs are pending and running (the metrics' gauge).
  // Read from the status index; completed and failed jobs, which only grow, are not counted.
  struct JobDepth {
    int64_t pending = 0;
    int64_t running = 0;
  };
  absl::StatusOr<JobDepth> CountQueuedJobs();

 private:
  // Everything but the schedules.
  absl::StatusOr<MaintenanceCounts> Sweep(int64_t now_ms);

  ConnectionPool& pool_;
  const MaintenanceOptions options_;
  // Registers the job and schedule statements the schedule step runs.
  PgJobStore jobs_;
};

}  // namespace flowmonkey::pg
