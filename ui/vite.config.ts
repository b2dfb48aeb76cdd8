import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by the API under /ui/ (src/api/console.ts): assets get content-hashed
// names, so the server can let browsers keep them for a year.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
  },
});
