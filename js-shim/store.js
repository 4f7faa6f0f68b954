'use strict';
// Shared state for the backend module across processes: the store contract, a Redis
// implementation over the app's own node-redis client, an in-memory one, and the
// bounded calls the backend makes through them. Everything written to a store is
// already sealed by the core (sealCacheEntry) or is a random lock owner: a store holds
// no plaintext credential.
//
// The contract (every method returns a promise; keys and values are strings):
//   get(key)                       -> the value, or null
//   set(key, value, ttlMs)         -> stores it for ttlMs milliseconds
//   delete(key)                    -> removes it
//   acquire(key, owner, ttlMs)     -> true when the key was absent and now holds owner
//                                     for ttlMs (Redis: SET key owner NX PX ttlMs)
//   release(key, owner)            -> removes the key only if it still holds owner, so a
//                                     holder whose lock expired never frees another's
//                                     (Redis documents this compare-and-delete script
//                                     with SET NX PX for single-instance locks)

/** Deletes KEYS[1] only while it holds ARGV[1]: the lock release of the Redis docs. */
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * The store contract over a connected node-redis client (`redis` v4 or later, whose
 * `set` takes `{ NX, PX }` and `eval` takes `{ keys, arguments }`). Create the client
 * with `disableOfflineQueue: true` so that commands fail at once while Redis is away,
 * and give it an `error` listener; the backend bounds every call anyway.
 * @param {object} client a node-redis client
 * @param {{ prefix?: string }} [options] key prefix, default "tokenseal:"
 */
function redisStore(client, { prefix = 'tokenseal:' } = {}) {
  if (!client || typeof client.get !== 'function' || typeof client.set !== 'function' || typeof client.eval !== 'function') {
    throw new TypeError('redisStore needs a node-redis client (get, set, eval)');
  }
  const k = (key) => prefix + key;
  return {
    get: (key) => client.get(k(key)),
    set: async (key, value, ttlMs) => { await client.set(k(key), value, { PX: Math.max(1, Math.floor(ttlMs)) }); },
    delete: async (key) => { await client.del(k(key)); },
    acquire: async (key, owner, ttlMs) => (await client.set(k(key), owner, { NX: true, PX: Math.max(1, Math.floor(ttlMs)) })) === 'OK',
    release: async (key, owner) => { await client.eval(RELEASE_SCRIPT, { keys: [k(key)], arguments: [owner] }); },
  };
}

/**
 * The store contract in this process's memory: for tests, and to see the contract
 * whole. It shares nothing between processes.
 * @param {{ now?: () => number }} [options] clock in milliseconds
 */
function memoryStore({ now = () => Date.now() } = {}) {
  const values = new Map(); // key -> { value, until }
  const live = (key) => {
    const entry = values.get(key);
    if (entry && entry.until <= now()) values.delete(key);
    return values.get(key);
  };
  return {
    async get(key) { const entry = live(key); return entry ? entry.value : null; },
    async set(key, value, ttlMs) { values.set(key, { value, until: now() + ttlMs }); },
    async delete(key) { values.delete(key); },
    async acquire(key, owner, ttlMs) {
      if (live(key)) return false;
      values.set(key, { value: owner, until: now() + ttlMs });
      return true;
    },
    async release(key, owner) { if (live(key)?.value === owner) values.delete(key); },
  };
}

/**
 * Calls one store method, never longer than `timeoutMs`, never rejecting: resolves to
 * `{ ok: true, value }` or `{ ok: false }` (a failure or a timeout).
 */
async function bounded(run, timeoutMs) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve({ ok: false }), timeoutMs); });
  try {
    return await Promise.race([
      Promise.resolve().then(run).then((value) => ({ ok: true, value }), () => ({ ok: false })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const CONTRACT = ['get', 'set', 'delete', 'acquire', 'release'];

/** True when `store` has every method of the contract. */
function isStore(store) {
  return store !== null && typeof store === 'object' && CONTRACT.every((name) => typeof store[name] === 'function');
}

module.exports = { redisStore, memoryStore, bounded, isStore };
