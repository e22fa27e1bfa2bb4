// Type-only re-exports from @comfyorg/litegraph, in one place so a version bump touches one file.
export type { INodeInputSlot, IWidget as IBaseWidget } from '@comfyorg/litegraph';
