// The package ships JavaScript only; this is the part of its Emscripten factory the block uses.
declare module '@echogarden/rnnoise-wasm' {
  const createRnnoiseModule: (options?: Record<string, unknown>) => Promise<unknown>;
  export default createRnnoiseModule;
}
