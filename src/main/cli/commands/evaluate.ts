// Commands of evaluation, export and prediction (issue 6).
import type { Command } from '../io'

export const evaluateCommands: Command[] = []
