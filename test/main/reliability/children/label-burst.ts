// Run in a child process by crash.spec.ts: labels images through the same action layer the app
// uses, as fast as it can, and prints a line for each label only after its transaction
// committed. The test kills it with SIGKILL mid-burst and checks every printed label survived.
import { writeSync } from 'node:fs'
import { label } from '../../../../src/main/labeling/actions'
import { openProject } from '../../../../src/main/project/project'

const project = openProject(process.argv[2])
const annotator = process.argv[3] ?? 'burst'
const ids = (project.db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as number[])
const classes = project.db.prepare('SELECT id FROM classes WHERE deleted_at IS NULL ORDER BY id').pluck().all() as number[]
writeSync(1, 'ready\n')
for (let i = 0; ; i++) {
  // Mostly single labels, every tenth a bulk label of 25 images, every 37th a clear: a real burst.
  const start = i % ids.length
  const images = i % 10 === 9 ? ids.slice(start, start + 25) : [ids[start]]
  const classId = i % 37 === 36 ? null : classes[i % classes.length]
  const action = label(project.db, annotator, images, classId)
  // Written straight to the pipe's fd: the line leaves this process before the next label starts.
  writeSync(1, `ack ${action.id} ${classId ?? 'null'} ${images.join(',')}\n`)
}
