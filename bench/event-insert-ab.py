#!/usr/bin/env python3
"""PostgreSQL backend CPU of RecordBatch's insert with request ids, before and after session
12 (BENCHMARKS run 14): `before` names each event's call by its 48-byte request id and scans
every event once per request id; `after` (server/pg/event_requests.cc) names it by position
and groups the ids in one sort. Statements of 10 calls x 100 events, alternating
`before after after before` in 100-statement blocks; prints CPU ticks (1/100 s) per block,
read from /proc/<backend pid>/stat. Run on the same machine as the database:

  scripts/with-test-server bash -c \\
    'bench/event-insert-ab.py 100 3 | psql -X -q "$FM_DATABASE_URL" -f - | bench/event-insert-ab.py --summary'
"""
import random
import sys

GATE = ("WITH gate AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(4664,"
        " hashtext('fm_events')) AS locked) ")
INSERT = (", written AS (INSERT INTO fm_events (id, execution_id, event_type, step_id, data,"
          " created_at) SELECT u.id, u.execution_id, u.event_type, u.step_id, u.data,"
          " u.created_at FROM u WHERE {filter} ORDER BY u.ord RETURNING id)"
          " SELECT id, NULL::text FROM written UNION ALL SELECT NULL, request_id FROM claimed")
BEFORE = (GATE +
          ", u AS MATERIALIZED (SELECT nextval('fm_events_id_seq') AS id, u.* FROM gate,"
          " unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[])"
          " WITH ORDINALITY AS u(execution_id, event_type, step_id, data, created_at,"
          " request_id, ord))"
          ", claimed AS (INSERT INTO fm_request_ids (request_id, created_at, event_ids)"
          " SELECT r.request_id, $8, ARRAY(SELECT u.id FROM u WHERE u.request_id ="
          " r.request_id ORDER BY u.ord) FROM unnest($7::text[]) AS r(request_id)"
          " ON CONFLICT DO NOTHING RETURNING request_id)" +
          INSERT.format(filter="u.request_id IS NULL OR u.request_id IN"
                        " (SELECT request_id FROM claimed)"))
AFTER = (GATE +
         ", u AS MATERIALIZED (SELECT nextval('fm_events_id_seq') AS id, u.* FROM gate,"
         " unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::int[])"
         " WITH ORDINALITY AS u(execution_id, event_type, step_id, data, created_at, call,"
         " ord))"
         ", calls AS (SELECT r.request_id, r.call FROM unnest($7::text[]) WITH ORDINALITY"
         " AS r(request_id, call))"
         ", claimed AS (INSERT INTO fm_request_ids (request_id, created_at, event_ids)"
         " SELECT c.request_id, $8, g.ids FROM calls c JOIN (SELECT u.call,"
         " array_agg(u.id ORDER BY u.ord) AS ids FROM u WHERE u.call IS NOT NULL"
         " GROUP BY u.call) g ON g.call = c.call ON CONFLICT DO NOTHING RETURNING request_id)" +
         INSERT.format(filter="u.call IS NULL OR u.call IN (SELECT c.call FROM calls c"
                       " JOIN claimed USING (request_id))"))


def literal(values):
    return "'{" + ",".join('"%s"' % v for v in values) + "}'"


def summary():
    ticks = {"before": [], "after": []}
    start = {}
    for line in sys.stdin:
        words = line.split()
        if len(words) == 3 and words[0] in ticks:
            if words[1] == "start":
                start[words[0]] = int(words[2])
            else:
                ticks[words[0]].append(int(words[2]) - start[words[0]])
    for name, blocks in ticks.items():
        print("%s: %s ticks per block, %d in all" % (name, " / ".join(map(str, blocks)),
                                                       sum(blocks)))
    print("after / before: %.2fx" % (sum(ticks["after"]) / sum(ticks["before"])))


def main():
    if sys.argv[1:] == ["--summary"]:
        summary()
        return
    per_block = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rng = random.Random(1)
    now = 1796000000000
    out = sys.stdout
    out.write("PREPARE before AS %s;\nPREPARE after AS %s;\n" % (BEFORE, AFTER))
    out.write("SELECT pg_backend_pid() AS pid \\gset\n\\setenv PID :pid\n\\o /dev/null\n")
    cpu = "$(awk '{print $14+$15}' /proc/$PID/stat)"
    for _ in range(rounds):
        for name in ("before", "after", "after", "before"):
            out.write("\\! echo %s start %s\n" % (name, cpu))
            for _ in range(per_block):
                calls = ["%032x-%015x" % (rng.getrandbits(128), rng.getrandbits(60))
                         for _ in range(10)]
                columns = ", ".join([
                    literal("bench-%d" % rng.randrange(1000) for _ in range(1000)),
                    literal(["step.completed"] * 1000), literal(["step"] * 1000),
                    literal('{\\"duration\\": %d, \\"ok\\": true}' % rng.randrange(1000)
                            for _ in range(1000)),
                    literal([str(now)] * 1000)])
                event_calls = ([calls[i // 100] for i in range(1000)] if name == "before"
                               else [str(i // 100 + 1) for i in range(1000)])
                out.write("EXECUTE %s(%s, %s, %s, %d);\n"
                          % (name, columns, literal(event_calls), literal(calls), now))
            out.write("\\! echo %s end %s\n" % (name, cpu))


if __name__ == "__main__":
    main()
