// The function of bench/cli.mjs: `x => x`, as a module export for the command line.
export const identity = (x) => x;
