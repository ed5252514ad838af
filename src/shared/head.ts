/** Trainable parameters of the head on `featureDim` features: Dense(hidden, relu) then softmax, or softmax only (hidden 0). */
export function headParamCount(featureDim: number, hidden: number, classes: number): number {
  return hidden > 0 ? featureDim * hidden + hidden + hidden * classes + classes : featureDim * classes + classes
}
