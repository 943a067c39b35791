"""A worker's round trip through FlowMonkey Store with Debian's python3-grpcio.

Creates an execution, runs a job for it (create, claim, complete), processes three more
jobs pushed on the JobStore.Work stream (two completed on it, the third released when the
stream closes), parks the execution on a
resume token and resumes it through the token, which then cannot be used again. Then parks it
once more and resumes it atomically with Transactions.Commit (mark the token used, save the
execution as running, record `resumed`: all or nothing); the same commit sent again fails and
writes nothing. Every answer is checked; anything unexpected ends the program with exit
status 1.

Run it with examples/python/run.sh, which generates the flowmonkey.v1 stubs first. The server
is FM_TARGET (host:port), default 127.0.0.1:50051.
"""

import json
import os
import sys
import threading
import time
import uuid

import grpc

from flowmonkey.v1 import event_pb2, event_pb2_grpc
from flowmonkey.v1 import execution_pb2, execution_pb2_grpc
from flowmonkey.v1 import job_pb2, job_pb2_grpc
from flowmonkey.v1 import resume_token_pb2, resume_token_pb2_grpc
from flowmonkey.v1 import transaction_pb2, transaction_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
TIMEOUT_S = 10  # per call
RUNNER_ID = "worker-1"


class Surprise(Exception):
    """The server answered, but not what the contract promises."""


def expect(condition, what):
    if not condition:
        raise Surprise(what)


def create_execution(executions):
    execution = execution_pb2.Execution(
        id=f"py-{uuid.uuid4()}",
        flow_id="order-flow",
        flow_version="1.0.0",
        current_step_id="send-email",
        status=execution_pb2.EXECUTION_STATUS_RUNNING,
        context_json=json.dumps({"order": {"id": 42, "items": ["a", "b"]}}),
    )
    response = executions.Create(
        execution_pb2.CreateExecutionRequest(execution=execution), timeout=TIMEOUT_S)
    expect(response.created, "Create answered created=false for a new id")
    created = response.execution
    expect(created.id == execution.id, f"Create answered execution {created.id!r}")
    expect(created.version == 1, f"a new execution has version {created.version}, not 1")
    expect(json.loads(created.context_json) == json.loads(execution.context_json),
           f"context came back as {created.context_json}")
    print(f"execution {created.id}: created (running, version 1)")
    return created


def run_job(jobs, execution_id):
    """Creates the send-email job, claims it as RUNNER_ID and completes it."""
    response = jobs.Create(job_pb2.CreateJobRequest(
        execution_id=execution_id,
        step_id="send-email",
        handler="email-send",
        input_json=json.dumps({"to": "customer@example.com"}),
    ), timeout=TIMEOUT_S)
    job = response.job
    expect(response.created, "JobStore.Create answered created=false for a new job")
    expect(job.status == job_pb2.JOB_STATUS_PENDING, f"new job is {job_status(job)}")
    print(f"job {job.id[:12]}: created (pending)")

    claimed = jobs.Claim(
        job_pb2.ClaimJobRequest(job_id=job.id, runner_id=RUNNER_ID), timeout=TIMEOUT_S).job
    expect(claimed.status == job_pb2.JOB_STATUS_RUNNING, f"claimed job is {job_status(claimed)}")
    expect(claimed.runner_id == RUNNER_ID, f"claimed by {claimed.runner_id!r}")
    expect(claimed.attempts == 1, f"first claim counts attempt {claimed.attempts}")
    print(f"job {job.id[:12]}: claimed by {RUNNER_ID} (attempt 1)")

    result = {"sent": True}
    jobs.Complete(job_pb2.CompleteJobRequest(
        job_id=job.id, runner_id=RUNNER_ID, result_json=json.dumps(result)), timeout=TIMEOUT_S)
    done = jobs.Get(job_pb2.GetJobRequest(job_id=job.id), timeout=TIMEOUT_S).job
    expect(done.status == job_pb2.JOB_STATUS_COMPLETED, f"completed job is {job_status(done)}")
    expect(json.loads(done.result_json) == result, f"job result is {done.result_json}")
    print(f"job {job.id[:12]}: completed with {done.result_json}")


