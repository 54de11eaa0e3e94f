// SHOW VERSION: one text column named `version` (what exporters check for), e.g. "Switchyard 0.1.0".
import pkg from '../../../package.json' with { type: 'json' };
import { cols, rows, TEXT, type AdminReply } from './result.ts';

export const VERSION: string = pkg.version;

export const SHOW_VERSION_COLUMNS = cols(['version', TEXT]);

export function showVersion(): AdminReply {
  return rows(SHOW_VERSION_COLUMNS, [[`Switchyard ${VERSION}`]]);
}
