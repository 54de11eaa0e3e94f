// Python: asyncpg (prepares every query by name, __asyncpg_stmt_N__ per connection, and caches it), 8 concurrent connections, through the pooler on 2 server connections in transaction mode. The
// workload (test/python/asyncpg_workload.py) runs transactions that commit and roll back,
// per-connection query texts under statement names every connection uses, batched executes,
// and an error inside a transaction, checking every result; afterwards the rows in PostgreSQL
// must be exactly what each worker committed. Session mode (a server connection per client) is
// the reference run.
import { describePreparedWorkload } from './helpers/python-prepared-workload.ts';

describePreparedWorkload('asyncpg', 'apg');
