import { describe, expect, it } from 'vitest'
import { centroidOutliers, disagreements, labelEntropy, median, nearDuplicatePairs } from '../../../../src/main/analysis/flags/detectors'
import { hammingDistance } from '../../../../src/main/dataset/phash'
import { mulberry32 } from '../../../../src/main/util/random'

describe('annotator disagreement', () => {
  it('label entropy in bits', () => {
    expect(labelEntropy([1, 1])).toBe(0)
    expect(labelEntropy([1, 2])).toBeCloseTo(1, 12)
    // -(2/3 log2 2/3 + 1/3 log2 1/3)
    expect(labelEntropy([1, 1, 2])).toBeCloseTo(0.9183, 4)
  })

  it('flags only images whose labels differ, scored by entropy over its maximum, with the majority as suggestion', () => {
    const out = disagreements([
      { imageId: 1, classId: 5 },
      { imageId: 1, classId: 5 },
      { imageId: 2, classId: 5 },
      { imageId: 2, classId: 6 },
      { imageId: 3, classId: 5 },
      { imageId: 3, classId: 5 },
      { imageId: 3, classId: 6 }
    ])
    expect(out.map((d) => d.imageId)).toEqual([2, 3])
    expect(out[0]).toMatchObject({ score: 1, majority: null })
    expect(out[1].majority).toBe(5)
    expect(out[1].score).toBeCloseTo(0.9183 / Math.log2(3), 4)
  })
})

describe('near-duplicates by perceptual hash', () => {
  const flip = (hex: string, bits: number[]) => {
    let b = BigInt('0x' + hex)
    for (const i of bits) b ^= 1n << BigInt(i)
    return b.toString(16).padStart(16, '0')
  }

  it('finds pairs within the threshold, with their distance', () => {
    const a = '0f0f0f0f0f0f0f0f'
    const pairs = nearDuplicatePairs(
      [
        { id: 1, phash: a },
        { id: 2, phash: flip(a, [0, 40]) },
        { id: 3, phash: flip(a, [1, 2, 3, 50, 60]) },
        { id: 4, phash: 'not-a-hash' }
      ],
      3
    )
    expect(pairs).toEqual([{ a: 1, b: 2, distance: 2 }])
  })

  it('misses no pair a brute-force comparison finds', () => {
    const rand = mulberry32(3)
    const base = Array.from({ length: 20 }, () => Array.from({ length: 16 }, () => Math.floor(rand() * 16).toString(16)).join(''))
    const images = Array.from({ length: 300 }, (_, i) => ({
      id: i + 1,
      phash: flip(base[i % 20], Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 64)))
    }))
    const brute: string[] = []
    for (let i = 0; i < images.length; i++)
      for (let j = i + 1; j < images.length; j++) if (hammingDistance(images[i].phash, images[j].phash) <= 4) brute.push(`${images[i].id}:${images[j].id}`)
    const fast = nearDuplicatePairs(images, 4).map((p) => `${p.a}:${p.b}`)
    expect(brute.length).toBeGreaterThan(100)
    expect(fast.sort()).toEqual(brute.sort())
  })

  it('rejects a threshold outside 0..15', () => {
    expect(() => nearDuplicatePairs([], 20)).toThrow('0..15')
  })
})

describe('outliers', () => {
  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 2, 3])).toBe(2.5)
  })

  it('flags the vector far from every class centroid and nothing else', async () => {
    const rand = mulberry32(5)
    const vectors: Float32Array[] = []
    const labels: number[] = []
    for (let i = 0; i < 60; i++) {
      const c = i % 2
      const v = new Float32Array(8)
      v[c] = 1
      for (let k = 0; k < 8; k++) v[k] += (rand() - 0.5) * 0.2
      vectors.push(v)
      labels.push(c)
    }
    const odd = new Float32Array(8)
    odd[7] = 1
    vectors.push(odd)
    labels.push(0)
    const { outliers, distances } = await centroidOutliers(vectors, Int32Array.from(labels), 2)
    expect(outliers.map((o) => o.index)).toEqual([60])
    expect(outliers[0].z).toBeGreaterThan(3.5)
    expect(distances[60]).toBeGreaterThan(0.9)
  })
})
