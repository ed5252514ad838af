// Loads the TypeScript worker through tsx when running from source (CLI, tests, dev); the
// Electron bundle ships a built training-worker.js instead.
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
