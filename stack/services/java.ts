// Finding a Java runtime for each server. Kafka 4 and S3Proxy 4 need 17, which is `java` on PATH
// here; Apicurio Registry 3.3 is compiled for Java 21 (class file 65) and fails on 17 with
// UnsupportedClassVersionError, so it gets the newest JDK found when PATH's is too old (and falls
// back to Registry 2.x when there is none; see apicurio.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { javaHome } from '../layout.ts';
import { run } from '../proc.ts';

const jvmRoot = '/usr/lib/jvm';
const majors = new Map<string, Promise<number>>();

/** Major version of a `java` binary (0 when it does not run). */
function major(bin: string): Promise<number> {
  let found = majors.get(bin);
  if (!found) {
    found = run(bin, ['-version'], { cwd: '/' }).then(
      (output) => {
        // `java -version` prints e.g. `openjdk version "17.0.15"`, or "1.8.0_…" for Java 8.
        const m = /version "(\d+)(?:\.(\d+))?/.exec(output);
        return m ? Number(m[1] === '1' ? m[2] : m[1]) : 0;
      },
      () => 0,
    );
    majors.set(bin, found);
  }
  return found;
}

function candidates(): string[] {
  const list = ['java'];
  if (javaHome) list.push(join(javaHome, 'bin', 'java'));
  if (existsSync(jvmRoot)) {
    for (const dir of readdirSync(jvmRoot).sort().reverse()) {
      const bin = join(jvmRoot, dir, 'bin', 'java');
      if (existsSync(bin)) list.push(bin);
    }
  }
  return list;
}

export interface Java {
  bin: string;
  major: number;
}

/** The Java picked, if any, and each runnable java looked at with its major version (for messages). */
export interface JavaSearch {
  java?: Java;
  found: string[];
}

/**
 * The first Java of at least `minMajor`: PATH's `java`, then $JAVA_HOME, then the newest under
 * /usr/lib/jvm; `java` is unset when none is new enough.
 */
export async function findJava(minMajor: number): Promise<JavaSearch> {
  const found: string[] = [];
  let best: Java | undefined;
  for (const bin of candidates()) {
    const version = await major(bin);
    if (version === 0) continue;
    found.push(`${bin} (${version})`);
    if (version < minMajor) continue;
    if (bin === 'java') return { java: { bin, major: version }, found };
    if (!best || version > best.major) best = { bin, major: version };
  }
  return { java: best, found };
}

/** Like `findJava`, but throws naming what was found when none is new enough. */
export async function javaFor(minMajor: number): Promise<Java> {
  const { java, found } = await findJava(minMajor);
  if (java) return java;
  throw new Error(
    `needs Java ${minMajor} or newer; found ${found.length > 0 ? found.join(', ') : 'no java at all'}. ` +
      `Install one (apt-get install openjdk-${minMajor}-jre-headless where Debian has it) or set JAVA_HOME.`,
  );
}
