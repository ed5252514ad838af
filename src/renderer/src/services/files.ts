import { useProjectStore } from '../stores/project'

/** URLs of the open project's thumbnails and images, over whichever transport serves them. */
export function useFileUrls() {
  const project = useProjectStore()
  const base = () => `${project.app?.fileBase ?? '/files'}/${project.summary?.key ?? 'none'}`
  return {
    thumb: (sha256: string) => `${base()}/thumb/${sha256}.webp`,
    image: (id: number) => `${base()}/image/${id}`
  }
}
