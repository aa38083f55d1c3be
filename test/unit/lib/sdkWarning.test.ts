// The AWS SDK's Node-22 notice is off unless the operator set the SDK's own switch (lib/settings.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietSdkNodeWarning } from '../../../lib/settings.ts';

const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

test('the switch is set to true when the operator left it unset or empty', () => {
  for (const env of [{}, { [SWITCH]: '' }] as Record<string, string | undefined>[]) {
    quietSdkNodeWarning(env);
    assert.equal(env[SWITCH], 'true');
  }
});

test("the operator's own value is kept", () => {
  const env: Record<string, string | undefined> = { [SWITCH]: 'false' };
  quietSdkNodeWarning(env);
  assert.equal(env[SWITCH], 'false');
});
