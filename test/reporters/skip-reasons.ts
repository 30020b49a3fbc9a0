// A vitest reporter that records why each skipped test was skipped (the note given to
// `ctx.skip(condition, note)`), for the summary of `npm test` (scripts/test.mjs). A skip without a
// note is recorded as such, so it shows up in the summary as unexplained.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Reporter, TestCase, TestModule } from 'vitest/node';

export default class SkipReasons implements Reporter {
  private readonly skipped: { name: string; file: string; reason: string | null }[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const r = testCase.result();
    if (r.state !== 'skipped') return;
    this.skipped.push({
      name: testCase.fullName,
      file: testCase.module.moduleId,
      reason: r.note ?? null,
    });
  }

  onTestRunEnd(_modules: readonly TestModule[]): void {
    const dir = join(process.cwd(), 'test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'skip-reasons.json'), `${JSON.stringify(this.skipped, null, 2)}\n`);
  }
}