def work_from_stream(jobs, execution_id):
    """Processes jobs pushed on JobStore.Work: subscribes with 3 credits, completes the first
    two jobs it receives on the stream, then closes the stream, which puts the job it was
    pushed and did not run back to pending."""
    handler = f"py-work-{uuid.uuid4()}"  # only this run's jobs
    ids = []
    for step in ("resize", "notify", "archive"):
        ids.append(jobs.Create(job_pb2.CreateJobRequest(
            execution_id=execution_id, step_id=step, handler=handler,
            input_json=json.dumps({"step": step})), timeout=TIMEOUT_S).job.id)

    outgoing = [job_pb2.WorkRequest(subscribe=job_pb2.WorkSubscribe(
        runner_id=RUNNER_ID, handlers=[handler], credits=3))]
    wake = threading.Condition()
    closed = False

    def requests():
        while True:
            with wake:
                wake.wait_for(lambda: outgoing or closed)
                if outgoing:
                    request = outgoing.pop(0)
                elif closed:
                    return
            yield request

    def send(request=None, close=False):
        nonlocal closed
        with wake:
            if request is not None:
                outgoing.append(request)
            closed = closed or close
            wake.notify()

    completed, acked = [], 0
    for response in jobs.Work(requests(), timeout=TIMEOUT_S):
        for job in response.jobs:
            expect(job.status == job_pb2.JOB_STATUS_RUNNING and job.instance_id,
                   f"pushed job is {job_status(job)} with instance {job.instance_id!r}")
            print(f"job {job.id[:12]}: pushed ({job.step_id}, instance {job.instance_id})")
            if len(completed) < 2:
                completed.append(job.id)
                send(job_pb2.WorkRequest(complete=[
                    job_pb2.WorkComplete(job_id=job.id, result_json='{"done":true}')]))
        for ack in response.acks:
            expect(ack.code == 0, f"completion of {ack.job_id[:12]} acked with {ack.code}")
            acked += 1
            if acked == 2:
                send(close=True)  # the stream ends OK after this
    expect(acked == 2, f"{acked} completions acknowledged, not 2")
    states = {job_id: jobs.Get(job_pb2.GetJobRequest(job_id=job_id), timeout=TIMEOUT_S).job
              for job_id in ids}
    done = [j for j in states.values() if j.status == job_pb2.JOB_STATUS_COMPLETED]
    pending = [j for j in states.values() if j.status == job_pb2.JOB_STATUS_PENDING]
    expect(len(done) == 2 and len(pending) == 1,
           f"after the stream: {[job_status(j) for j in states.values()]}")
    print("work stream: 2 jobs completed, the third back to pending for the next worker")


def update(executions, execution):
    """Writes the execution unless someone else has since it was read; bumps its version."""
    execution.updated_at = 0  # the server's clock
    response = executions.Update(execution_pb2.UpdateExecutionRequest(
        execution=execution, expected_version=execution.version), timeout=TIMEOUT_S)
    expect(response.version == execution.version + 1,
           f"Update from version {execution.version} answered version {response.version}")
    execution.version = response.version
    execution.updated_at = response.updated_at


def wait_for_approval(executions, execution):
    execution.status = execution_pb2.EXECUTION_STATUS_WAITING
    execution.current_step_id = "approval"
    execution.wait_reason = "manager approval"
    execution.wait_started_at = int(time.time() * 1000)
    update(executions, execution)
    print(f"execution {execution.id}: waiting at approval (version {execution.version})")


