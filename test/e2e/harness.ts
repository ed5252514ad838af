import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Session } from '../../src/main/app/session'
import { startServer, type RunningServer } from '../../src/main/server/server'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ARTIFACTS = resolve('artifacts/e2e')
export const RENDERER = resolve(process.env.STUDIO_RENDERER_DIR ?? 'out/renderer')

export interface Studio {
  server: RunningServer
  session: Session
  browser: Browser
  page: Page
  /** Console errors and failed requests the page saw; a clean run has none. */
  problems: string[]
  stop(): Promise<void>
}

/** The built renderer over the real core and HTTP bridge, in Debian's headless Chromium. */
export async function startStudio(opts: { project?: string; width?: number; height?: number } = {}): Promise<Studio> {
  if (!existsSync(join(RENDERER, 'index.html'))) throw new Error('out/renderer is missing: run `npm run build` first')
  mkdirSync(ARTIFACTS, { recursive: true })
  const session = new Session({ configDir: mkdtempSync(join(tmpdir(), 'ff-e2e-cfg-')), transport: 'http', nativeDialogs: false })
  if (opts.project) await session.open(opts.project)
  const server = await startServer({ session, rendererDir: RENDERER })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 } })
  const problems: string[] = []
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`request: ${r.url()} ${r.failure()?.errorText}`))
  return {
    server,
    session,
    browser,
    page,
    problems,
    stop: async () => {
      await browser.close()
      await server.close()
      await session.dispose()
    }
  }
}

export function shot(name: string): string {
  return join(ARTIFACTS, `${name}.png`)
}

export function tempProjectDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'ff-e2e-')), 'project')
}
