// Switchyard on AWS: `npx sst deploy --stage <stage>` (docs/deploy.md).
//
// The shape is what SST v2's loader expects: a default export object with `config()` and a
// `stacks()` *method*. SST loads this file twice through esbuild: first "shallow", removing the
// `stacks` method with Babel so that reading the app name and region never evaluates the stacks,
// then in full for synth. The stacks are therefore imported dynamically inside `stacks()`: static
// imports would survive the shallow load (tsconfig's verbatimModuleSyntax keeps unused imports).
// Paths are resolved from the working directory, which SST sets to the project root before
// synthesizing (the bundled config runs from a temporary file, so import.meta is not this file).
import type { SSTConfig } from 'sst';

export default {
  config(input) {
    return {
      name: 'switchyard',
      region: input.region ?? process.env.AWS_REGION ?? 'eu-west-1',
    };
  },
  async stacks(app) {
    const { join } = await import('node:path');
    const { loadStageConfig } = await import('./stacks/settings.ts');
    const { switchyardApp } = await import('./stacks/app.ts');
    const { buildPoolerBundle } = await import('./deploy/build-bundle.ts');
    const root = process.cwd();
    const config = loadStageConfig(root, app.stage);
    // A prebuilt bundle (CI artifact, tests) skips the build; otherwise build it now so that one
    // command deploys the current pooler.
    const poolerBundleDir = process.env.SWITCHYARD_POOLER_BUNDLE_DIR ?? (await buildPoolerBundle({ root, outDir: join(root, 'dist', 'pooler') })).outDir;
    switchyardApp(app, { config, poolerBundleDir });
  },
} satisfies SSTConfig;