def resume_through_token(tokens, executions, execution):
    """Generates a token for the approval step, then resumes the execution through it."""
    generated = tokens.Generate(resume_token_pb2.GenerateResumeTokenRequest(
        execution_id=execution.id, step_id="approval", expires_in_ms=60 * 60 * 1000),
        timeout=TIMEOUT_S).token
    token = generated.token
    expect(len(token) == 43, f"token has {len(token)} characters, not 43")
    expect(generated.status == resume_token_pb2.RESUME_TOKEN_STATUS_PENDING,
           f"new token is {token_status(generated)}")
    print("resume token: generated (pending)")

    validated = tokens.Validate(
        resume_token_pb2.ValidateResumeTokenRequest(token=token), timeout=TIMEOUT_S)
    expect(validated.valid, f"fresh token is invalid: {validated.reason!r}")
    print("resume token: valid")

    used = tokens.MarkUsed(
        resume_token_pb2.MarkResumeTokenUsedRequest(token=token), timeout=TIMEOUT_S).token
    expect(used.status == resume_token_pb2.RESUME_TOKEN_STATUS_USED,
           f"token marked used is {token_status(used)}")
    expect(used.execution_id == execution.id and used.step_id == "approval",
           f"token belongs to {used.execution_id}/{used.step_id}")
    print("resume token: marked used")

    execution.status = execution_pb2.EXECUTION_STATUS_RUNNING
    execution.current_step_id = "ship"
    execution.ClearField("wait_reason")
    execution.ClearField("wait_started_at")
    update(executions, execution)
    print(f"execution {execution.id}: resumed at ship (version {execution.version})")

    try:
        tokens.MarkUsed(
            resume_token_pb2.MarkResumeTokenUsedRequest(token=token), timeout=TIMEOUT_S)
    except grpc.RpcError as error:
        expect(error.code() == grpc.StatusCode.FAILED_PRECONDITION,
               f"second MarkUsed failed with {error.code().name}, not FAILED_PRECONDITION")
        print(f"resume token: second mark-used rejected ({error.code().name}: {error.details()})")
    else:
        raise Surprise("second MarkUsed of the same token succeeded")

    validated = tokens.Validate(
        resume_token_pb2.ValidateResumeTokenRequest(token=token), timeout=TIMEOUT_S)
    expect(not validated.valid and validated.reason == "used",
           f"used token validates as valid={validated.valid} reason={validated.reason!r}")
    print("resume token: now invalid (used)")


