// Builds only the renderer into a folder of your choice, for e2e work in parallel checkouts:
//   node scripts/build-renderer.mjs /tmp/my-renderer && STUDIO_RENDERER_DIR=/tmp/my-renderer npx vitest run --project e2e
import { resolve } from 'node:path'
import { build } from 'vite'
import vue from '@vitejs/plugin-vue'

const outDir = resolve(process.argv[2] ?? 'out/renderer')
await build({
  root: resolve('src/renderer'),
  base: './',
  resolve: { alias: { '@shared': resolve('src/shared') } },
  plugins: [vue()],
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true, rollupOptions: { input: { index: resolve('src/renderer/index.html') } } }
})
console.log(`renderer built into ${outDir}`)
