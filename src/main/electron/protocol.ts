import { protocol } from 'electron'
import { projectFile } from '../project/project-files'
import { projectByKey } from '../project/registry'

export const FILE_SCHEME = 'studio-file'

/** Must run before the app is ready: the scheme is standard and secure, so the CSP can allow it. */
export function registerFileScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: FILE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])
}

/** studio-file://files/<project key>/thumb/<sha256>.webp and .../image/<id>: nothing else answers. */
export function handleFileScheme(): void {
  protocol.handle(FILE_SCHEME, async (request) => {
    const url = new URL(request.url)
    const [key, ...rest] = url.pathname.replace(/^\/+/, '').split('/')
    const project = url.host === 'files' && key ? projectByKey(key) : undefined
    const file = project ? await projectFile(project, rest.join('/')) : null
    if (!file) return new Response('not found', { status: 404 })
    return new Response(new Uint8Array(file.body), { headers: { 'Content-Type': file.contentType } })
  })
}
