// The command lines' shared flag handling (demo, agent, batch): strict parsing, and errors that name the
// flag. An ArgError is what a CLI prints before it exits with code 2, having done nothing.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { VoiceloopError } from './errors.ts';

export class ArgError extends Error {}

export type FlagValues = Record<string, string | string[] | boolean | undefined>;

/**
 * Strict flags (unknown ones and positionals are errors) plus `--help`/`-h`: a parse error or a help
 * request is an ArgError carrying the usage text.
 */
export function parseFlags(argv: string[], options: ParseArgsConfig['options'], usage: string): FlagValues {
  let values: FlagValues;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    }).values as FlagValues;
  } catch (err) {
    throw new ArgError(`${(err as Error).message}\n${usage}`);
  }
  if (values.help) throw new ArgError(usage);
  return values;
}

/** An integer flag within [min, max]; undefined when absent. */
export function intFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new ArgError(`--${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ArgError(`--${name} must be within [${min}, ${max}], got ${n}`);
  return n;
}

/**
 * The entry of a CLI whose `main(argv)` resolves to its exit code, run only when `moduleUrl` (its
 * `import.meta.url`) is the program itself. A failure is printed as its message, never a stack: exit 2
 * when the person's input is wrong (an ArgError, or a VoiceloopError `isInputError` accepts: by default
 * one with code VALIDATION), else 1.
 */
export function runMain(
  moduleUrl: string,
  main: (argv: string[]) => Promise<number>,
  isInputError: (err: VoiceloopError) => boolean = (err) => err.code === 'VALIDATION',
): void {
  const program = process.argv[1];
  if (!program || pathToFileURL(resolve(program)).href !== moduleUrl) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      const input = err instanceof ArgError || (err instanceof VoiceloopError && isInputError(err));
      process.exit(input ? 2 : 1);
    },
  );
}
