import { dialog, type BrowserWindow } from 'electron'
import type { Handler } from '../app/handlers'

export function chooseFolderHandler(win: BrowserWindow): Handler<'dialog.chooseFolder'> {
  return async (req) => {
    const result = await dialog.showOpenDialog(win, {
      title: req.purpose === 'create' ? 'Choose a folder for the new project' : 'Open a project folder',
      defaultPath: req.defaultPath,
      properties: req.purpose === 'create' ? ['openDirectory', 'createDirectory'] : ['openDirectory']
    })
    return { path: result.canceled ? null : (result.filePaths[0] ?? null) }
  }
}
