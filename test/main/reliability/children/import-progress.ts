// Run in a child process by crash.spec.ts: imports a folder in small batches and prints how many
// images it has processed, so the test can SIGKILL it with some batches committed and others not.
import { writeSync } from 'node:fs'
import { importPath } from '../../../../src/main/dataset/importer'
import { openProject } from '../../../../src/main/project/project'

const project = openProject(process.argv[2])
await importPath(project, process.argv[3], {
  batchSize: 20,
  onProgress: (done) => writeSync(1, `done ${done}\n`)
})
project.close()
writeSync(1, 'finished\n')
