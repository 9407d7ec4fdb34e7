// Compile-time checks of concurrent-futures/dashboard: what it takes and what it gives.
import { AsyncPoolExecutor, ThreadPoolExecutor } from 'concurrent-futures';
import { serveDashboard, type Dashboard, type DashboardOptions, type ExecutorState } from 'concurrent-futures/dashboard';

export async function checkDashboard(): Promise<void> {
  await using io = new AsyncPoolExecutor(2);
  await using cpu = new ThreadPoolExecutor(2);
  const one: Dashboard = await serveDashboard(cpu);
  const options: DashboardOptions = { port: 0, host: '127.0.0.1' };
  const both = await serveDashboard({ io, cpu }, options);
  const url: string = both.url;
  void url;
  const state = (await (await fetch(new URL('state.json', one.url))).json()) as { executors: ExecutorState[] };
  const done: number = state.executors[0]!.tasks['fib']!.completed;
  const busy: boolean = state.executors[0]!.workers[0]!.busy;
  void done, busy;
  await Promise.all([one.close(), both.close()]);
  // @ts-expect-error a port is a number
  await serveDashboard(cpu, { port: '8080' });
  // @ts-expect-error only executors
  await serveDashboard({ cpu: 42 });
}
