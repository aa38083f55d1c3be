// The package ships JavaScript only; this is the part of its Emscripten factory pffft.ts uses.
declare module '@echogarden/pffft-wasm/simd' {
  const createPffftModule: (options?: Record<string, unknown>) => Promise<unknown>;
  export default createPffftModule;
}
