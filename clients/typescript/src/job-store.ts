// FlowMonkey's JobStore over flowmonkey.v1.JobStore. Fenced operations (heartbeat,
// complete, fail, checkpoint, progress) answer false when the caller is not the job's
// current runner (or instance) of a running job, or the job does not exist; claim and
// claimWithInstance answer whether they claimed (claimJob/claimJobWithInstance answer the job).
import { compact, fromEnum, fromJson, opt, toEnum, toJson } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import type {
  FailJobResult, Job, JobError, JobProgress, JobStatus, JobStore, ScheduledJob, ScheduleJobParams,
} from './types';

const kJobStatus = 'JOB_STATUS';

/** Who is calling a fenced operation: the runner, and with ClaimWithInstance its instance. */
export interface Runner {
  runnerId: string;
  instanceId?: string;
}

export function runner(r: string | Runner): Runner {
  return typeof r === 'string' ? { runnerId: r } : r;
}

// FlowMonkey fences checkpoint and progress writes by instance id alone.
function instance(r: string | Runner): Runner {
  return typeof r === 'string' ? { runnerId: '', instanceId: r } : r;
}

// FlowMonkey's stall rule looks at each job's own heartbeat interval; the server filters by
// one cutoff, so findStalled() reads up to this many running jobs and applies the rule.
const kStalledScan = 1000;

/** The wire's CreateJobRequest fields of params (FlowMonkey's, plus scheduling). */
export function createJobToProto(params: ScheduleJobParams): object {
  return {
    execution_id: params.executionId, step_id: params.stepId, handler: params.handler,
    input_json: toJson(params.input ?? {}), max_attempts: params.maxAttempts, heartbeat_ms: params.heartbeatMs,
    run_at: params.runAt, priority: params.priority,
    retry: params.retry && { initial_backoff_ms: params.retry.initialBackoffMs, max_backoff_ms: params.retry.maxBackoffMs },
  };
}

export function failJobResultFromProto(p: any): FailJobResult {
  return { updatedAt: p.updated_at, willRetry: !!p.will_retry, nextRunAt: p.next_run_at ?? 0 };
}

export function jobFromProto(p: any): ScheduledJob {
  return compact<ScheduledJob>({
    id: p.id,
    executionId: p.execution_id,
    stepId: p.step_id,
    handler: p.handler,
    status: fromEnum<JobStatus>(kJobStatus, p.status) ?? 'pending',
    input: fromJson(p.input_json),
    result: fromJson(p.result_json),
    error: p.error ? compact({ code: p.error.code, message: p.error.message, details: fromJson(p.error.details_json) }) : undefined,
    runnerId: opt(p.runner_id),
    heartbeatAt: opt(p.heartbeat_at),
    heartbeatMs: p.heartbeat_ms,
    attempts: p.attempts,
    maxAttempts: p.max_attempts,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
    instanceId: opt(p.instance_id),
    checkpoint: fromJson(p.checkpoint_json),
    progress: p.progress && (p.progress.percent || p.progress.message)
      ? compact({ percent: p.progress.percent, message: p.progress.message || undefined }) : undefined,
    runAt: p.run_at,
    priority: p.priority,
    retry: p.retry ? { initialBackoffMs: p.retry.initial_backoff_ms, maxBackoffMs: p.retry.max_backoff_ms } : undefined,
  } as ScheduledJob);
}

