// Run in a child process (with a small heap) by bad-input.spec.ts: imports a source and prints
// the report's counts with the process's peak memory, as one JSON line.
import { importPath } from '../../../../src/main/dataset/importer'
import { openProject } from '../../../../src/main/project/project'

const project = openProject(process.argv[2])
const t0 = Date.now()
const r = await importPath(project, process.argv[3])
project.close()
const usage = process.resourceUsage()
process.stdout.write(
  JSON.stringify({
    added: r.added,
    duplicates: r.duplicates,
    listed: r.skipped.length,
    skippedTotal: r.skippedTotal,
    first: r.skipped[0],
    last: r.skipped.at(-1),
    seconds: (Date.now() - t0) / 1000,
    maxRssMiB: usage.maxRSS / 1024
  }) + '\n'
)
