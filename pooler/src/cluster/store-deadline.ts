// A deadline on the node id lease store's calls. The AWS SDK sets no request timeout by default,
// so a DynamoDB call on a black-holed connection waits until the kernel gives up on it (minutes);
// the file store's lock may be held by a stuck process. Such a call must not hold up what shares
// it: the peer directory's one read (every cancel for another node waits on it), the lease's one
// renewal (a lease not renewed for LEASE_TTL_MS is lost to the next claimant), the shutdown.
// The call itself is abandoned, not cancelled: its late answer or failure is ignored.

/** Long enough for any answer a healthy store gives (DynamoDB: milliseconds), short beside the 60 s lease. */
export const STORE_CALL_TIMEOUT_MS = 5_000;

export function withDeadline<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: the store did not answer within ${ms} ms`)), ms);
  });
  call.catch(() => undefined); // an abandoned call's late failure is no unhandled rejection
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}
