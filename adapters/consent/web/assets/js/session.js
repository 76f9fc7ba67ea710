// The signed-in user's in-memory state. Keys live only here, in module scope: nothing is put in
// localStorage, sessionStorage, IndexedDB or cookies (checklist 47). A reload forgets the keys,
// and the user unlocks the vault again with the master password; the Core session itself
// survives in the server's HttpOnly cookie.

import { api } from './api.js';
import { deriveKeys, emailHash, newKdf, newVaultKey, openItem, randomBytes, sealItem, toBase64, unwrapVaultKey } from './crypto.js';

/**
 * @typedef {import('./crypto.js').Kdf} Kdf
 * @typedef {import('./crypto.js').Sealed} Sealed
 * @typedef {import('./scopes.js').VaultValue} VaultValue
 * @typedef {import('./api.js').CoreSchemas} Core
 * @typedef {Pick<Core['SessionOutputBody'], 'user_id' | 'expires_at'>} SignedIn register/login
 *   as the server relays them: the session token stays in its HttpOnly cookie
 */

export const state = {
  /** @type {string | null} Core user id; null when not signed in */
  userId: null,
  /** @type {CryptoKey | null} non-extractable vault key; null while locked */
  vaultKey: null,
  /** @type {number} vault version for optimistic concurrency */
  version: 0,
  /** @type {Sealed | null} wrapped vault key as stored at Core (re-sent unchanged on save) */
  wrapped: null,
  /** @type {Record<string, VaultValue>} decrypted vault fields */
  profile: {},
  /** @type {Map<string, string>} field → vault item id, so a field keeps its id across saves */
  itemIds: new Map(),
  /** @type {string} when the vault was last saved (ISO) */
  updatedAt: '',
};

/** lock forgets every key and decrypted value. */
export function lock() {
  state.vaultKey = null;
  state.wrapped = null;
  state.profile = {};
  state.itemIds = new Map();
  state.version = 0;
  state.updatedAt = '';
}

/** signedOut forgets everything about the user. */
export function signedOut() {
  lock();
  state.userId = null;
}

/** @returns {boolean} */
export function isUnlocked() {
  return state.vaultKey !== null;
}

/**
 * refreshSession asks the server who is signed in (the cookie is invisible to script). Being
 * signed out is an ordinary answer ({signed_in: false}), so signed-out pages log no failed request.
 * @returns {Promise<void>}
 */
export async function refreshSession() {
  /** @type {{signed_in: boolean, user_id?: string, created_at?: string}} */
  const s = await api('GET', '/session');
  if (!s.signed_in || !s.user_id) { signedOut(); return; }
  if (state.userId !== s.user_id) lock();
  state.userId = s.user_id;
}

/**
 * openVault fetches the vault and decrypts it with a key derived this session.
 * @param {(vault: Core['VaultOutputBody']) => Promise<CryptoKey>} encryptionKeyFor derives the encryption key from the vault's salt/kdf
 */
async function openVault(encryptionKeyFor) {
  /** @type {Core['VaultOutputBody']} */
  const vault = await api('GET', '/vault');
  const encKey = await encryptionKeyFor(vault);
  const vaultKey = await unwrapVaultKey(encKey, vault.wrapped_vault_key);
  /** @type {Record<string, VaultValue>} */
  const profile = {};
  const itemIds = new Map();
  for (const item of vault.items ?? []) {
    const { k, v } = await openItem(vaultKey, item);
    profile[k] = /** @type {VaultValue} */ (v);
    itemIds.set(k, item.id);
  }
  state.vaultKey = vaultKey;
  state.wrapped = vault.wrapped_vault_key;
  state.version = vault.version;
  state.profile = profile;
  state.itemIds = itemIds;
  state.updatedAt = vault.updated_at ?? '';
}

/**
 * signUp creates the account: derive keys, make and wrap a vault key, register.
 * @param {string} email
 * @param {string} password
 */
export async function signUp(email, password) {
  const hash = await emailHash(email);
  // Core's get-salt tells us its current KDF policy; the salt itself is ours, fresh and random,
  // so a server cannot hand every user the same salt to pool its guessing.
  /** @type {Core['SaltOutputBody']} */
  const policy = await api('POST', '/auth/salt', /** @satisfies {Core['GetSaltInputBody']} */ ({ email_hash: hash }));
  const kdf = newKdf(policy?.kdf);
  const salt = toBase64(randomBytes(16));
  const { authKey, encryptionKey } = await deriveKeys(password, salt, kdf);
  const { wrapped } = await newVaultKey(encryptionKey);
  /** @type {SignedIn} */
  const reg = await api('POST', '/auth/register', /** @satisfies {Core['RegisterInputBody']} */ ({
    email_hash: hash, salt, kdf, auth_key: authKey, wrapped_vault_key: wrapped,
  }));
  state.userId = reg.user_id;
  await openVault(async () => encryptionKey);
  // Start the vault with the address the user signed up with; they can change it.
  if (state.profile.email === undefined) {
    state.profile = { ...state.profile, email: email.trim() };
    await saveVault(state.profile);
  }
}

/**
 * signIn proves the password to Core (as the derived auth key) and opens the vault.
 * @param {string} email
 * @param {string} password
 */
export async function signIn(email, password) {
  const hash = await emailHash(email);
  const { salt, kdf } = /** @type {Core['SaltOutputBody']} */ (
    await api('POST', '/auth/salt', /** @satisfies {Core['GetSaltInputBody']} */ ({ email_hash: hash })));
  const { authKey, encryptionKey } = await deriveKeys(password, salt, kdf);
  /** @type {SignedIn} */
  const res = await api('POST', '/auth/login', /** @satisfies {Core['LoginInputBody']} */ ({ email_hash: hash, auth_key: authKey }));
  if (state.userId !== res.user_id) lock();
  state.userId = res.user_id;
  await openVault(async () => encryptionKey);
}

/**
 * unlock re-derives the encryption key after a reload (session still valid, keys forgotten).
 * The vault carries its own salt and KDF parameters, so no email is needed.
 * @param {string} password
 */
export async function unlock(password) {
  await openVault(async (vault) => (await deriveKeys(password, vault.salt, vault.kdf)).encryptionKey);
}

/**
 * saveVault encrypts every non-empty field and replaces the vault at Core. A 409 means another
 * tab or device saved first; the caller tells the user to reload.
 * @param {Record<string, VaultValue>} profile
 */
export async function saveVault(profile) {
  const key = state.vaultKey;
  if (!key || !state.wrapped) throw new Error('vault is locked');
  const items = [];
  const ids = new Map(state.itemIds);
  for (const [field, value] of Object.entries(profile)) {
    if (value === undefined) continue;
    let id = ids.get(field);
    if (!id) {
      id = crypto.randomUUID();
      ids.set(field, id);
    }
    items.push(await sealItem(key, id, field, value));
  }
  /** @type {Core['VersionOutputBody']} */
  const res = await api('PUT', '/vault',
    /** @satisfies {Core['ReplaceVaultInputBody']} */ ({ expected_version: state.version, wrapped_vault_key: state.wrapped, items }));
  state.version = res.version;
  state.profile = Object.fromEntries(Object.entries(profile).filter(([, v]) => v !== undefined));
  state.itemIds = new Map([...ids].filter(([f]) => f in state.profile));
  state.updatedAt = new Date().toISOString();
}

/** signOut ends the session at Core (the server drops the cookie either way) and forgets keys. */
export async function signOut() {
  try {
    await api('POST', '/auth/logout');
  } finally {
    signedOut();
  }
}
