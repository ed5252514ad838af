// Run in a child process: opens a project and holds it until stdin closes, so tests can check
// what a second studio process sees.
import { openProject } from '../../src/main/project/project'

const project = openProject(process.argv[2])
process.stdout.write('ready\n')
process.stdin.resume()
process.stdin.on('end', () => {
  project.close()
  process.exit(0)
})
