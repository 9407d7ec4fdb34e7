/**
 * Deno's network permission, asked before listening. Deno refuses a listen it
 * was not allowed from inside a tick of its own (`NotCapable`), where no
 * 'error' listener sees it: the process would die instead of the promise
 * rejecting.
 * @internal
 */

interface DenoPermissions {
  querySync(descriptor: { name: 'net'; host: string }): { state: string };
  request(descriptor: { name: 'net'; host: string }): Promise<{ state: string }>;
}

/** Resolves once this runtime may listen on `host`:`port`; rejects, naming the flag, when Deno says no. */
export async function allowedToListen(host: string, port: number): Promise<void> {
  const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  if (permissions === undefined) return;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const descriptor = { name: 'net', host: address } as const;
  let { state } = permissions.querySync(descriptor);
  // Where Deno would ask at the listen itself (a terminal), it asks now; elsewhere the answer is no.
  if (state === 'prompt') ({ state } = await permissions.request(descriptor));
  if (state !== 'granted') {
    throw new Error(`serveDashboard(): Deno does not allow listening on ${address}: run with --allow-net (or --allow-net=${host.includes(':') ? `[${host}]` : host})`);
  }
}
