import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeStoreContract } from '../testing/store-contract.ts';
import { createFileStores } from './file-store.ts';

const root = mkdtempSync(join(tmpdir(), 'switchyard-file-store-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('file store', () => createFileStores(join(root, `state-${n++}`)));
