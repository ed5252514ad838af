// A checklist fix (a patch of the proposed config) in the terms of the Train view's form, which
// keeps the split as a kind, a validation share and one held-out environment.
import type { ProposedConfig } from '../../../../shared/insights'

export interface TrainFormPatch {
  backbone?: string
  size?: number
  weights?: 'inverse' | 'effective' | 'off'
  flip?: boolean
  splitKind?: 'stratified' | 'subject' | 'environment' | 'column'
  validation?: number
  heldOut?: string
  hidden?: number
  dropout?: number
  headLr?: number
  stage2Mode?: 'on' | 'off'
  unfreeze?: number
  stage2Lr?: number
}

/** The form changes a patch means, or null when the form has no field for part of it. */
export function formPatch(patch: ProposedConfig): TrainFormPatch | null {
  const out: TrainFormPatch = {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue
    if (key === 'backbone' || key === 'size' || key === 'weights' || key === 'flip') Object.assign(out, { [key]: value })
    else if (key === 'stage2') {
      // The rest of a stage-2 patch (epochs, batch, augmentation) is what the form itself sent.
      const st = value as NonNullable<ProposedConfig['stage2']>
      if (st.enabled === false) out.stage2Mode = 'off'
      else if (st.fraction !== undefined) {
        out.stage2Mode = 'on'
        out.unfreeze = st.fraction
        if (st.learningRate !== undefined) out.stage2Lr = st.learningRate
      } else return null
    } else if (key === 'head') {
      const h = value as NonNullable<ProposedConfig['head']>
      if (h.hidden !== undefined) out.hidden = h.hidden
      if (h.dropout !== undefined) out.dropout = h.dropout
      if (h.learningRate !== undefined) out.headLr = h.learningRate
    }
    else if (key === 'split') {
      const s = value as NonNullable<ProposedConfig['split']>
      out.splitKind = s.kind
      if (s.kind === 'environment') {
        // The form holds one held-out environment.
        if (s.validationEnvironments.length !== 1) return null
        out.heldOut = s.validationEnvironments[0]
      } else if (s.kind !== 'column') out.validation = s.validation
    } else return null
  }
  return out
}
