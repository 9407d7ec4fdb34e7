/**
 * `concurrent-futures/dashboard`: a live page of running executors, as Dask's
 * dashboard is for a cluster. `serveDashboard(executor)` serves, on this
 * machine only unless told otherwise, the task stream (a row per worker, a
 * bar per task), progress per task name, the workers, and throughput and
 * latency over time, from the tracing channel and `stats()`:
 *
 *     const dashboard = await serveDashboard(executor);
 *     console.error(`dashboard: ${dashboard.url}`);
 *     // ... the run ...
 *     await dashboard.close();
 *
 * @module concurrent-futures/dashboard
 */
export { serveDashboard, type Dashboard, type DashboardOptions } from './serve.js';
export type { ExecutorState, TaskCounts } from './board.js';
