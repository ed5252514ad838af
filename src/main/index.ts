// The desktop shell: lifecycle, one window per project, the IPC dispatcher. Everything it does
// to a project goes through the same core the CLI and the HTTP bridge use.
import { app, BrowserWindow, ipcMain, session as electronSession, type WebContents } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHandlers } from './app/handlers'
import { Session } from './app/session'
import { chooseFileHandler, chooseFolderHandler } from './electron/dialogs'
import { handleFileScheme, registerFileScheme } from './electron/protocol'
import { createMainWindow, hardenSession, rendererPaths } from './electron/window'
import { forwardEvents, registerIpc, type WindowBinding } from './ipc/dispatcher'

const mainDir = dirname(fileURLToPath(import.meta.url))
const bindings = new Map<number, WindowBinding>()

function sqliteBindingForElectron(): void {
  // Built by scripts/build-electron-sqlite.mjs beside the Node build the tests use.
  process.env.FREEZEFRAME_SQLITE_BINDING ??= join(app.getAppPath(), 'build-electron', 'better_sqlite3.node')
}

function openWindow(projectDir?: string): BrowserWindow {
  const { preload, rendererFile } = rendererPaths(mainDir)
  const win = createMainWindow({ preload, rendererFile, rendererUrl: process.env.ELECTRON_RENDERER_URL })
  const studio = new Session({ configDir: app.getPath('userData'), transport: 'electron', nativeDialogs: true })
  const binding: WindowBinding = {
    webContents: win.webContents,
    session: studio,
    handlers: createHandlers(studio, { chooseFolder: chooseFolderHandler(win), chooseFile: chooseFileHandler(win) })
  }
  const id = win.webContents.id
  bindings.set(id, binding)
  const stopEvents = forwardEvents(binding)
  if (projectDir) {
    studio.open(projectDir).catch((err: Error) => console.error(`cannot open ${projectDir}:`, err.message))
  }
  win.on('closed', () => {
    stopEvents()
    void studio.dispose()
    bindings.delete(id)
  })
  return win
}

function projectArg(argv: string[]): string | undefined {
  return argv.slice(app.isPackaged ? 1 : 2).find((a) => !a.startsWith('-'))
}

registerFileScheme()

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', (_event, argv) => {
    const dir = projectArg(argv)
    if (dir) openWindow(dir)
    else BrowserWindow.getAllWindows()[0]?.focus()
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
  app.whenReady().then(() => {
    sqliteBindingForElectron()
    hardenSession(electronSession.defaultSession)
    handleFileScheme()
    registerIpc(ipcMain, (sender: WebContents) => bindings.get(sender.id))
    openWindow(projectArg(process.argv))
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow()
    })
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
