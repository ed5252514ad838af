import { BrowserWindow, shell, type Session as ElectronSession, type WebPreferences } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CSP } from '../server/security'

/** The only web preferences a studio window gets; test/contract/window.spec.ts fails if one is weakened. */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
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
  }
}

/** Denies every permission request and adds the CSP to every response the window loads. */
export function hardenSession(ses: ElectronSession): void {
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  ses.setPermissionCheckHandler(() => false)
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
  })
}

/**
 * Whether a navigation stays in the app: the same origin and, for a file, the same page (only
 * the hash may change). A prefix test would let file:///app/index.html.evil or
 * http://localhost:5173.evil.example through.
 */
export function isAppUrl(allowed: URL, url: string): boolean {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return false
  }
  if (target.protocol !== allowed.protocol || target.host !== allowed.host) return false
  return allowed.protocol !== 'file:' || target.pathname === allowed.pathname
}

export function createMainWindow(opts: { preload: string; rendererUrl?: string; rendererFile: string }): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Freezeframe Studio',
    backgroundColor: '#14161a',
    webPreferences: secureWebPreferences(opts.preload)
  })
  const allowed = new URL(opts.rendererUrl ?? pathToFileURL(opts.rendererFile).href)
  // The app never navigates: links to the web open in the user's browser, anything else is dropped.
  const guard = (event: { preventDefault(): void }, url: string) => {
    if (isAppUrl(allowed, url)) return
    event.preventDefault()
    if (/^https?:\/\//.test(url)) void shell.openExternal(url)
  }
  win.webContents.on('will-navigate', guard)
  win.webContents.on('will-redirect', guard)
  win.webContents.on('will-attach-webview', (event) => event.preventDefault())
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.once('ready-to-show', () => win.show())
  if (opts.rendererUrl) void win.loadURL(opts.rendererUrl)
  else void win.loadFile(opts.rendererFile)
  return win
}

export function rendererPaths(mainDir: string): { preload: string; rendererFile: string } {
  return { preload: join(mainDir, '../preload/index.cjs'), rendererFile: join(mainDir, '../renderer/index.html') }
}
