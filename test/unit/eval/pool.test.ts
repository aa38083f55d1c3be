// `npm run eval --workers N`: profiles computed on worker threads and judged on the main thread give
// the records the main thread alone gives (same profiles, audio and seeds, in profile order), and a
// worker's failure reaches the caller with the job it was on. Real PESQ/STOI sidecar, real threads.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ProfileJob, runJobs } from '../../../eval/pool.ts';
import { openQualityJudge, type QualityJudge } from '../../../quality/index.ts';

let judge: QualityJudge;
before(async () => {
  judge = await openQualityJudge({ log: (line) => console.log(`# ${line}`) });
});
after(async () => {
  await judge?.close();
});

// Small on purpose: two profiles of one short call, a search of a few sets, one random set.
const opts: ProfileJob['opts'] = {
  calls: 1,
  segments: 4,
  seed: 21,
  searchBudget: 4,
  randomSets: 1,
  judgedSegments: 1,
};
const jobs: ProfileJob[] = [0, 1].map((index) => ({ seed: 21, index, opts, start: null }));

test('eval pool: two worker threads give the records the main thread gives, in profile order', async () => {
  const ticks: string[] = [];
  const here = await runJobs(jobs, 1, judge, () => {});
  const threaded = await runJobs(jobs, 2, judge, (label) => ticks.push(label));
  assert.deepEqual(threaded, here);
  assert.deepEqual(
    threaded.map((rs) => rs[0]?.profile),
    ['gen-21-0', 'gen-21-1'],
  );
  // One tick per station computed, whichever thread computed it.
  assert.equal(ticks.length, here.flat().length);
  assert.ok(here.flat().some((r) => r.pesq_final !== null && r.rank_points.length > 0));
});

test('eval pool: a job that fails on a worker rejects the run, naming the job and the error', async () => {
  const bad: ProfileJob = { seed: 21, index: 0, opts: { ...opts, segments: 0 }, start: null };
  await assert.rejects(
    runJobs([jobs[0]!, bad], 2, judge, () => {}),
    /eval worker, profile job 1: /,
  );
});
