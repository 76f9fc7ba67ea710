// Browser-side vault cryptography (decision 14; design in docs/consent-ui.md).
//
//   email_hash   = hex(SHA-256(lowercase(trim(email))))
//   master       = PBKDF2-SHA-256(NFC(password), salt, iterations ≥ 600,000) → 256 bits
//   auth key     = HKDF-SHA-256(master, info "sva/v1/auth-key")        → 256 bits, sent to Core
//   encryption   = HKDF-SHA-256(master, info "sva/v1/encryption-key")  → AES-256-GCM key,
//                  non-extractable, never sent, never stored; only wraps/unwraps the vault key
//   vault key    = random AES-256-GCM key, stored at Core wrapped under the encryption key
//   vault item   = AES-256-GCM(vault key, random 12-byte IV, AAD "sva/v1/item:" + id)
//
// PBKDF2 produces one 256-bit block that HKDF splits, rather than asking PBKDF2 for 512 bits and
// cutting them in half: PBKDF2-SHA-256 computes each 256-bit output block separately, so a
// 512-bit request doubles the user's cost while an attacker who only needs to check the auth key
// computes one block. HKDF outputs with distinct labels are independent, so Core learning the
// auth key reveals nothing about the encryption key.
//
// Keys are CryptoKey objects held in module memory by the caller (session.js); raw key bytes
// are never exposed to script except the auth key, which is meant to be sent.

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

/** The only KDF this client speaks (matches Core's kdf.algorithm / kdf.hash). */
export const KDF_ALGORITHM = 'PBKDF2-SHA256';
export const KDF_HASH = 'SHA-256';
/** OWASP 2023 floor for PBKDF2-HMAC-SHA-256; a server asking for fewer is refused. */
export const MIN_ITERATIONS = 600_000;
/** Upper bound so a misconfigured or hostile server cannot freeze the tab. */
export const MAX_ITERATIONS = 10_000_000;

const VAULT_KEY_AAD = utf8.encode('sva/v1/vault-key');
const PAD_BLOCK = 64;

/**
 * The shapes exchanged with Core (generated from openapi/core.yaml; JSDoc only).
 * @typedef {import('./api.js').CoreSchemas['KdfParams']} Kdf
 * @typedef {import('./api.js').CoreSchemas['Sealed']} Sealed  base64 ciphertext (with GCM tag) and IV
 * @typedef {import('./api.js').CoreSchemas['VaultItem']} Item
 */

/** WrongPasswordError means the vault key did not unwrap: wrong master password (or tampering). */
export class WrongPasswordError extends Error {
  constructor() {
    super('The master password is not correct.');
    this.name = 'WrongPasswordError';
  }
}

/** UnsafeKdfError means the server asked for KDF parameters this client refuses to use. */
export class UnsafeKdfError extends Error {
  constructor() {
    super('SVA sent key-derivation settings this page will not use. Please contact support.');
    this.name = 'UnsafeKdfError';
  }
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} standard base64 with padding
 */
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * @param {string} b64 standard base64
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * @param {number} n
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * emailHash is how Core knows an account without learning the address.
 * @param {string} email
 * @returns {Promise<string>} lowercase hex SHA-256
 */
