// Parses with a zod schema and turns failures into the domain's ValidationError, so callers see
// one error type whether input came from HTTP, a file or a DynamoDB item.
import type { z } from 'zod';
import { ValidationError } from './errors.ts';

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new ValidationError(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
}
