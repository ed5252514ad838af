import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

const alias = { '@shared': resolve('src/shared') }

export default defineConfig({
  main: {
    resolve: { alias },
    build: {
      // Worker threads load their module by file name, so each is an entry of its own
      // (src/main/util/module-worker.ts finds embeddings.js, stage1-partner.js and predict-worker.js beside the bundle).
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          'training-worker': resolve('src/main/training/worker.ts'),
          embeddings: resolve('src/main/training/embeddings.ts'),
          'stage1-partner': resolve('src/main/training/stage1-partner.ts'),
          'predict-worker': resolve('src/main/evaluate/predict-worker.ts')
        }
      }
    }
  },
  preload: {
    resolve: { alias },
    build: {
      // A sandboxed preload cannot load ES modules or node_modules: one CommonJS file.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve('src/renderer'),
    resolve: { alias },
    plugins: [vue()],
    build: {
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } }
    }
  }
})
