// YAML for the files Switchyard writes (the local stack's pooler.yaml, test and bench configs).
// Reading is pooler/src/config/load.ts (js-yaml, YAML 1.2 core schema); writing goes through here
// so every writer emits what that reader reads back unchanged.
import { dump } from 'js-yaml';

/**
 * `value` as a YAML document. Keys whose value is undefined are left out (as JSON.stringify does),
 * repeated objects are written out again rather than as anchors and aliases, and long strings
 * (verifiers, certificates) are never folded.
 */
export function toYaml(value: unknown): string {
  return dump(value, { skipInvalid: true, noRefs: true, lineWidth: -1 });
}
