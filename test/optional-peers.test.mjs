// The main entry must work where neither bullmq nor ioredis is installed: it never loads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('import "concurrent-futures" loads neither bullmq nor ioredis, and works when they cannot be found', { timeout: 30_000 }, () => {
  // A loader hook that makes both packages unresolvable, as on a machine without them.
  const hooks = `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (/^(bullmq|ioredis)(\\/|$)/.test(specifier)) throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`)}`;
  const script = `
    import { register } from 'node:module';
    register(${JSON.stringify(hooks)});
    const cf = await import('concurrent-futures');
    const ex = new cf.AsyncPoolExecutor(2);
    console.log(await ex.submit((a, b) => a + b, 2, 3).result());
    await ex.shutdown();
    // The hook works: the entry that needs them cannot load.
    await import('concurrent-futures/bullmq').then(() => console.log('bullmq entry loaded'), (e) => console.log('bullmq entry:', e.code));
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(out.stdout.trim().split('\n'), ['5', 'bullmq entry: ERR_MODULE_NOT_FOUND']);
});
