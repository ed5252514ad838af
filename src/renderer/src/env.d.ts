/// <reference types="vite/client" />
import type { StudioApi } from '../../shared/api'

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

declare global {
  interface Window {
    api?: StudioApi
  }
}
export {}
