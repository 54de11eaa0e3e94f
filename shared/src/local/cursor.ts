// Opaque pagination cursors for the local store: base64url JSON, validated when read back.
import { z } from 'zod';
import { ValidationError } from '../domain/errors.ts';

const cursorSchema = z.object({ after: z.string().min(1) }).strict();
export type LocalCursor = z.infer<typeof cursorSchema>;

export function encodeCursor(c: LocalCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(s: string): LocalCursor {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor returned by list' }]);
  }
}
