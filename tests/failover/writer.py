"""Writers, health poller and checks of tests/failover/run.sh (issue 18).

--writers threads (8) write executions through flowmonkey.v1.ExecutionStore at full speed: each
execution is created with an idempotency key (Create, version 1), then saved with
expected_version SAVES_PER_EXECUTION times (versions 2, 3, ...), then the next one. Every
write is retried until it succeeds, as the same write: a Create with the same idempotency key
(and a fresh execution id, so that a second row for the key would show), a Save with the same
expected_version and content. A Save retried after an error that answers ABORTED was
committed by an earlier attempt whose answer was lost; it is read back and counted as
"in doubt, committed" when the stored version and content are exactly that write's.

A health poller calls grpc.health.v1.Health/Check("") every 100 ms.

After --warmup-s seconds the primary is killed (--kill-command, run by this program so that
the kill time is measured here). The writers go on until every writer has had a write
served again and --after-s seconds more, then stop (each finishes the write it is on). Then every execution is read back through the server (which
is connected to the new primary only: target_session_attrs=read-write) and the new primary is
asked, with psql, for idempotency keys with more than one execution.

Results (one line, also the exit status):
  lost        acknowledged writes not found: an execution missing, stored at a lower version
              than acknowledged, with other content, or a Save answered ABORTED without an
              earlier failed attempt (the store went back to an older version)
  duplicated  an idempotency key with more than one execution, a Create answered with another
              execution than the key's (or created=false for a new key), or an execution
              stored at a higher version than its writes (a write applied twice)
  gap         from the kill to the first write acknowledged among the attempts started once
              the kill command had returned (at most --max-gap-s, 10 s)
"""

import argparse
import json
import subprocess
import sys
import threading
import time
import uuid

import grpc

from flowmonkey.v1 import execution_pb2, execution_pb2_grpc

CALL_TIMEOUT_S = 2.0  # per attempt; a write stuck on a node being promoted is retried
RETRY_DELAY_S = 0.05
SAVES_PER_EXECUTION = 4
FLOW_ID = "failover-flow"
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
HEALTH = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.kill_time = None           # time.monotonic() just before the kill
        self.killed_at = None           # ... and once the kill command has returned
        self.first_ok_after_kill = None  # monotonic time of that acknowledgement
        self.acknowledged = 0            # writes answered OK
        self.in_doubt_committed = 0      # Saves: answer lost, found committed by the retry
        self.in_doubt_created = 0        # Creates: answer lost, the retry got created=false
        self.retries = 0
        self.errors = {}                 # status name -> count
        self.lost = []                   # descriptions
        self.duplicated = []
        self.executions = {}             # id -> {"version", "n", "key"}: last committed write
        self.writers_ok_after_kill = set()


def health_poller(channel, state, log):
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda _: b"",  # HealthCheckRequest{service: ""}
        response_deserializer=lambda b: b)
    previous = None
    while not state.stop.is_set():
        started = time.monotonic()
        try:
            raw = check(None, timeout=1.0)
            # HealthCheckResponse{status = 1}: b"\x08" + varint, or empty for UNKNOWN (0).
            status = HEALTH.get(raw[1] if len(raw) >= 2 and raw[0] == 0x08 else 0, "?")
        except grpc.RpcError as error:
            status = f"error {error.code().name}"
        if status != previous:
            log.append((started, status))
            previous = status
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


def execution_message(execution_id, key, writer, n):
    return execution_pb2.Execution(
        id=execution_id,
        flow_id=FLOW_ID,
        flow_version="1",
        current_step_id=f"step-{n}",
        status=execution_pb2.EXECUTION_STATUS_RUNNING,
        context_json=json.dumps({"writer": writer, "n": n}),
        idempotency_key=key,
    )


def note_ok(state, writer, started):
    with state.lock:
        state.acknowledged += 1
        if state.killed_at is not None and started >= state.killed_at:
            state.writers_ok_after_kill.add(writer)
            if state.first_ok_after_kill is None:
                state.first_ok_after_kill = time.monotonic()


def note_error(state, code):
    with state.lock:
        state.retries += 1
        state.errors[code.name] = state.errors.get(code.name, 0) + 1


