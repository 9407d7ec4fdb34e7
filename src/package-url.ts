/**
 * This module's URL, at the root of the package's files: the worker entry files are found from
 * it, and bundle.ts compares it with its own to tell a bundle (where both are the bundle's, or
 * missing in CommonJS output). A module of its own for that.
 * @internal
 */
export const packageUrl: string | undefined = import.meta.url;
