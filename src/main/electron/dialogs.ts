import { dialog, type BrowserWindow } from 'electron'
import type { Handler } from '../app/handlers'

export function chooseFolderHandler(win: BrowserWindow): Handler<'dialog.chooseFolder'> {
  return async (req) => {
    const result = await dialog.showOpenDialog(win, {
      title:
        req.purpose === 'create' ? 'Choose a folder for the new project' : req.purpose === 'import' ? 'Choose a folder of images' : 'Open a project folder',
      defaultPath: req.defaultPath,
      properties: req.purpose === 'create' ? ['openDirectory', 'createDirectory'] : ['openDirectory']
    })
    return { path: result.canceled ? null : (result.filePaths[0] ?? null) }
  }
}

export function chooseFileHandler(win: BrowserWindow): Handler<'dialog.chooseFile'> {
  return async (req) => {
    const result = await dialog.showOpenDialog(win, {
      title: 'Choose a CSV manifest or a FER2013 CSV',
      defaultPath: req.defaultPath,
      properties: ['openFile'],
      filters: [{ name: 'CSV', extensions: ['csv'] }]
    })
    return { path: result.canceled ? null : (result.filePaths[0] ?? null) }
  }
}
