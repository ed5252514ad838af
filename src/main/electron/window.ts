import { BrowserWindow, shell, type Session as ElectronSession, type WebPreferences } from 'electron'
import { join } from 'node:path'
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
  const allowedUrl = opts.rendererUrl ?? `file://${opts.rendererFile}`
  // The app never navigates: links to the web open in the user's browser, anything else is dropped.
  win.webContents.on('will-navigate', (event, url) => {
    if (url.startsWith(allowedUrl)) return
    event.preventDefault()
    if (/^https?:\/\//.test(url)) void shell.openExternal(url)
  })
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
