"""psycopg 3 workload for drivers-psycopg-prepared.test.ts.

Every worker thread has its own connection with prepare_threshold=0, so psycopg prepares every
query as a named statement (_pg3_0, _pg3_1, ... per connection: the same names on every connection
for different texts) on first use and binds it afterwards. Workers run transactions (committed
and rolled back), per-worker query texts, executemany (pipeline mode), an explicit pipeline, and an
error inside a transaction; every result is checked. Prints one JSON line:
{"committed": {worker: [n, total]}, "errors": [...], "checks": n, "prepared_seen": n}
"""
import json
import os
import sys
import threading
import traceback

import psycopg

ARGS = json.loads(os.environ["SWITCHYARD_TEST_ARGS"])
WORKERS = int(ARGS.get("workers", 8))
ROUNDS = int(ARGS.get("rounds", 6))

errors = []
committed = {}
checks = [0]
lock = threading.Lock()


class Mismatch(Exception):
    pass


def check(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")
    with lock:
        checks[0] += 1


def worker(w):
    n, total = 0, 0
    try:
        with psycopg.connect(prepare_threshold=0, autocommit=False) as conn:
            with conn.cursor() as cur:
                for rnd in range(ROUNDS):
                    v = w * 100 + rnd
                    # A text that differs per worker: same _pg3_ names, different statements.
                    cur.execute(f"SELECT %s::int * 2 AS doubled, 'worker-{w}'::text AS tag", (v,))
                    check("per-worker text", cur.fetchone(), (v * 2, f"worker-{w}"))
                    conn.commit()

                    rollback = rnd % 3 == 2
                    with conn.transaction(force_rollback=rollback):
                        cur.execute("SELECT pg_backend_pid(), txid_current()")
                        first = cur.fetchone()
                        cur.execute("INSERT INTO py_items (worker, round, v) VALUES (%s, %s, %s) RETURNING v", (w, rnd, v))
                        check("insert returning", cur.fetchone(), (v,))
                        # executemany: psycopg 3.1 sends it in pipeline mode (one Sync at the end).
                        cur.executemany("INSERT INTO py_items (worker, round, v) VALUES (%s, %s, %s)", [(w, rnd, 1), (w, rnd, 2), (w, rnd, 3)])
                        cur.execute("SELECT count(*)::int, coalesce(sum(v), 0)::int FROM py_items WHERE worker = %s", (w,))
                        check("own rows inside the transaction", cur.fetchone(), (n + 4, total + v + 6))
                        cur.execute("SELECT pg_backend_pid(), txid_current()")
                        check("same backend and transaction", cur.fetchone(), first)
                    if not rollback:
                        n, total = n + 4, total + v + 6

                    # An explicit pipeline: several prepared queries sent before any result is read.
                    with conn.pipeline():
                        c1 = conn.execute("SELECT %s::int + 1", (v,))
                        c2 = conn.execute(f"SELECT 'pipe-{w}'::text || %s::text", (rnd,))
                        c3 = conn.execute("SELECT count(*)::int FROM py_items WHERE worker = %s", (w,))
                    check("pipeline 1", c1.fetchone(), (v + 1,))
                    check("pipeline 2", c2.fetchone(), (f"pipe-{w}{rnd}",))
                    check("pipeline 3", c3.fetchone(), (n,))
                    conn.commit()

                    if rnd == 1:
                        # An error in a prepared statement inside a transaction; the session goes on.
                        try:
                            with conn.transaction():
                                cur.execute("SELECT 1 / %s::int", (0,))
                            raise Mismatch("division by zero did not fail")
                        except psycopg.errors.DivisionByZero:
                            pass
                        cur.execute("SELECT 1 / %s::int", (1,))
                        check("after the error", cur.fetchone(), (1,))
                        conn.commit()

                cur.execute("SELECT count(*)::int, coalesce(sum(v), 0)::int FROM py_items WHERE worker = %s", (w,))
                check("final own rows", cur.fetchone(), (n, total))
                conn.commit()
        with lock:
            committed[str(w)] = [n, total]
    except Exception as e:  # noqa: BLE001 - every failure is reported to the test
        with lock:
            errors.append({
                "worker": w,
                "type": type(e).__name__,
                "sqlstate": getattr(e, "sqlstate", None),
                "message": str(e),
                "trace": traceback.format_exc(limit=3),
            })


def main():
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The premise: psycopg did prepare named statements (visible on the server connection).
    prepared_seen = -1
    try:
        with psycopg.connect(prepare_threshold=0) as conn:
            with conn.transaction():
                prepared_seen = conn.execute("SELECT count(*)::int FROM pg_prepared_statements").fetchone()[0]
    except Exception as e:  # noqa: BLE001
        errors.append({"worker": -1, "type": type(e).__name__, "sqlstate": getattr(e, "sqlstate", None), "message": str(e)})
    print(json.dumps({"committed": committed, "errors": errors, "checks": checks[0], "prepared_seen": prepared_seen}))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
