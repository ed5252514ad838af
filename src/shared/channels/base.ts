// The building blocks every channel map uses (src/shared/contract.ts and its feature areas).
import { z } from 'zod'

export const empty = z.object({}).strict()
export const id = z.number().int().min(1).max(2 ** 48)
export const annotator = z.string().trim().min(1, 'annotator name must not be empty').max(100)
export const imageIds = z.array(id).min(1, 'select at least one image').max(200_000)

/** Declares a channel: its request schema, and its response type carried only as a type. */
export function channel<Res>() {
  return <Req extends z.ZodType>(request: Req) => ({ request, response: undefined as unknown as Res })
}
