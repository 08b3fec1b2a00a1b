import { defineConfig } from 'vite';

// The console is plain React with no plugin: Vite's own transform handles TSX (automatic
// runtime). Built into web/dist, which the server serves at `/`.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
