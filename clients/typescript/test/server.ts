// What the tests that run against a real server share (FM_TARGET, set by
// scripts/with-test-server; test/run.sh runs them from the installed package).
import { test, TestContext } from 'node:test';
import { Code, isCode } from '@flowmonkey/store-client';

const fromEnv = process.env.FM_TARGET;
if (!fromEnv) throw new Error('FM_TARGET is not set: run via test/run.sh');
export const target: string = fromEnv;

// A service or operation the server under test does not implement yet (UNIMPLEMENTED) is
// reported as a skip with the server's message; FM_TS_STRICT=1 (test/run.sh's default) makes
// it a failure.
const strict = process.env.FM_TS_STRICT === '1';
type Body = (t: TestContext) => Promise<void>;
export function it(name: string, body: Body): void {
  test(name, async (t) => {
    try {
      await body(t);
    } catch (error) {
      if (strict || !isCode(error, Code.UNIMPLEMENTED)) throw error;
      t.skip(`server: ${(error as Error).message}`);
    }
  });
}
