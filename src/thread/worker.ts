/** The entry of a pool's worker thread. */
import { workerData } from 'node:worker_threads';
import { serveThread } from './serve.js';
import type { WorkerConfig } from '../pool/protocol.js';

serveThread(workerData as WorkerConfig);
