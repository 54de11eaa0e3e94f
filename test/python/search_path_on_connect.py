# Prisma-style client through psycopg: each connection SETs its own search_path right after
# connecting (autocommit, as ORMs do), then runs many transactions that must all see it.
# Args: {"schemas": [...], "rounds": N}. Prints {"seen": {schema: [values...]}} as its last line.
import json
import os
import threading

import psycopg

args = json.loads(os.environ["SWITCHYARD_TEST_ARGS"])
seen = {}
errors = []


def worker(schema):
    try:
        with psycopg.connect(autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}", public')
            got = []
            for i in range(args["rounds"]):
                if i % 2 == 0:
                    got.append(conn.execute("SELECT v FROM marker").fetchone()[0])
                else:
                    with conn.transaction():
                        got.append(conn.execute("SELECT current_schema()").fetchone()[0])
            seen[schema] = got
    except Exception as e:  # reported, not raised: the test prints what went wrong
        errors.append(f"{schema}: {e!r}")


threads = [threading.Thread(target=worker, args=(s,)) for s in args["schemas"]]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"seen": seen, "errors": errors}))
