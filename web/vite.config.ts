// The dashboard's build: web/ -> dist/web/ (served by `gantry server` at /).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // Everything from this origin: no inlined data: modules to trip the page's CSP.
    assetsInlineLimit: 0,
  },
});
