// Each entry must work where its optional peers are not installed: the main entry never loads bullmq
// nor ioredis, and concurrent-futures/bullmq needs no @opentelemetry/api.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** A loader hook (a data: URL for `register()`) under which the specifiers `pattern` matches cannot be found, as on a machine without them. */
const unresolvable = (pattern) => `data:text/javascript,${encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    if (new RegExp(${JSON.stringify(pattern)}).test(specifier)) throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
    return next(specifier, context);
  }`)}`;

test('import "concurrent-futures" loads neither bullmq nor ioredis, and works when they cannot be found', { timeout: 30_000 }, () => {
  const hooks = unresolvable('^(bullmq|ioredis)(\\/|$)');
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

test('concurrent-futures/bullmq loads without @opentelemetry/api, and its trace context then does nothing', { timeout: 30_000 }, () => {
  // import() goes through the loader hook; the package's require() of the API through the CommonJS resolver.
  const hooks = unresolvable('^@opentelemetry\\/api(\\/|$)');
  const traceContext = new URL('../dist/bullmq/trace-context.js', import.meta.url).href;
  const script = `
    import { register, createRequire } from 'node:module';
    import Module from 'node:module';
    register(${JSON.stringify(hooks)});
    const resolveFilename = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (/^@opentelemetry\\/api(\\/|$)/.test(request)) throw Object.assign(new Error('Cannot find module ' + request), { code: 'MODULE_NOT_FOUND' });
      return resolveFilename.call(this, request, ...rest);
    };
    await import('@opentelemetry/api').then(() => console.log('api imported'), (e) => console.log('import:', e.code));
    try { createRequire(import.meta.url)('@opentelemetry/api'); console.log('api required'); } catch (e) { console.log('require:', e.code); }
    const { BullMQExecutor, runWorker } = await import('concurrent-futures/bullmq');
    console.log(typeof BullMQExecutor, typeof runWorker);
    const { activeTrace, inTrace } = await import(${JSON.stringify(traceContext)});
    console.log(activeTrace() === undefined, inTrace({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, (a, b) => a + b, 2, 3));
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(out.stdout.trim().split('\n'), ['import: ERR_MODULE_NOT_FOUND', 'require: MODULE_NOT_FOUND', 'function function', 'true 5']);
});

test('the CLI\'s worker, where bullmq and ioredis cannot be found, exits 2 saying how to install them', { timeout: 30_000 }, () => {
  const hooks = unresolvable('^(bullmq|ioredis)(\\/|$)');
  const setup = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hooks)});`)}`;
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const tasks = new URL('./fixtures/bullmq-tasks.mjs', import.meta.url).pathname;
  const out = spawnSync(process.execPath, ['--import', setup, cli, 'worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', tasks], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.status, 2, out.stderr);
  assert.equal(out.stdout, '');
  assert.equal(out.stderr, 'concurrent-futures: the BullMQ worker is not available: it needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis)\n');
});
