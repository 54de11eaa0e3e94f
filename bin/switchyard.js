#!/usr/bin/env node
// The `switchyard` command. Node >= 22.18 runs the TypeScript sources directly (type stripping).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`switchyard needs Node.js >= 22.18 (this is ${process.version}); run it through npm/npx in the project so the pinned Node 22 is used.`);
  process.exit(1);
}
await import('../cli/main.ts');
