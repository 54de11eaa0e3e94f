// The web console's build (run by scripts/setup.sh; output in web/dist, served by the local API
// and uploaded to S3 by the stacks). Two pages: the console (index.html) and the API reference
// (api.html, Scalar's standalone bundle, loaded only there).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // Scalar's standalone bundle is one large file by design (it is only loaded by api.html).
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { input: { main: 'index.html', api: 'api.html' } },
  },
});
