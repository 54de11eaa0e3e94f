// The YAML file as a config source: what `switchyard pooler --config FILE` always did (SIGHUP and
// the admin RELOAD re-read it), plus an optional watch (--watch) that reloads when the file
// changes. The directory is watched rather than the file because editors and config management
// replace files by rename, which a watch on the old inode would miss; events are debounced and a
// content hash skips rewrites that change nothing.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../../log.ts';
import { parseConfig } from '../load.ts';
import { ConfigError } from '../snapshot.ts';
import type { ConfigSource, SourceLoad } from './types.ts';

export interface FileSourceOptions {
  log: Logger;
  /** Reload when the file changes. */
  watch?: boolean;
  /** Quiet period after the last change event before reloading, ms. */
  debounceMs?: number;
}

export class FileSource implements ConfigSource {
  readonly kind = 'file' as const;
  readonly path: string;
  readonly baseDir: string;
  readonly #o: FileSourceOptions;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  /** Hash of the content last loaded. */
  #loadedHash: string | undefined;

  constructor(file: string, opts: FileSourceOptions) {
    this.path = resolve(file);
    this.baseDir = dirname(this.path);
    this.#o = opts;
  }

  #read(): { text: string; hash: string } {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${this.path}: ${(err as Error).message}`);
    }
    return { text, hash: createHash('sha256').update(text).digest('hex') };
  }

  async load(): Promise<SourceLoad> {
    const { text, hash } = this.#read();
    const config = parseConfig(text, this.path);
    this.#loadedHash = hash;
    return { config, version: undefined };
  }

  /** A pool doubts its target: the file may have been edited with a new one. */
  async refreshTargets(): Promise<boolean> {
    return this.#read().hash !== this.#loadedHash;
  }

  routing(): Promise<SourceLoad> {
    return this.load();
  }

  watch(changed: (reason: string) => void): void {
    if (!this.#o.watch || this.#watcher !== undefined) return;
    const name = basename(this.path);
    this.#watcher = watch(this.baseDir, { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        let hash: string;
        try {
          hash = this.#read().hash;
        } catch {
          return; // mid-replace, or removed: the next event (or SIGHUP) will tell
        }
        if (hash !== this.#loadedHash) changed('file changed');
      }, this.#o.debounceMs ?? 200);
    });
    this.#watcher.on('error', (err) => this.#o.log.error({ err: err.message, file: this.path }, 'cannot watch the config file'));
  }

  async close(): Promise<void> {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
