// Run by js_test.go under Node (which has WebCrypto): exercises the browser crypto and claim
// building modules directly and prints the results as JSON for the Go side to check.
import * as c from '../assets/js/crypto.js';
import { buildClaims } from '../assets/js/scopes.js';

const input = JSON.parse(process.env.SVA_JS_INPUT);
const out = {};

out.emailHash = await c.emailHash(input.email);

const kdf = { algorithm: 'PBKDF2-SHA256', iterations: input.iterations, hash: 'SHA-256' };
const { authKey, encryptionKey } = await c.deriveKeys(input.password, input.salt, kdf);
out.authKey = authKey;
out.encryptionKeyExtractable = encryptionKey.extractable;

// Wrap a fresh vault key, unwrap it with a re-derived key, and with a wrong password.
const { vaultKey, wrapped } = await c.newVaultKey(encryptionKey);
out.vaultKeyExtractable = vaultKey.extractable;
const again = await c.deriveKeys(input.password, input.salt, kdf);
const reopened = await c.unwrapVaultKey(again.encryptionKey, wrapped);
const item = await c.sealItem(vaultKey, 'item-1', 'email', 'alice@example.com');
out.roundTrip = (await c.openItem(reopened, item)).v;
out.ivLength = c.fromBase64(item.iv).length;
out.paddedLength = c.fromBase64(item.ciphertext).length - 16;
const other = await c.deriveKeys(input.password + 'x', input.salt, kdf);
try {
  await c.unwrapVaultKey(other.encryptionKey, wrapped);
  out.wrongPassword = 'accepted';
} catch (e) {
  out.wrongPassword = e.name;
}
// The item id is authenticated: the same ciphertext under another id must not open.
try {
  await c.openItem(vaultKey, { ...item, id: 'item-2' });
  out.swappedItem = 'opened';
} catch {
  out.swappedItem = 'rejected';
}
// A server asking for a weak KDF is refused before any work.
try {
  await c.deriveKeys(input.password, input.salt, { ...kdf, iterations: 1000 });
  out.weakKdf = 'accepted';
} catch (e) {
  out.weakKdf = e.name;
}
out.strengthShort = c.passwordStrength('short').score;
out.strengthGood = c.passwordStrength('correct horse battery staple').score;

out.claims = buildClaims(input.approved, input.profile);
console.log(JSON.stringify(out));