export async function emailHash(email) {
  const digest = await subtle.digest('SHA-256', utf8.encode(email.trim().toLowerCase()));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * newKdf returns the parameters for a new account: Core's current policy when it is at least the
 * floor, else the floor.
 * @param {Partial<Kdf> | undefined} policy kdf from get-salt
 * @returns {Kdf}
 */
export function newKdf(policy) {
  const it = policy?.iterations;
  const iterations = Number.isInteger(it) && /** @type {number} */ (it) >= MIN_ITERATIONS && /** @type {number} */ (it) <= MAX_ITERATIONS ? /** @type {number} */ (it) : MIN_ITERATIONS;
  return { algorithm: KDF_ALGORITHM, iterations, hash: KDF_HASH };
}

/**
 * checkKdf refuses parameters that would weaken the derivation (a downgrade by the server would
 * make the auth key it holds cheaper to brute-force) or that would hang the page.
 * @param {Kdf} kdf
 */
export function checkKdf(kdf) {
  if (!kdf || kdf.algorithm !== KDF_ALGORITHM || kdf.hash !== KDF_HASH ||
      !Number.isInteger(kdf.iterations) || kdf.iterations < MIN_ITERATIONS || kdf.iterations > MAX_ITERATIONS) {
    throw new UnsafeKdfError();
  }
}

/**
 * deriveKeys turns the master password into the auth key (to send) and the encryption key
 * (to keep in memory). Takes ~0.1–1 s by design.
 * @param {string} password
 * @param {string} saltB64
 * @param {Kdf} kdf
 * @returns {Promise<{authKey: string, encryptionKey: CryptoKey}>}
 */
export async function deriveKeys(password, saltB64, kdf) {
  checkKdf(kdf);
  // NFC so the same password typed on different systems gives the same bytes.
  const pw = await subtle.importKey('raw', utf8.encode(password.normalize('NFC')), 'PBKDF2', false, ['deriveBits']);
  const master = new Uint8Array(await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: fromBase64(saltB64), iterations: kdf.iterations }, pw, 256));
  const hkdf = await subtle.importKey('raw', master, 'HKDF', false, ['deriveBits', 'deriveKey']);
  master.fill(0);
  const info = (/** @type {string} */ label) => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(label) });
  const authBits = new Uint8Array(await subtle.deriveBits(info('sva/v1/auth-key'), hkdf, 256));
  const encryptionKey = await subtle.deriveKey(info('sva/v1/encryption-key'), hkdf,
    { name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey']);
  const authKey = toBase64(authBits);
  authBits.fill(0);
  return { authKey, encryptionKey };
}

/**
 * newVaultKey creates a random vault key and its wrapped form for Core. The key returned for use
 * is non-extractable: the only copy of its bytes that ever exists outside WebCrypto is the
 * wrapped one.
 * @param {CryptoKey} encryptionKey
 * @returns {Promise<{vaultKey: CryptoKey, wrapped: Sealed}>}
 */
export async function newVaultKey(encryptionKey) {
  const fresh = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const iv = randomBytes(12);
  const ct = await subtle.wrapKey('raw', fresh, encryptionKey, { name: 'AES-GCM', iv, additionalData: VAULT_KEY_AAD });
  const wrapped = { ciphertext: toBase64(new Uint8Array(ct)), iv: toBase64(iv) };
  return { vaultKey: await unwrapVaultKey(encryptionKey, wrapped), wrapped };
}

/**
 * unwrapVaultKey opens the wrapped vault key; a wrong password fails GCM authentication.
 * @param {CryptoKey} encryptionKey
 * @param {Sealed} wrapped
 * @returns {Promise<CryptoKey>} non-extractable AES-GCM key
 */
export async function unwrapVaultKey(encryptionKey, wrapped) {
  try {
    return await subtle.unwrapKey('raw', fromBase64(wrapped.ciphertext), encryptionKey,
      { name: 'AES-GCM', iv: fromBase64(wrapped.iv), additionalData: VAULT_KEY_AAD },
      { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  } catch {
    throw new WrongPasswordError();
  }
}

/**
 * sealItem encrypts one vault field. The plaintext is padded to a multiple of 64 bytes so Core
 * sees only coarse lengths, and the item id is authenticated (AAD) so Core cannot swap items.
 * @param {CryptoKey} vaultKey
 * @param {string} id
 * @param {string} field
 * @param {unknown} value
 * @returns {Promise<Item>}
 */
export async function sealItem(vaultKey, id, field, value) {
  const json = JSON.stringify({ k: field, v: value });
  const padded = json + ' '.repeat((PAD_BLOCK - (utf8.encode(json).length % PAD_BLOCK)) % PAD_BLOCK);
  const iv = randomBytes(12);
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8.encode('sva/v1/item:' + id) },
    vaultKey, utf8.encode(padded));
  return { id, ciphertext: toBase64(new Uint8Array(ct)), iv: toBase64(iv) };
}

/**
 * openItem decrypts one vault item.
 * @param {CryptoKey} vaultKey
 * @param {Item} item
 * @returns {Promise<{k: string, v: unknown}>}
 */
export async function openItem(vaultKey, item) {
  const pt = await subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64(item.iv), additionalData: utf8.encode('sva/v1/item:' + item.id) },
    vaultKey, fromBase64(item.ciphertext));
  return JSON.parse(new TextDecoder().decode(pt));
}

/**
 * passwordStrength gives a rough strength estimate for the sign-up hint. It is advice, not a
 * gate beyond the minimum length: the KDF cost is what protects a decent password.
 * @param {string} pw
 * @param {string} [email]
 * @returns {{score: number, label: string, hint: string}} score 0 (unusable) … 4 (strong)
 */
export function passwordStrength(pw, email = '') {
  if (pw.length < 12) {
    return { score: 0, label: 'Too short', hint: 'Use at least 12 characters. A few random words work well.' };
  }
  const lower = pw.toLowerCase();
  const local = email.trim().toLowerCase().split('@')[0];
  const common = ['password', 'qwerty', '123456', 'letmein', 'welcome', 'iloveyou', 'admin', 'sva'];
  let pool = 0;
  if (/[a-z]/.test(pw)) pool += 26;
  if (/[A-Z]/.test(pw)) pool += 26;
  if (/[0-9]/.test(pw)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(pw)) pool += 33;
  const unique = new Set(pw).size;
  // Repeated characters add little: count each distinct character fully, repeats at a quarter.
  let bits = Math.log2(Math.max(pool, 2)) * (unique + (pw.length - unique) / 4);
  if (common.some((w) => lower.includes(w)) || (local.length >= 3 && lower.includes(local))) bits -= 25;
  if (bits < 45) return { score: 1, label: 'Weak', hint: 'Easy to guess. Add more words or characters, and avoid your email or common words.' };
  if (bits < 65) return { score: 2, label: 'Fair', hint: 'Could be stronger: add another word.' };
  if (bits < 85) return { score: 3, label: 'Good', hint: 'Good. Longer is even better.' };
  return { score: 4, label: 'Strong', hint: 'Strong password.' };
}
