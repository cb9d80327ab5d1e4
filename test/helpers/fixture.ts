/**
 * Contract suites run every test on a fresh fixture and always clean it up, pass or fail; this is that
 * wrapper once, shared by the host and storage contracts.
 */
import { it } from 'node:test';

/** Returns an `it` whose body receives a new fixture from `makeFixture`, cleaned up afterwards. */
export function fixtureTest<F extends { cleanup(): Promise<void> }>(makeFixture: () => Promise<F>): (title: string, body: (fixture: F) => Promise<void>) => void {
  return (title, body) =>
    it(title, async () => {
      const fixture = await makeFixture();
      try {
        await body(fixture);
      } finally {
        await fixture.cleanup();
      }
    });
}
