"""asyncpg workload for drivers-asyncpg-prepared.test.ts.

asyncpg prepares every query as a named statement (__asyncpg_stmt_N__, numbered per connection:
the same names on every connection for different texts) and caches it. Several connections run
concurrently (asyncio.gather): transactions committed and rolled back, per-connection query texts,
executemany (Bind/Execute batches under one Sync), an explicit prepared statement, a cursor
(portal fetched in chunks) inside a transaction, and an error inside a transaction; every result
is checked. Prints one JSON line:
{"committed": {worker: [n, total]}, "errors": [...], "checks": n, "prepared_seen": n}
"""
import asyncio
import json
import os
import sys
import traceback

import asyncpg

ARGS = json.loads(os.environ["SWITCHYARD_TEST_ARGS"])
WORKERS = int(ARGS.get("workers", 8))
ROUNDS = int(ARGS.get("rounds", 6))

errors = []
committed = {}
checks = [0]


class Mismatch(Exception):
    pass


def check(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")
    checks[0] += 1


async def worker(w):
    n, total = 0, 0
    conn = await asyncpg.connect(ssl=False)
    try:
        add = await conn.prepare("SELECT $1::int + $2::int")
        for rnd in range(ROUNDS):
            v = w * 100 + rnd
            check("per-worker text", await conn.fetchval(f"SELECT $1::int * 2 || '-worker-{w}'", v), f"{v * 2}-worker-{w}")
            check("explicit prepared statement", await add.fetchval(v, 1), v + 1)

            rollback = rnd % 3 == 2
            try:
                async with conn.transaction():
                    first = await conn.fetchrow("SELECT pg_backend_pid() AS pid, txid_current() AS x")
                    check("insert returning", await conn.fetchval("INSERT INTO py_items (worker, round, v) VALUES ($1, $2, $3) RETURNING v", w, rnd, v), v)
                    await conn.executemany("INSERT INTO py_items (worker, round, v) VALUES ($1, $2, $3)", [(w, rnd, 1), (w, rnd, 2), (w, rnd, 3)])
                    row = await conn.fetchrow("SELECT count(*)::int AS n, coalesce(sum(v), 0)::int AS t FROM py_items WHERE worker = $1", w)
                    check("own rows inside the transaction", (row["n"], row["t"]), (n + 4, total + v + 6))
                    # A cursor: a portal fetched 7 rows at a time inside the transaction.
                    seen = [r[0] async for r in conn.cursor("SELECT g FROM generate_series(1, $1::int) AS g", 25, prefetch=7)]
                    check("cursor", seen, list(range(1, 26)))
                    again = await conn.fetchrow("SELECT pg_backend_pid() AS pid, txid_current() AS x")
                    check("same backend and transaction", tuple(again), tuple(first))
                    if rollback:
                        raise RollbackRequested()
                n, total = n + 4, total + v + 6
            except RollbackRequested:
                pass

            if rnd == 1:
                try:
                    async with conn.transaction():
                        await conn.fetchval("SELECT 1 / $1::int", 0)
                    raise Mismatch("division by zero did not fail")
                except asyncpg.exceptions.DivisionByZeroError:
                    pass
                check("after the error", await conn.fetchval("SELECT 1 / $1::int", 1), 1)

        row = await conn.fetchrow("SELECT count(*)::int AS n, coalesce(sum(v), 0)::int AS t FROM py_items WHERE worker = $1", w)
        check("final own rows", (row["n"], row["t"]), (n, total))
        committed[str(w)] = [n, total]
    except Exception as e:  # noqa: BLE001 - every failure is reported to the test
        errors.append({
            "worker": w,
            "type": type(e).__name__,
            "sqlstate": getattr(e, "sqlstate", None),
            "message": str(e),
            "trace": traceback.format_exc(limit=3),
        })
    finally:
        await conn.close()


class RollbackRequested(Exception):
    pass


async def main():
    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    prepared_seen = -1
    try:
        conn = await asyncpg.connect(ssl=False)
        try:
            async with conn.transaction():
                prepared_seen = await conn.fetchval("SELECT count(*)::int FROM pg_prepared_statements")
        finally:
            await conn.close()
    except Exception as e:  # noqa: BLE001
        errors.append({"worker": -1, "type": type(e).__name__, "sqlstate": getattr(e, "sqlstate", None), "message": str(e)})
    print(json.dumps({"committed": committed, "errors": errors, "checks": checks[0], "prepared_seen": prepared_seen}))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
