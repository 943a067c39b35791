"""Seeds a throwaway FlowMonkey Store through its gRPC API for the console's browser test.

    seed.py OUT.json [--minimal]

Environment: FM_TARGET (host:port); FM_SEED_CA (PEM of the server's certificate: TLS) and
FM_SEED_KEY (an operator API key, sent as `authorization: Bearer`), both or neither. Run by
tests/console/run.sh with the generated flowmonkey.v1 stubs on PYTHONPATH (Debian's
python3-grpcio, as examples/python/run.sh).

The full seed (keys configured): two flows, order-flow with two versions (the second with a
step unreachable from initialStepId, whose id is markup) and billing-flow; executions of
tenants acme and globex in every status, 26 acme ones running (two pages of 20); one
execution whose id is `<script>alert(1)</script>`; on acme-order-1: events, a context value
kept in ContextStorage, a lease, a resume token and three jobs (pending, failed for good,
and running with a heartbeat older than 3 x heartbeat_ms: stalled); a failed job of globex.
--minimal (no keys): order-flow and a handful of executions, no waiting for a stalled job.

Writes what the test needs to know (ids, expected counts) to OUT.json.
"""

import json
import os
import sys
import time

import grpc

from flowmonkey.v1 import context_pb2, context_pb2_grpc
from flowmonkey.v1 import event_pb2, event_pb2_grpc
from flowmonkey.v1 import execution_pb2, execution_pb2_grpc
from flowmonkey.v1 import flow_pb2, flow_pb2_grpc
from flowmonkey.v1 import job_pb2, job_pb2_grpc
from flowmonkey.v1 import resume_token_pb2, resume_token_pb2_grpc

TIMEOUT_S = 10
SCRIPT_ID = "<script>alert(1)</script>"
MARKUP_STEP = "<img src=x onerror=alert(2)>"
STALL_HEARTBEAT_MS = 1000
ES = execution_pb2


def channel():
    target = os.environ["FM_TARGET"]
    ca, key = os.environ.get("FM_SEED_CA"), os.environ.get("FM_SEED_KEY")
    if not ca:
        return grpc.insecure_channel(target)
    with open(ca, "rb") as f:
        tls = grpc.ssl_channel_credentials(root_certificates=f.read())
    creds = grpc.composite_channel_credentials(tls, grpc.access_token_call_credentials(key))
    return grpc.secure_channel(target, creds)


def step(step_id, kind, **transitions):
    return {"id": step_id, "type": kind, "config": {}, "transitions": transitions}


def flow_definitions():
    v1 = {
        "id": "order-flow", "version": "1.0.0", "name": "Orders", "initialStepId": "validate",
        "steps": {
            "validate": step("validate", "task", onSuccess="charge", onFailure=None),
            "charge": step("charge", "task", onSuccess="ship", onFailure="validate"),
            "ship": step("ship", "task", onSuccess=None),
        },
    }
    v2 = {
        "id": "order-flow", "version": "2.0.0", "name": "Orders", "initialStepId": "validate",
        "steps": {
            "validate": step("validate", "task", onSuccess="charge", onFailure="refund"),
            "charge": step("charge", "task", onSuccess="approve", onFailure="refund"),
            "approve": step("approve", "wait", onSuccess="ship", onFailure="refund",
                            onTimeout="refund"),
            "ship": step("ship", "task", onSuccess=None),
            "refund": step("refund", "task", onSuccess=None),
            MARKUP_STEP: step(MARKUP_STEP, "legacy", onSuccess="ship"),
        },
    }
    billing = {
        "id": "billing-flow", "version": "1.0.0", "name": "Billing", "initialStepId": "invoice",
        "steps": {
            "invoice": step("invoice", "task", onSuccess="collect"),
            "collect": step("collect", "task", onSuccess=None, onFailure="invoice"),
        },
    }
    return [v1, v2, billing]


def save_flows(flows, definitions):
    for d in definitions:
        flows.Save(flow_pb2.SaveFlowRequest(flow=flow_pb2.Flow(
            id=d["id"], version=d["version"], name=d["name"],
            description=f"{d['name']} {d['version']} (seeded by the console test)",
            status=flow_pb2.FLOW_STATUS_PUBLISHED, tags=["console-test"],
            definition_json=json.dumps(d))), timeout=TIMEOUT_S)


