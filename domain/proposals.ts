// A ParameterProposal list from a parameter diff: what moves from the values in effect to the target
// values, each with its unit and the reason. One place builds them for the online loop's rollbacks
// and the experiments' promotions.
import { parameterByName } from '../catalog/index.ts';
import type { ParameterProposal } from '../contracts/generated.ts';

/** Differences below this are floating-point noise, not a change. */
const SAME = 1e-9;

export function proposalsFromDiff(
  stationId: number,
  current: Readonly<Record<string, number>>,
  target: Readonly<Record<string, number>>,
  reason: string,
): ParameterProposal[] {
  return Object.entries(target)
    .filter(([name, v]) => Math.abs((current[name] ?? v) - v) > SAME)
    .map(([name, v]) => ({
      station_id: stationId,
      name,
      old: current[name] ?? null,
      new: v,
      unit: parameterByName(name)?.unit ?? '',
      reason,
    }));
}
