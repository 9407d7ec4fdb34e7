/**
 * The Redis connections of an executor or a worker, made from what the user
 * gave: a `redis://`/`rediss://` URL, ioredis options, or an ioredis client.
 * Options go to ioredis unchanged (password, TLS, sentinels); the only thing
 * ever added is `maxRetriesPerRequest: null` on connections that block, as
 * BullMQ requires. Nothing here prints or embeds a connection's password.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** What `connection` may be. */
export type RedisConnection = string | RedisOptions | Redis;

/** Checks `connection` at construction, with an error that names what is wrong and never echoes a secret. @internal */
export function checkConnection(connection: unknown, where: string): asserts connection is RedisConnection {
  if (typeof connection === 'string') {
    if (!/^rediss?:\/\//i.test(connection)) throw new TypeError(`${where}: connection must be a redis:// or rediss:// URL, ioredis options or an ioredis client`);
    return;
  }
  if (connection === null || typeof connection !== 'object') {
    throw new TypeError(`${where}: connection is required: a redis:// or rediss:// URL, ioredis options or an ioredis client`);
  }
}

/**
 * A new client of our own. From a client the user made we duplicate it (same
 * options, its own socket); a URL or options object is handed to ioredis as is.
 * @internal
 */
export function ownClient(connection: RedisConnection, blocking: boolean): Redis {
  const extra: RedisOptions = blocking ? { maxRetriesPerRequest: null } : {};
  if (connection instanceof Redis) return connection.duplicate(extra);
  if (typeof connection === 'string') return new Redis(connection, extra);
  return new Redis({ ...connection, ...extra });
}

/** Lets the process exit while only this client's socket is open (or holds it open again). @internal */
export function refClient(client: Redis, ref: boolean): void {
  const stream = (client as unknown as { stream?: { ref?(): void; unref?(): void } }).stream;
  if (ref) stream?.ref?.();
  else stream?.unref?.();
}

/**
 * Closes a client for good, its queued commands rejected. Its socket may have
 * just failed a TLS handshake (a certificate not trusted): ending it then draws
 * a second error from the server, and ioredis, which listens for one error per
 * socket, would leave that one uncaught and end the process.
 * @internal
 */
export function closeClient(client: Redis): void {
  if (client.status === 'end') return;
  (client as unknown as { stream?: { on?(event: 'error', listener: () => void): void } }).stream?.on?.('error', () => {});
  // Waiting to retry, a client has no socket whose close would end it: ioredis' disconnect() would stop the
  // retries but leave it 'reconnecting' for good, every command queued on it pending forever (and hold the
  // process for 2 s on the dead socket). A client in 'wait' it ends at once, rejecting what is queued.
  if (client.status === 'reconnecting') client.status = 'wait';
  client.disconnect();
}

/** Node's codes for a server certificate that is not trusted: waiting does not change them. */
const CERTIFICATE_REFUSED = /^(?:ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|CERT_SIGNATURE_FAILURE|HOSTNAME_MISMATCH)$/;

/** Why waiting for Redis cannot help after this error of a client not connected yet; null when it may. */
function refusal(error: Error & { code?: unknown }): string | null {
  if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(error?.message ?? '')) return 'Redis refused the login';
  if (typeof error?.code === 'string' && CERTIFICATE_REFUSED.test(error.code)) return `Redis's TLS certificate is not trusted (${error.code})`;
  // Deno without --allow-net: its message names the flag, and asking again gets the same answer.
  if (error?.name === 'NotCapable') return 'Deno does not allow it';
  return null;
}

/**
 * Follows a client until it first reaches Redis. A refused login or a server
 * certificate not trusted fails it at once (retrying cannot help); a server
 * that cannot be reached (a port closed, a host unknown) is waited for, as
 * ioredis does, until `giveUp()`: then the last failed attempt fails it, or
 * the next one when none has failed yet. It fails at most once, and never
 * once Redis has answered.
 * @internal
 */
export class FirstConnect {
  private last: (Error & { code?: unknown }) | null = null;
  private givenUp = false;
  private readonly onError = (error: Error & { code?: unknown }): void => {
    this.last = error;
    const why = refusal(error);
    if (why !== null || this.givenUp) this.fail(why ?? 'Redis could not be reached');
  };
  private readonly onReady = (): void => {
    this.stop();
    this.reached();
  };

  constructor(
    private readonly client: Redis,
    private readonly where: string,
    private readonly failed: (why: Error) => void,
    private readonly reached: () => void = () => {},
  ) {
    client.once('ready', this.onReady);
    client.on('error', this.onError);
  }

  giveUp(): void {
    this.givenUp = true;
    if (this.last !== null) this.fail('Redis could not be reached');
  }

  private fail(why: string): void {
    const error = this.last!;
    this.stop();
    // Neither ioredis' nor Node's message names a password; nothing of the connection options is added here.
    this.failed(new Error(`${this.where}: ${why}: ${error.message || String(error.code)}`));
  }

  private stop(): void {
    this.client.off('ready', this.onReady);
    this.client.off('error', this.onError);
    this.last = null;
  }
}

/**
 * Resolves once the client is connected; rejects, the client closed, when
 * Redis refuses it for good (FirstConnect).
 * @internal
 */
export function untilReady(client: Redis, where: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    new FirstConnect(client, where, (why) => {
      closeClient(client);
      reject(why);
    }, resolve);
  });
}
