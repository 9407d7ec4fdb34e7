// Deno only, run with --allow-read and the --allow-net a check gives, the host as its argument (default 127.0.0.1):
// serveDashboard() either serves (a live message read from its stream) or rejects, naming the flag, rather than
// ending the program.
import { AsyncPoolExecutor } from 'concurrent-futures';
import { serveDashboard } from 'concurrent-futures/dashboard';

const executor = new AsyncPoolExecutor(1);
try {
  const dashboard = await serveDashboard(executor, { host: process.argv[2] ?? '127.0.0.1' });
  const reader = (await fetch(`${dashboard.url}events`)).body.getReader();
  let text = '';
  while (!/^data: /m.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  await dashboard.close();
  console.log('served');
} catch (error) {
  console.log(`${error?.name}: ${error?.message}`);
}
console.log(await executor.submit(async (x) => x + 1, 1).result());
await executor.shutdown();
console.log('the program goes on');
