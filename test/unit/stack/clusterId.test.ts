// The KRaft cluster id the stack formats its storage with (stack/services/kafka.ts). A random id that
// began with '-' (one in 64) was taken by the format tool's argument parser for a missing id and a new
// option: `kafka-storage: error: argument --cluster-id/-t: expected one argument` failed a CI run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterIdArg, newClusterId } from '../../../stack/services/kafka.ts';

test('a new cluster id is 16 random bytes in URL-safe base64 and never starts with "-"', () => {
  const ids = new Set<string>();
  // With 1 in 64 ids starting with '-', 10,000 draws without the rule would show ~156 of them.
  for (let i = 0; i < 10_000; i++) {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/, id);
    assert.equal(Buffer.from(id, 'base64url').length, 16, id);
    ids.add(id);
  }
  assert.equal(ids.size, 10_000, 'no id repeats');
});

test('the id goes to the format tool as one --cluster-id=<id> argument, whatever it starts with', () => {
  assert.equal(clusterIdArg('qc1Hu_buRN4uwoAX41D7w'), '--cluster-id=qc1Hu_buRN4uwoAX41D7w');
  // An id made before the rule (kept in the stack's cluster-id file) still reaches the tool whole.
  assert.equal(clusterIdArg('-qc1Hu_buRN4uwoAX41D7w'), '--cluster-id=-qc1Hu_buRN4uwoAX41D7w');
});
