/**
 * `concurrent-futures/bullmq`: the same `Executor` across machines, over a
 * BullMQ queue on Redis. Needs the optional peer dependencies `bullmq` and
 * `ioredis`; the package's main entry never loads them.
 * @module concurrent-futures/bullmq
 */
export { BullMQExecutor, type BullMQExecutorOptions } from './executor.js';
export { runWorker, type RunWorkerOptions, type WorkerHandle } from './worker.js';
export type { RedisConnection } from './connection.js';
