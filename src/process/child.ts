/** The entry of a process pool's child. */
import { serveChild } from './serve.js';

serveChild();