export class RemoteJobStore implements JobStore {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.JobStore');
  }

  /** Creates the job once: the same (execution, step, handler, input) returns the same job. */
  async getOrCreate(params: ScheduleJobParams): Promise<Job> {
    return (await this.create(params)).job;
  }

  /**
   * getOrCreate() that also tells whether this call made the job. runAt (not claimable
   * before), priority (higher first) and retry (backoff between attempts on fail) are this
   * store's scheduling options.
   */
  async create(params: ScheduleJobParams): Promise<{ job: ScheduledJob; created: boolean }> {
    const r = await this.rpc.call('Create', createJobToProto(params));
    return { job: jobFromProto(r.job), created: r.created };
  }

  get(jobId: string): Promise<Job | null> {
    return this.orNull(this.rpc.call('Get', { job_id: jobId }));
  }

  getForStep(executionId: string, stepId: string): Promise<Job | null> {
    return this.orNull(this.rpc.call('GetForStep', { execution_id: executionId, step_id: stepId }));
  }

  /** True when the job was claimed (pending, attempts left); false otherwise. */
  async claim(jobId: string, runnerId: string): Promise<boolean> {
    return (await this.claimJob(jobId, runnerId)) !== null;
  }

  /** The claimed job, or null when it is not claimable (not pending, attempts used up) or absent. */
  claimJob(jobId: string, runnerId: string): Promise<Job | null> {
    return this.orNull(this.rpc.call('Claim', { job_id: jobId, runner_id: runnerId }), true);
  }

  async claimWithInstance(jobId: string, runnerId: string, instanceId: string): Promise<boolean> {
    return (await this.claimJobWithInstance(jobId, runnerId, instanceId)) !== null;
  }

  claimJobWithInstance(jobId: string, runnerId: string, instanceId: string): Promise<Job | null> {
    return this.orNull(this.rpc.call('ClaimWithInstance', {
      job_id: jobId, runner_id: runnerId, instance_id: instanceId,
    }), true);
  }

  /**
   * Up to maxJobs due pending jobs for these handlers, highest priority first, then earliest
   * runAt; concurrent callers never share one.
   */
  async claimNext(runnerId: string, handlers: string[], maxJobs = 1): Promise<ScheduledJob[]> {
    const r = await this.rpc.call('ClaimNext', { runner_id: runnerId, handlers, max_jobs: maxJobs });
    return r.jobs.map(jobFromProto);
  }

  heartbeat(jobId: string, who: string | Runner): Promise<boolean> {
    return this.fenced('Heartbeat', jobId, who, {});
  }

  complete(jobId: string, who: string | Runner, result?: unknown): Promise<boolean> {
    return this.fenced('Complete', jobId, who, { result_json: toJson(result) });
  }

  /** True when recorded: the job failed for good, or is pending again when its retry policy retries it. */
  async fail(jobId: string, who: string | Runner, error: JobError): Promise<boolean> {
    return (await this.failJob(jobId, who, error)) !== null;
  }

  /**
   * fail() that tells whether the job will be retried and when; permanent: fail for good
   * even if the retry policy would retry. Null when not this worker's running job (or absent).
   */
  async failJob(jobId: string, who: string | Runner, error: JobError,
    options: { permanent?: boolean } = {}): Promise<FailJobResult | null> {
    const { runnerId, instanceId } = runner(who);
    try {
      return failJobResultFromProto(await this.rpc.call('Fail', {
        job_id: jobId, runner_id: runnerId, instance_id: instanceId ?? '', permanent: !!options.permanent,
        error: { code: error.code, message: error.message, details_json: toJson(error.details) },
      }));
    } catch (e) {
      if (isCode(e, Code.FAILED_PRECONDITION) || isCode(e, Code.NOT_FOUND)) return null;
      throw e;
    }
  }

  async cancel(jobId: string, reason = ''): Promise<boolean> {
    return (await this.rpc.call('Cancel', { job_id: jobId, reason })).cancelled;
  }

  /**
   * FlowMonkey's rule: running jobs with no heartbeat for three of their own heartbeat
   * intervals (heartbeatAt < now - 3 * heartbeatMs), oldest heartbeat first, at most limit
   * (default 100). Considers the 1000 running jobs with the oldest heartbeats.
   */
  async findStalled(now: number, limit = 100): Promise<Job[]> {
    const jobs = await this.findStalledBefore(now, kStalledScan);
    return jobs.filter((j) => (j.heartbeatAt ?? 0) < now - 3 * j.heartbeatMs).slice(0, limit);
  }

  /** The server's rule: running jobs whose heartbeat is older than stalledBefore. */
  async findStalledBefore(stalledBefore: number, limit?: number): Promise<Job[]> {
    const r = await this.rpc.call('FindStalled', { stalled_before: stalledBefore, limit: limit ?? 0 });
    return r.jobs.map(jobFromProto);
  }

  /**
   * Puts one running job back to pending; true when it did. A job out of attempts becomes
   * failed (error STALLED) and answers false.
   */
  async resetStalled(jobId: string): Promise<boolean> {
    const r = await this.resetStalledJobs([jobId]);
    return r.count > r.failed;
  }

  /** Puts running jobs back to pending (or failed when out of attempts); with stalledBefore only those whose heartbeat is older. */
  async resetStalledJobs(jobIds: string[], stalledBefore?: number): Promise<{ count: number; failed: number }> {
    const r = await this.rpc.call('ResetStalled', { job_ids: jobIds, stalled_before: stalledBefore ?? 0 });
    return { count: r.count, failed: r.failed };
  }

  async listByStatus(status: JobStatus, limit?: number): Promise<Job[]> {
    const r = await this.rpc.call('ListByStatus', { status: toEnum(kJobStatus, status), limit: limit ?? 0 });
    return r.jobs.map(jobFromProto);
  }

  async listForExecution(executionId: string): Promise<Job[]> {
    const out: Job[] = [];
    let pageToken = '';
    do {
      const r = await this.rpc.call('ListByExecution', { execution_id: executionId, limit: 1000, page_token: pageToken });
      out.push(...r.jobs.map(jobFromProto));
      pageToken = r.next_page_token;
    } while (pageToken);
    return out;
  }

  /** Fenced by the instance id (a string), as FlowMonkey does, or by a Runner. */
  saveCheckpoint(jobId: string, instanceId: string | Runner, data: unknown): Promise<boolean> {
    return this.fenced('SaveCheckpoint', jobId, instance(instanceId), { checkpoint_json: toJson(data) });
  }

  /** The checkpoint, or null when the job has none or does not exist. */
  async getCheckpoint(jobId: string): Promise<unknown | null> {
    try {
      return fromJson((await this.rpc.call('GetCheckpoint', { job_id: jobId })).checkpoint_json) ?? null;
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      throw error;
    }
  }

  /** Fenced by the instance id (a string), as FlowMonkey does, or by a Runner. */
  updateProgress(jobId: string, instanceId: string | Runner, progress: JobProgress): Promise<boolean> {
    return this.fenced('UpdateProgress', jobId, instance(instanceId), {
      progress: { percent: progress.percent, message: progress.message ?? '' },
    });
  }

  async isInstanceActive(jobId: string, instanceId: string): Promise<boolean> {
    return (await this.rpc.call('IsInstanceActive', { job_id: jobId, instance_id: instanceId })).active;
  }

  /** The current instance id, or null when there is none (or no such job). */
  async getInstanceId(jobId: string): Promise<string | null> {
    try {
      return opt((await this.rpc.call('GetInstanceId', { job_id: jobId })).instance_id) || null;
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      throw error;
    }
  }

  async deleteOld(before: number): Promise<number> {
    return (await this.rpc.call('DeleteOld', { before })).deleted;
  }

  private async fenced(method: string, jobId: string, who: string | Runner, extra: object): Promise<boolean> {
    const { runnerId, instanceId } = runner(who);
    try {
      await this.rpc.call(method, { job_id: jobId, runner_id: runnerId, instance_id: instanceId ?? '', ...extra });
      return true;
    } catch (error) {
      // Not this worker's running job, or no such job: false, as FlowMonkey's store answers.
      if (isCode(error, Code.FAILED_PRECONDITION) || isCode(error, Code.NOT_FOUND)) return false;
      throw error;
    }
  }

  private async orNull(call: Promise<any>, preconditionIsNull = false): Promise<Job | null> {
    try {
      return jobFromProto((await call).job);
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      if (preconditionIsNull && isCode(error, Code.FAILED_PRECONDITION)) return null;
      throw error;
    }
  }
}
