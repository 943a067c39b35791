#pragma once

// SQL shared by the job store (JobStore.ResetStalled) and background maintenance: what
// resetting a stalled job means. $1 is the time of the reset.

// Back to pending while attempts remain, else failed with error code STALLED; the runner's
// claim is dropped either way.
#define FM_JOB_RESET_SET                                                                 \
  "UPDATE {fm_}jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE " \
  "'pending' END, error = CASE WHEN attempts >= max_attempts THEN jsonb_build_object("   \
  "'code', 'STALLED', 'message', 'no heartbeat; out of attempts') ELSE error END, "      \
  "runner_id = NULL, instance_id = NULL, heartbeat_at = NULL, updated_at = $1 "
