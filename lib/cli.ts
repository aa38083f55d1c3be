// The command lines' shared flag handling (demo, agent, batch): strict parsing, and errors that name the
// flag. An ArgError is what a CLI prints before it exits with code 2, having done nothing.
import { type ParseArgsConfig, parseArgs } from 'node:util';

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
