import { readFileSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'

const opened: string[] = []
const created: FakeWindow[] = []

class FakeWindow {
  options: Record<string, unknown>
  listeners = new Map<string, (...args: unknown[]) => void>()
  openHandler?: (details: unknown) => unknown
  webContents = {
    on: (name: string, fn: (...args: unknown[]) => void) => this.listeners.set(name, fn),
    setWindowOpenHandler: (fn: (details: unknown) => unknown) => (this.openHandler = fn)
  }
  constructor(options: Record<string, unknown>) {
    this.options = options
    created.push(this)
  }
  once() {}
  loadURL() {
    return Promise.resolve()
  }
  loadFile() {
    return Promise.resolve()
  }
}

vi.mock('electron', () => ({ BrowserWindow: FakeWindow, shell: { openExternal: async (url: string) => opened.push(url) }, dialog: {} }))
const { createMainWindow, hardenSession, secureWebPreferences } = await import('../../src/main/electron/window')
const { CSP } = await import('../../src/main/server/security')

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name, ...values]) => [name, values])
  )
}

function checkPolicy(policy: string): void {
  const d = directives(policy)
  expect(d.get('default-src')).toEqual(["'self'"])
  expect(d.get('script-src')).toEqual(["'self'"])
  expect(d.get('object-src')).toEqual(["'none'"])
  expect(d.get('connect-src')).toEqual(["'self'"])
  expect(d.get('base-uri')).toEqual(["'none'"])
  expect(d.get('frame-ancestors') ?? ["'none'"]).toEqual(["'none'"]) // meta tags cannot carry it; the header does
  expect(d.get('form-action')).toEqual(["'none'"])
  expect(d.has('frame-src') || d.has('child-src'), 'frames need their own review').toBe(false)
  for (const [name, values] of d) {
    expect(values, name).not.toContain("'unsafe-eval'")
    expect(values, name).not.toContain("'wasm-unsafe-eval'")
    for (const v of values) expect(v, `${name} allows a remote origin`).not.toMatch(/^(https?:|wss?:|\*)/)
  }
}

/** Whether the window's listener for `event` cancels a navigation to `url`. */
function prevents(win: FakeWindow, event: string, url: string): boolean {
  let prevented = false
  win.listeners.get(event)!({ preventDefault: () => (prevented = true) }, url)
  return prevented
}

describe('window hardening', () => {
  it('keeps the secure web preferences', () => {
    const prefs = secureWebPreferences('/app/preload.cjs')
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false
    })
  })

  it('serves a CSP without eval or remote origins, in the shell and in index.html alike', () => {
    checkPolicy(CSP)
    const html = readFileSync('src/renderer/index.html', 'utf8')
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBeDefined()
    checkPolicy(meta!)
  })

  it('creates windows that deny new windows, webviews and navigation away from the app', () => {
    createMainWindow({ preload: '/app/preload.cjs', rendererFile: '/app/renderer/index.html' })
    const win = created.at(-1)!
    expect((win.options.webPreferences as Record<string, unknown>).sandbox).toBe(true)
    expect(win.openHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' })
    const navigate = (url: string) => prevents(win, 'will-navigate', url)
    expect(navigate('file:///app/renderer/index.html#/overview')).toBe(false)
    expect(navigate('file:///etc/passwd')).toBe(true)
    // A prefix of the app's URL is not the app.
    expect(navigate('file:///app/renderer/index.html.evil/x.html')).toBe(true)
    expect(navigate('file:///app/renderer/index.htmlx')).toBe(true)
    expect(navigate('studio-file://files/x/image/1')).toBe(true)
    expect(navigate('javascript:alert(1)')).toBe(true)
    expect(navigate('not a url')).toBe(true)
    // Server redirects are held to the same rule as navigations.
    expect(prevents(win, 'will-redirect', 'file:///etc/passwd')).toBe(true)
    expect(navigate('https://example.com/help')).toBe(true)
    expect(opened).toEqual(['https://example.com/help']) // handed to the user's browser instead
    let webviewPrevented = false
    win.listeners.get('will-attach-webview')!({ preventDefault: () => (webviewPrevented = true) })
    expect(webviewPrevented).toBe(true)
  })

  it('keeps a dev server origin exact: a longer host or another port is not the app', () => {
    createMainWindow({ preload: '/app/preload.cjs', rendererFile: '/app/renderer/index.html', rendererUrl: 'http://localhost:5173/' })
    const win = created.at(-1)!
    const navigate = (url: string) => prevents(win, 'will-navigate', url)
    expect(navigate('http://localhost:5173/#/library')).toBe(false)
    expect(navigate('http://localhost:5173.evil.example/')).toBe(true)
    expect(navigate('http://localhost:5174/')).toBe(true)
    expect(navigate('https://localhost:5173/')).toBe(true)
  })

  it('sets nothing beyond the hardened preferences, and the shell wires every guard', () => {
    // toEqual, not toMatchObject: an added key (enableBlinkFeatures, preload scripts in frames...) fails here.
    expect(secureWebPreferences('/app/preload.cjs')).toEqual({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false
    })
    createMainWindow({ preload: '/app/preload.cjs', rendererFile: '/app/renderer/index.html' })
    expect(created.at(-1)!.options.webPreferences).toEqual(secureWebPreferences('/app/preload.cjs'))
    const shell = readFileSync('src/main/index.ts', 'utf8')
    expect(shell).toContain('hardenSession(electronSession.defaultSession)')
    expect(shell).toMatch(/web-contents-created[\s\S]*setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/)
    expect(shell).not.toMatch(/nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false|webSecurity:\s*false/)
    // A sandboxed preload must be CommonJS, and it is the only preload.
    expect(shell).toContain('rendererPaths(mainDir)')
    expect(readFileSync('src/main/electron/window.ts', 'utf8')).toContain("'../preload/index.cjs'")
  })

  it('denies every permission request and adds the CSP to responses', () => {
    let request: ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void) | undefined
    let check: (() => boolean) | undefined
    let headers: ((details: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void) | undefined
    hardenSession({
      setPermissionRequestHandler: (fn: typeof request) => (request = fn),
      setPermissionCheckHandler: (fn: typeof check) => (check = fn),
      webRequest: { onHeadersReceived: (fn: typeof headers) => (headers = fn) }
    } as never)
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal']) {
      let granted: boolean | undefined
      request!({}, permission, (ok) => (granted = ok))
      expect(granted, permission).toBe(false)
    }
    expect(check!()).toBe(false)
    let policy: string[] | undefined
    headers!({ responseHeaders: { 'Content-Type': ['text/html'] } }, (r) => (policy = r.responseHeaders['Content-Security-Policy']))
    expect(policy).toEqual([CSP])
  })
})