class Seeder:
    def __init__(self, ch):
        self.executions = execution_pb2_grpc.ExecutionStoreStub(ch)
        self.events = event_pb2_grpc.EventStoreStub(ch)
        self.jobs = job_pb2_grpc.JobStoreStub(ch)
        self.tokens = resume_token_pb2_grpc.ResumeTokensStub(ch)
        self.contexts = context_pb2_grpc.ContextStorageStub(ch)
        self.flows = flow_pb2_grpc.FlowStoreStub(ch)
        self.created = []  # (id, tenant, status name, flow id)

    def execution(self, execution_id, tenant, status, flow="order-flow", version="2.0.0",
                  current="validate", context=None, **extra):
        e = ES.Execution(id=execution_id, flow_id=flow, flow_version=version,
                         current_step_id=current, status=status,
                         context_json=json.dumps(context or {"seeded": True}), **extra)
        if tenant:
            e.tenant_id = tenant
        if status == ES.EXECUTION_STATUS_FAILED:
            e.error.CopyFrom(ES.ExecutionError(code="STEP_FAILED", message="charge failed",
                                               step_id=current))
        self.executions.Create(ES.CreateExecutionRequest(execution=e), timeout=TIMEOUT_S)
        self.created.append((execution_id, tenant, ES.ExecutionStatus.Name(status)[17:], flow))
        return execution_id

    def job(self, execution_id, step_id, handler, **options):
        return self.jobs.Create(job_pb2.CreateJobRequest(
            execution_id=execution_id, step_id=step_id, handler=handler,
            input_json=json.dumps({"step": step_id}), **options), timeout=TIMEOUT_S).job.id

    def claim(self, job_id, runner):
        self.jobs.Claim(job_pb2.ClaimJobRequest(job_id=job_id, runner_id=runner),
                        timeout=TIMEOUT_S)

    def failed_job(self, execution_id, step_id, handler, message):
        job_id = self.job(execution_id, step_id, handler, max_attempts=1)
        self.claim(job_id, "worker-1")
        self.jobs.Fail(job_pb2.FailJobRequest(
            job_id=job_id, runner_id="worker-1",
            error=job_pb2.JobError(code="CARD_DECLINED", message=message)), timeout=TIMEOUT_S)
        return job_id

    def counts(self, tenant=None):
        out = {}
        for _, t, status, _ in self.created:
            if tenant is None or t == tenant:
                out[status] = out.get(status, 0) + 1
        return out

    def ids(self, status, tenant=None):
        return sorted(i for i, t, s, _ in self.created if s == status and (tenant is None or t == tenant))


def seed_minimal(s):
    save_flows(s.flows, flow_definitions()[:2])
    for i in range(3):
        s.execution(f"open-run-{i}", None, ES.EXECUTION_STATUS_RUNNING)
    s.execution(SCRIPT_ID, None, ES.EXECUTION_STATUS_RUNNING)
    return {"scriptId": SCRIPT_ID, "cancelId": "open-run-1", "flowId": "order-flow",
            "counts": s.counts(), "running": s.ids("RUNNING")}


