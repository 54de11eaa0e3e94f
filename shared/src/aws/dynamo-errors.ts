// Recognizing DynamoDB's conditional-write failures (API Reference: PutItem/UpdateItem/DeleteItem
// "ConditionalCheckFailedException", TransactWriteItems "TransactionCanceledException" with one
// CancellationReasons entry per item, in request order, Code "ConditionalCheckFailed" or "None").

export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

export function isTransactionCanceled(err: unknown): err is Error & { CancellationReasons?: { Code?: string }[] } {
  return err instanceof Error && err.name === 'TransactionCanceledException';
}

/**
 * Indexes of the transaction items whose condition failed. When the service reports no reasons
 * (some emulators), returns undefined and the caller re-reads state to find out.
 */
export function failedConditions(err: Error & { CancellationReasons?: { Code?: string }[] }): Set<number> | undefined {
  const reasons = err.CancellationReasons;
  if (!reasons || reasons.length === 0) return undefined;
  const failed = new Set<number>();
  reasons.forEach((r, i) => {
    if (r.Code === 'ConditionalCheckFailed') failed.add(i);
  });
  return failed;
}

/** A transaction cancelled for a reason other than our conditions (e.g. TransactionConflict). */
export function isOnlyConditionFailures(err: Error & { CancellationReasons?: { Code?: string }[] }): boolean {
  const reasons = err.CancellationReasons ?? [];
  return reasons.every((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'None' || r.Code === undefined);
}
