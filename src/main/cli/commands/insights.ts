// Commands of dashboards and the preflight checklist (issue 8).
import type { Command } from '../io'

export const insightsCommands: Command[] = []
