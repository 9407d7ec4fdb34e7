// The API reference: TypeDoc builds it from the doc comments, and fails on an
// export (or an export's member) that has none, so `npm test` does too.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('TypeDoc builds the API reference with every export documented', { timeout: 120_000 }, () => {
  const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8'));
  assert.equal(config.validation.notDocumented, true);
  assert.equal(config.treatValidationWarningsAsErrors, true);
  const out = mkdtempSync(join(tmpdir(), 'cf-docs-'));
  try {
    const run = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 110_000,
    });
    assert.equal(run.status, 0, `typedoc failed:\n${run.stdout}\n${run.stderr}`);
    assert.doesNotMatch(run.stdout + run.stderr, /warning|error/i);
    for (const page of ['index.html', 'classes/ThreadPoolExecutor.html', 'classes/Future.html', 'functions/defineTasks.html']) {
      assert.ok(existsSync(join(out, page)), `${page} is built`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
