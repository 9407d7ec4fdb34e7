// The tasks of the BullMQ benchmark, as a task module for the workers.
import { defineTasks } from 'concurrent-futures';

export const tasks = defineTasks(import.meta.url, {
  tiny: (x) => x + 1,
});