def seed_full(s):
    save_flows(s.flows, flow_definitions())
    detail = s.execution("acme-order-1", "acme", ES.EXECUTION_STATUS_RUNNING, current="charge",
                         context={"order": {"id": 4711, "total": 129.5, "items": ["book", "lamp"]},
                                  "invoice": "storage://acme-order-1/invoice",
                                  "note": "<img src=x onerror=alert(3)>"})
    # The stalled job first: its heartbeat ages while the rest is seeded.
    stalled = s.job(detail, "validate", "fraud.check", heartbeat_ms=STALL_HEARTBEAT_MS)
    s.claim(stalled, "worker-2")
    stalled_at = time.monotonic()

    for i in range(25):
        s.execution(f"acme-run-{i:02d}", "acme", ES.EXECUTION_STATUS_RUNNING)
    for i in range(3):
        s.execution(f"globex-run-{i}", "globex", ES.EXECUTION_STATUS_RUNNING,
                    flow="billing-flow", version="1.0.0", current="invoice")
    s.execution("globex-secret", "globex", ES.EXECUTION_STATUS_WAITING, flow="billing-flow",
                version="1.0.0", current="collect", wait_reason="payment")
    s.execution(SCRIPT_ID, "acme", ES.EXECUTION_STATUS_WAITING, current="approve",
                wait_reason="approval <b>needed</b>",
                context={"note": "<script>alert(4)</script>"})
    for i in range(2):
        s.execution(f"acme-pending-{i}", "acme", ES.EXECUTION_STATUS_PENDING)
    for i in range(4):
        s.execution(f"acme-done-{i}", "acme", ES.EXECUTION_STATUS_COMPLETED, current="ship")
    for i in range(3):
        s.execution(f"acme-failed-{i}", "acme", ES.EXECUTION_STATUS_FAILED, current="charge")
    s.execution("acme-cancelled-0", "acme", ES.EXECUTION_STATUS_CANCELLED)
    s.execution("globex-done-0", "globex", ES.EXECUTION_STATUS_COMPLETED, flow="billing-flow",
                version="1.0.0", current="collect")
    cancel = s.execution("acme-cancel-me", "acme", ES.EXECUTION_STATUS_RUNNING)

    s.events.RecordBatch(event_pb2.RecordEventBatchRequest(events=[
        event_pb2.Event(execution_id=detail, event_type=t, step_id=st, data_json=json.dumps(d))
        for t, st, d in [
            ("execution.created", "validate", {"flow": "order-flow@2.0.0"}),
            ("step.started", "validate", {"attempt": 1}),
            ("step.completed", "validate", {"score": 12, "comment": "<b>ok</b>"}),
            ("step.started", "charge", {"amount": 129.5}),
        ]]), timeout=TIMEOUT_S)

    invoice = {"lines": [{"sku": f"SKU-{i:04d}", "qty": i % 5 + 1, "text": "x" * 40}
                         for i in range(200)]}
    raw = json.dumps(invoice).encode()
    reference = s.contexts.Set(iter([context_pb2.SetContextRequest(
        execution_id=detail, key="invoice", value_json_chunk=raw, total_size_bytes=len(raw))]),
        timeout=TIMEOUT_S).reference

    s.executions.AcquireLock(ES.AcquireLockRequest(execution_id=detail, owner="engine-7",
                                                   ttl_ms=600000), timeout=TIMEOUT_S)
    token = s.tokens.Generate(resume_token_pb2.GenerateResumeTokenRequest(
        execution_id=detail, step_id="approve", expires_in_ms=86400000),
        timeout=TIMEOUT_S).token

    pending = s.job(detail, "ship", "shipping.label")
    failed = s.failed_job(detail, "charge", "payments.charge", "card declined <b>4242</b>")
    globex_failed = s.failed_job("globex-run-0", "collect", "payments.charge", "globex declined")

    # Stalled = no heartbeat for more than 3 x heartbeat_ms: wait that long, with a margin.
    rest = 3 * STALL_HEARTBEAT_MS / 1000 + 0.8 - (time.monotonic() - stalled_at)
    if rest > 0:
        time.sleep(rest)

    return {
        "scriptId": SCRIPT_ID, "markupStep": MARKUP_STEP, "detailId": detail, "cancelId": cancel,
        "refusedId": "acme-pending-0", "globexId": "globex-secret", "flowId": "order-flow",
        "stalledJobId": stalled, "failedJobId": failed, "pendingJobId": pending,
        "globexFailedJobId": globex_failed, "tokenId": token.id, "tokenValue": token.token,
        "contextKey": "invoice", "contextSize": reference.size_bytes,
        "counts": s.counts(), "acmeCounts": s.counts("acme"),
        "running": s.ids("RUNNING"), "acmeRunning": s.ids("RUNNING", "acme"),
        "failed": s.ids("FAILED"), "globex": [i for i, t, _, _ in s.created if t == "globex"],
        "billingCounts": {st: sum(1 for _, _, x, f in s.created if x == st and f == "billing-flow")
                          for st in ("RUNNING", "WAITING", "COMPLETED")},
    }


def main():
    out, minimal = sys.argv[1], "--minimal" in sys.argv[2:]
    with channel() as ch:
        s = Seeder(ch)
        result = seed_minimal(s) if minimal else seed_full(s)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    print(f"seed: {len(s.created)} executions ({'minimal' if minimal else 'full'})")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        print(f"seed: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
