"""LISTEN/NOTIFY workload for listen-notify-python-drivers.test.ts.

driver=psycopg: conn.notifies() and add_notify_handler, autocommit and inside a transaction.
driver=asyncpg: Connection.add_listener / remove_listener.
In both, `prepared_first` runs the same parameterised query 10 times before listening (psycopg
prepares it from the 5th time on, asyncpg always: the client then uses named statements).
A second connection sends the NOTIFYs (through the same pooler; during the transaction, which
holds the pool's one server connection, directly: args.direct is its conninfo). Prints one JSON line:
{"got": [[channel, payload], ...], "errors": [...]}
"""
import asyncio
import json
import os
import traceback

ARGS = json.loads(os.environ["SWITCHYARD_TEST_ARGS"])
DRIVER = ARGS["driver"]
PREPARED_FIRST = bool(ARGS.get("prepared_first", False))

got = []
errors = []


def run_psycopg():
    import psycopg

    conn = psycopg.connect(autocommit=True)
    other = psycopg.connect(autocommit=True)
    if PREPARED_FIRST:
        for i in range(10):
            conn.execute("SELECT %s::int + 1", [i]).fetchone()
    conn.execute("LISTEN py_chan")
    other.execute("SELECT pg_notify('py_chan', 'one')")
    other.execute("NOTIFY py_chan, 'two'")
    gen = conn.notifies()
    for n in gen:
        got.append([n.channel, n.payload])
        if len(got) == 2:
            gen.close()
    # Inside a transaction: delivered after COMMIT, to the handler, while running a query.
    conn.add_notify_handler(lambda n: got.append([n.channel, n.payload]))
    # The transaction holds the pool's only server connection: NOTIFY directly on PostgreSQL.
    direct = psycopg.connect(ARGS["direct"], autocommit=True)
    with conn.transaction():
        conn.execute("SELECT 1").fetchone()
        direct.execute("NOTIFY py_chan, 'three'")
        conn.execute("SELECT 2").fetchone()
    direct.close()
    for _ in range(200):
        if len(got) >= 3:
            break
        conn.execute("SELECT 3").fetchone()
        import time
        time.sleep(0.05)
    conn.execute("UNLISTEN py_chan")
    other.execute("NOTIFY py_chan, 'four'")
    conn.execute("LISTEN py_sentinel")
    other.execute("NOTIFY py_sentinel, 'five'")
    for _ in range(200):
        if len(got) >= 4:
            break
        conn.execute("SELECT 4").fetchone()
        import time
        time.sleep(0.05)
    conn.close()
    other.close()


async def run_asyncpg():
    import asyncpg

    conn = await asyncpg.connect(ssl=False)
    other = await asyncpg.connect(ssl=False)
    if PREPARED_FIRST:
        for i in range(10):
            await conn.fetchval("SELECT $1::int + 1", i)
    done = asyncio.Event()

    def on_note(_conn, _pid, channel, payload):
        got.append([channel, payload])
        if len(got) >= 2:
            done.set()

    await conn.add_listener("apg_chan", on_note)
    await other.execute("SELECT pg_notify('apg_chan', 'one')")
    await other.execute("NOTIFY apg_chan, 'two'")
    await asyncio.wait_for(done.wait(), 30)
    await conn.remove_listener("apg_chan", on_note)
    await other.execute("NOTIFY apg_chan, 'three'")
    sentinel = asyncio.Event()
    await conn.add_listener("apg_sentinel", lambda *_a: sentinel.set())
    await other.execute("NOTIFY apg_sentinel")
    await asyncio.wait_for(sentinel.wait(), 30)
    await conn.close()
    await other.close()


try:
    if DRIVER == "psycopg":
        run_psycopg()
    else:
        asyncio.run(run_asyncpg())
except Exception as e:  # noqa: BLE001
    errors.append(f"{type(e).__name__}: {e} {traceback.format_exc()[-800:]}")

print(json.dumps({"got": got, "errors": errors}))
