import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

const alias = { '@shared': resolve('src/shared') }

// Four layers, one runner: scripts/test.mjs decides whether the browser layer can run.
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/main/**/*.spec.ts', 'test/shared/**/*.spec.ts'],
          testTimeout: 60_000,
          pool: 'forks'
        }
      },
      {
        resolve: { alias },
        test: {
          name: 'contract',
          environment: 'node',
          include: ['test/contract/**/*.spec.ts'],
          testTimeout: 30_000
        }
      },
      {
        resolve: { alias },
        plugins: [vue()],
        test: {
          name: 'component',
          environment: 'happy-dom',
          include: ['test/renderer/**/*.spec.ts'],
          testTimeout: 30_000
        }
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.spec.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false
        }
      }
    ]
  }
})
