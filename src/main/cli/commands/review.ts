// Commands of label-noise flags and the review queue (issue 7).
import type { Command } from '../io'

export const reviewCommands: Command[] = []
