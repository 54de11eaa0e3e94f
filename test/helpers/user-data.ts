// The pooler.yaml that an instance's user data (deploy/user-data.ts) writes, as the pooler on that
// instance would read it: the heredoc of the script with its shell variables filled in — the
// script's own assignments (ports, drain time), overridden by `values` (what the instance learns at
// boot, such as its private IP, or free ports for a test on one machine).
import { poolerUserData, type PoolerUserDataParams } from '../../deploy/user-data.ts';

const HEREDOC = /cat > "\/etc\/switchyard\/pooler\.yaml" <<EOF\n([\s\S]*?)\nEOF\n/;

/** The pooler.yaml heredoc of `script` with `$NAME` / `${NAME}` replaced; throws on a variable nobody set. */
export function userDataPoolerYaml(script: string, values: Record<string, string> = {}): string {
  const heredoc = HEREDOC.exec(script)?.[1];
  if (heredoc === undefined) throw new Error('the user data writes no /etc/switchyard/pooler.yaml heredoc');
  const assigned = Object.fromEntries([...script.matchAll(/^([A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
  return heredoc.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, name: string) => {
    const v = values[name] ?? assigned[name];
    if (v === undefined) throw new Error(`the user data's pooler.yaml uses $${name}, which nothing sets`);
    return v;
  });
}

/** A user data script with placeholder deploy-time values (the pooler.yaml does not depend on them). */
export function sampleUserData(overrides: Partial<PoolerUserDataParams> = {}): string {
  return poolerUserData({
    stage: 'test',
    region: 'us-east-1',
    table: 'switchyard-test',
    kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/test',
    poolerTag: 'switchyard:role=pooler',
    bundleUrl: 's3://bucket/bundle.zip',
    bundleHash: 'hash',
    port: 5432,
    healthPort: 9127,
    cancelPort: 9128,
    shutdownTimeoutSeconds: 30,
    logGroupName: '/switchyard/test/pooler',
    ...overrides,
  });
}