def create(stub, state, writer, key, deadline):
    """Creates the execution of idempotency key `key`; returns its id (None at the deadline)."""
    failed_before = False
    while time.monotonic() < deadline:
        attempt_id = f"fo-{uuid.uuid4()}"  # a fresh id each attempt: the key alone dedups
        started = time.monotonic()
        try:
            response = stub.Create(execution_pb2.CreateExecutionRequest(
                execution=execution_message(attempt_id, key, writer, 0)), timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE:
                with state.lock:
                    state.lost.append(f"Create {key}: {error.code().name} {error.details()}")
                return None
            failed_before = True
            note_error(state, error.code())
            time.sleep(RETRY_DELAY_S)
            continue
        got = response.execution
        if got.idempotency_key != key or got.flow_id != FLOW_ID:
            with state.lock:
                state.duplicated.append(f"Create {key} answered execution {got.id} "
                                        f"with key {got.idempotency_key!r}")
            return None
        if not response.created and not failed_before:
            with state.lock:
                state.duplicated.append(f"Create {key}: a new key answered created=false")
            return None
        note_ok(state, writer, started)
        with state.lock:
            if got.id in state.executions:
                state.duplicated.append(f"Create {key}: execution {got.id} answered twice")
            state.executions[got.id] = {"version": got.version, "n": 0, "key": key}
            if not response.created:
                state.in_doubt_created += 1
        return got.id
    return None


def save(stub, state, writer, execution_id, key, n, expected_version, deadline):
    """Saves write n (expected_version -> expected_version + 1); False if it cannot."""
    request = execution_pb2.SaveExecutionRequest(
        execution=execution_message(execution_id, key, writer, n),
        expected_version=expected_version)
    failed_before = False
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            response = stub.Save(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.ABORTED and failed_before:
                return read_back_in_doubt(stub, state, execution_id, key, n, expected_version)
            if code not in RETRYABLE:
                with state.lock:
                    state.lost.append(f"Save {execution_id} v{expected_version}->"
                                      f"{expected_version + 1}: {code.name} {error.details()} "
                                      "(no earlier attempt failed: the store lost a version)")
                return False
            failed_before = True
            note_error(state, code)
            time.sleep(RETRY_DELAY_S)
            continue
        if response.version != expected_version + 1:
            with state.lock:
                state.duplicated.append(f"Save {execution_id} v{expected_version} answered "
                                        f"version {response.version}")
            return False
        note_ok(state, writer, started)
        with state.lock:
            state.executions[execution_id] = {"version": response.version, "n": n, "key": key}
        return True
    return False


def read_back_in_doubt(stub, state, execution_id, key, n, expected_version):
    """A retried Save answered ABORTED: an earlier attempt must have committed it."""
    try:
        got = stub.Get(execution_pb2.GetExecutionRequest(execution_id=execution_id),
                       timeout=CALL_TIMEOUT_S * 3).execution
    except grpc.RpcError as error:
        with state.lock:
            state.lost.append(f"read back {execution_id}: {error.code().name}")
        return False
    stored_n = json.loads(got.context_json).get("n")
    if got.version == expected_version + 1 and stored_n == n:
        with state.lock:
            state.in_doubt_committed += 1
            state.executions[execution_id] = {"version": got.version, "n": n, "key": key}
        return True
    with state.lock:
        state.lost.append(f"Save {execution_id} v{expected_version}: ABORTED after a failed "
                          f"attempt, stored version {got.version} n={stored_n}, wrote n={n}")
    return False


def writer_loop(stub, state, writer):
    sequence = 0
    while not state.stop.is_set():
        deadline = time.monotonic() + 30  # a write not through in 30 s fails the test
        key = f"fo-key-{writer}-{sequence}-{uuid.uuid4().hex[:8]}"
        sequence += 1
        execution_id = create(stub, state, writer, key, deadline)
        if execution_id is None:
            return
        for n in range(1, SAVES_PER_EXECUTION + 1):
            if state.stop.is_set():
                return
            if not save(stub, state, writer, execution_id, key, n, n, deadline):
                return


def verify(stub, state, psql_uri):
    """Reads every execution back and asks the new primary for keys with two executions."""
    for execution_id, want in state.executions.items():
        try:
            got = stub.Get(execution_pb2.GetExecutionRequest(execution_id=execution_id),
                           timeout=10).execution
        except grpc.RpcError as error:
            state.lost.append(f"Get {execution_id}: {error.code().name}")
            continue
        stored_n = json.loads(got.context_json).get("n")
        if got.version < want["version"] or (got.version == want["version"]
                                             and stored_n != want["n"]):
            state.lost.append(f"{execution_id}: stored v{got.version} n={stored_n}, "
                              f"acknowledged v{want['version']} n={want['n']}")
        elif got.version > want["version"]:
            state.duplicated.append(f"{execution_id}: stored v{got.version}, "
                                    f"written up to v{want['version']}")
    query = ("SELECT idempotency_key || ' ' || count(*) FROM fm_executions "
             f"WHERE flow_id = '{FLOW_ID}' GROUP BY idempotency_key HAVING count(*) > 1; "
             f"SELECT 'rows ' || count(*) FROM fm_executions WHERE flow_id = '{FLOW_ID}'")
    out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", psql_uri, "-c", query],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    rows = None
    for line in filter(None, out):
        if line.startswith("rows "):
            rows = int(line.split()[1])
        else:
            state.duplicated.append(f"idempotency key with several executions: {line}")
    if rows is not None and rows > len(state.executions):
        state.duplicated.append(f"{rows} executions stored for {len(state.executions)} keys")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--kill-command", required=True)
    parser.add_argument("--psql-uri", required=True, help="the new primary, for the SQL checks")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--warmup-s", type=float, default=4.0)
    parser.add_argument("--after-s", type=float, default=3.0)
    parser.add_argument("--max-gap-s", type=float, default=10.0)
    parser.add_argument("--give-up-s", type=float, default=45.0)
    args = parser.parse_args()

    channel = grpc.insecure_channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = execution_pb2_grpc.ExecutionStoreStub(channel)
    state = State()
    health_log = []
    threads = [threading.Thread(target=health_poller, args=(channel, state, health_log))]
    threads += [threading.Thread(target=writer_loop, args=(stub, state, w))
                for w in range(args.writers)]
    for t in threads:
        t.start()

    time.sleep(args.warmup_s)
    with state.lock:
        before_kill = state.acknowledged
        state.kill_time = time.monotonic()
    subprocess.run(["bash", "-c", args.kill_command], check=True)
    with state.lock:
        state.killed_at = time.monotonic()
    print(f"failover: primary killed after {before_kill} acknowledged writes", flush=True)

    give_up = state.kill_time + args.give_up_s
    while time.monotonic() < give_up:
        with state.lock:
            resumed = state.first_ok_after_kill
            all_writers = len(state.writers_ok_after_kill) == args.writers
        if resumed is not None and all_writers and time.monotonic() > resumed + args.after_s:
            break
        if not any(t.is_alive() for t in threads[1:]):
            break  # every writer stopped on a failure
        time.sleep(0.1)
    state.stop.set()
    for t in threads:
        t.join(timeout=40)

    rows = verify(stub, state, args.psql_uri)
    gap = None if state.first_ok_after_kill is None else state.first_ok_after_kill - state.kill_time
    after_kill = [(t - state.kill_time, s) for t, s in health_log if t >= state.kill_time]
    not_serving = any(s == "NOT_SERVING" for _, s in after_kill)
    timeline = ", ".join(f"{s} at {t:+.1f} s" for t, s in after_kill) or "no change"
    print(f"failover: health after the kill: {timeline}")
    print(f"failover: writes whose answer was lost, committed once as the retry showed: "
          f"{state.in_doubt_created} Creates, {state.in_doubt_committed} Saves; "
          f"{state.retries} retried attempts {dict(sorted(state.errors.items()))}; "
          f"{len(state.executions)} executions, {rows} rows on the new primary")
    for what in state.lost[:10]:
        print(f"failover: LOST {what}")
    for what in state.duplicated[:10]:
        print(f"failover: DUPLICATED {what}")
    gap_text = "never" if gap is None else f"{gap:.1f} s after the kill"
    print(f"failover: acknowledged {state.acknowledged} writes, lost {len(state.lost)}, "
          f"duplicated {len(state.duplicated)}, writes served again {gap_text}, "
          f"health NOT_SERVING seen: {'yes' if not_serving else 'no'}", flush=True)
    failed = []
    if state.lost:
        failed.append("acknowledged writes lost")
    if state.duplicated:
        failed.append("writes duplicated")
    if gap is None or gap > args.max_gap_s:
        failed.append(f"writes not served again within {args.max_gap_s:g} s")
    if not not_serving:
        failed.append("health never NOT_SERVING after the kill")
    if len(state.writers_ok_after_kill) != args.writers:
        failed.append(f"only {len(state.writers_ok_after_kill)} of {args.writers} writers "
                      "wrote after the kill")
    if failed:
        print(f"failover: FAILED: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
