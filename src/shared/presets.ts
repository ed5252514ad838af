// FER2013 order, so ids 0-6 of that dataset map onto positions 0-6 here.
export const EMOTION7 = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const

export const CLASS_PRESETS: Record<string, readonly string[]> = {
  emotion7: EMOTION7,
  'emotion-basic': ['happy', 'sad', 'angry', 'neutral']
}

// Distinct on both dark and light backgrounds; picked by position so a project looks the same
// everywhere it is opened.
export const CLASS_COLOURS = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45',
  '#fabed4', '#469990', '#dcbeff', '#9a6324', '#800000', '#aaffc3', '#808000', '#000075'
]

// One key per class: 1-9, then letters that are not used by the labeling view itself.
export const CLASS_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p']

export function defaultClassKey(position: number): string | null {
  return CLASS_KEYS[position] ?? null
}

export function defaultClassColour(position: number): string {
  return CLASS_COLOURS[position % CLASS_COLOURS.length]
}
