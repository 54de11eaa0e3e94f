// Page-size rule shared by every store's `list`.
import { ValidationError } from './errors.ts';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError(`invalid limit: must be an integer from 1 to ${MAX_PAGE_LIMIT}`, [{ path: 'limit', message: 'out of range' }]);
  }
  return limit;
}
