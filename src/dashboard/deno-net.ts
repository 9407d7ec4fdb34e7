/**
 * Deno's network permission, asked before listening. Deno refuses a listen it
 * was not allowed from inside a tick of its own (`NotCapable`), where no
 * 'error' listener sees it: the process would die instead of the promise
 * rejecting.
 * @internal
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

interface NetDescriptor {
  name: 'net';
  host: string;
}

interface DenoPermissions {
  querySync(descriptor: NetDescriptor): { state: string };
  request(descriptor: NetDescriptor): Promise<{ state: string }>;
}

/** `host` as a URL spells it: an IPv6 address in brackets. */
export const bracketed = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/**
 * Resolves once this runtime may listen on `host`:`port`; rejects, naming the flag, when Deno says no. A name is
 * checked with the address it resolves to, since Deno's listen checks both.
 */
export async function allowedToListen(host: string, port: number): Promise<void> {
  const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  // Deno before 1.36 has no `querySync`: its listen decides, as before (Deno 2 is what the README names).
  if (typeof permissions?.querySync !== 'function') return;
  // A name first: Deno resolves it only where it may reach it.
  await allowed(permissions, host, port, isIP(host) === 0 ? `${host} and the address it resolves to` : host);
  if (isIP(host) !== 0) return;
  const address = await lookup(host).then(({ address }) => address, () => null);
  // A name that does not resolve fails at the listen, with the lookup's own error.
  if (address !== null) await allowed(permissions, address, port, `${host},${bracketed(address)}`);
}

/** Rejects unless Deno lets this process listen on `name`:`port`; `allow` is what to suggest after `--allow-net=`. */
async function allowed(permissions: DenoPermissions, name: string, port: number, allow: string): Promise<void> {
  const descriptor: NetDescriptor = { name: 'net', host: `${bracketed(name)}:${port}` };
  let { state } = permissions.querySync(descriptor);
  if (state === 'denied') {
    throw new Error(`serveDashboard(): Deno denies listening on ${descriptor.host} (--deny-net, or a prompt answered no)`);
  }
  // Where Deno would ask at the listen itself (a terminal), it asks now; elsewhere the answer is no.
  if (state === 'prompt') ({ state } = await permissions.request(descriptor));
  if (state !== 'granted') {
    throw new Error(`serveDashboard(): Deno does not allow listening on ${descriptor.host}: run with --allow-net (or --allow-net=${allow})`);
  }
}
