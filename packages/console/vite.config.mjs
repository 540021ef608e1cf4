// Builds the console into dist/: one script and one stylesheet, nothing inline, nothing
// fetched from elsewhere, so the server's Content-Security-Policy can forbid both.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // No data: URIs and no inline preload helper: every byte comes from a file under /assets/.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