def resume_atomically(transactions, tokens, executions, events, execution):
    """Parks the execution at delivery, then resumes it in one commit: the token is marked
    used, the execution saved as running (only if nobody wrote it since it was read) and a
    `resumed` event recorded, all or nothing. The same commit again must fail whole."""
    execution.status = execution_pb2.EXECUTION_STATUS_WAITING
    execution.current_step_id = "delivery"
    execution.wait_reason = "delivery confirmation"
    execution.wait_started_at = int(time.time() * 1000)
    update(executions, execution)
    token = tokens.Generate(resume_token_pb2.GenerateResumeTokenRequest(
        execution_id=execution.id, step_id="delivery", expires_in_ms=60 * 60 * 1000),
        timeout=TIMEOUT_S).token.token
    print(f"execution {execution.id}: waiting at delivery (version {execution.version}), "
          "token generated")

    waiting_version = execution.version
    running = execution_pb2.Execution()
    running.CopyFrom(execution)
    running.status = execution_pb2.EXECUTION_STATUS_RUNNING
    running.current_step_id = "done"
    running.ClearField("wait_reason")
    running.ClearField("wait_started_at")
    running.updated_at = 0  # the server's clock
    request = transaction_pb2.CommitRequest(
        conditions=[
            transaction_pb2.Condition(execution_version=transaction_pb2.ExecutionVersionIs(
                execution_id=execution.id, version=waiting_version)),
            transaction_pb2.Condition(
                resume_token_pending=transaction_pb2.ResumeTokenPending(token=token)),
        ],
        operations=[
            transaction_pb2.Operation(
                mark_resume_token_used=resume_token_pb2.MarkResumeTokenUsedRequest(token=token)),
            transaction_pb2.Operation(save_execution=execution_pb2.SaveExecutionRequest(
                execution=running, expected_version=waiting_version)),
            transaction_pb2.Operation(record_events=event_pb2.RecordEventBatchRequest(events=[
                event_pb2.Event(execution_id=execution.id, event_type="resumed",
                                step_id="delivery", data_json=json.dumps({"by": "courier"}))])),
        ])
    response = transactions.Commit(request, timeout=TIMEOUT_S)
    expect(len(response.results) == 3,
           f"Commit answered {len(response.results)} results for 3 operations")
    used = response.results[0].mark_resume_token_used.token
    saved = response.results[1].save_execution
    recorded = response.results[2].record_events.events
    expect(used.status == resume_token_pb2.RESUME_TOKEN_STATUS_USED,
           f"token marked used in the commit is {token_status(used)}")
    expect(saved.version == waiting_version + 1,
           f"commit saved version {saved.version}, not {waiting_version + 1}")
    expect(len(recorded) == 1 and recorded[0].id > 0 and recorded[0].event_type == "resumed",
           f"commit recorded {list(recorded)}")
    print(f"execution {execution.id}: resumed at done in one commit (version {saved.version}, "
          f"event {recorded[0].id}, token used)")

    stored = executions.Get(
        execution_pb2.GetExecutionRequest(execution_id=execution.id), timeout=TIMEOUT_S).execution
    expect(stored.status == execution_pb2.EXECUTION_STATUS_RUNNING
           and stored.current_step_id == "done",
           f"stored execution is {execution_pb2.ExecutionStatus.Name(stored.status)} "
           f"at {stored.current_step_id}")

    # The same commit again (no request_id, so not a retry): the version it expects is gone,
    # so it fails whole; the token, the execution and the events are as the first left them.
    try:
        transactions.Commit(request, timeout=TIMEOUT_S)
    except grpc.RpcError as error:
        expect(error.code() == grpc.StatusCode.ABORTED,
               f"second commit failed with {error.code().name}, not ABORTED")
        expect(error.details().startswith("conditions[0]: "),
               f"second commit's error does not name conditions[0]: {error.details()!r}")
        print(f"second identical commit rejected ({error.code().name}: {error.details()})")
    else:
        raise Surprise("the same commit succeeded twice")
    after = executions.Get(
        execution_pb2.GetExecutionRequest(execution_id=execution.id), timeout=TIMEOUT_S).execution
    expect(after.version == saved.version,
           f"execution version {after.version} after the failed commit, not {saved.version}")
    listed = events.GetByExecution(event_pb2.GetEventsByExecutionRequest(
        execution_id=execution.id), timeout=TIMEOUT_S).events
    expect([e.id for e in listed] == [recorded[0].id],
           f"events after the failed commit: {[(e.id, e.event_type) for e in listed]}")
    print("second commit wrote nothing (same version, one resumed event)")
    execution.CopyFrom(after)


def job_status(job):
    return job_pb2.JobStatus.Name(job.status)


def token_status(token):
    return resume_token_pb2.ResumeTokenStatus.Name(token.status)


def main():
    target = os.environ.get("FM_TARGET", DEFAULT_TARGET)
    with grpc.insecure_channel(target) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
        except grpc.FutureTimeoutError:
            print(f"no FlowMonkey Store at {target} (start one with scripts/run)", file=sys.stderr)
            return 1
        executions = execution_pb2_grpc.ExecutionStoreStub(channel)
        try:
            execution = create_execution(executions)
            run_job(job_pb2_grpc.JobStoreStub(channel), execution.id)
            work_from_stream(job_pb2_grpc.JobStoreStub(channel), execution.id)
            wait_for_approval(executions, execution)
            tokens = resume_token_pb2_grpc.ResumeTokensStub(channel)
            resume_through_token(tokens, executions, execution)
            resume_atomically(transaction_pb2_grpc.TransactionsStub(channel), tokens, executions,
                              event_pb2_grpc.EventStoreStub(channel), execution)
        except grpc.RpcError as error:
            print(f"call failed: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        except Surprise as surprise:
            print(f"unexpected: {surprise}", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
