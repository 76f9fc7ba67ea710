// Scope catalogue and claim building for the consent screen.
//
// CATALOGUE mirrors domain/scope/scope.go (display name, default description and the
// claim keys each scope permits — decision 6). catalogue_test.go parses the JSON between the
// markers below and fails if it drifts from the Go table, so Core's attestation and this page can
// never disagree about what a scope lets an app see.
//
// "sources" is this UI's own choice: for each scope, which claim key is filled from which vault
// field ([claimKey, vaultField]). Every claimKey must be one of the scope's permitted "claims";
// the same test checks that too. openid shares no vault data: the data token's `sub` is set by
// Core from the signed-in account.

/**
 * @typedef {object} ScopeEntry
 * @property {string} name        display name
 * @property {string} description default text when the client gave none
 * @property {string[]} claims    claim keys the scope permits
 * @property {[string, string][]} sources [claimKey, vaultField] pairs this UI shares
 */

// BEGIN CATALOGUE
/** @type {Record<string, ScopeEntry>} */
export const CATALOGUE = {
  "openid": {"claims":[],"description":"Verify your identity","name":"Sign-in identity","sources":[]},
  "email": {"claims":["email"],"description":"Access your email address","name":"Email address","sources":[["email","email"]]},
  "profile": {"claims":["full_name","name","given_name","family_name"],"description":"Access your profile information (name)","name":"Profile","sources":[["name","full_name"],["given_name","given_name"],["family_name","family_name"]]},
  "name": {"claims":["full_name","name","given_name","family_name","first_name","last_name"],"description":"Your full name","name":"Name","sources":[["name","full_name"],["given_name","given_name"],["family_name","family_name"]]},
  "username": {"claims":["username"],"description":"Your username","name":"Username","sources":[["username","username"]]},
  "bio": {"claims":["bio"],"description":"Your bio","name":"Bio","sources":[["bio","bio"]]},
  "pronoun": {"claims":["pronoun","pronouns"],"description":"Your pronouns","name":"Pronouns","sources":[["pronouns","pronouns"]]},
  "dob": {"claims":["dob","date_of_birth","birthdate"],"description":"Your date of birth","name":"Date of Birth","sources":[["dob","dob"]]},
  "images": {"claims":["profile_image","banner_image","images"],"description":"Your profile images","name":"Profile Images","sources":[["profile_image","profile_image"]]},
  "skills": {"claims":["skills"],"description":"Your skills","name":"Skills","sources":[["skills","skills"]]},
  "hobby": {"claims":["hobbies","hobby"],"description":"Your hobbies","name":"Hobbies","sources":[["hobbies","hobbies"]]},
  "address": {"claims":["address","address_line1","address_line2","city","state","postal_code","country"],"description":"Your postal address","name":"Address","sources":[["address_line1","address_line1"],["address_line2","address_line2"],["city","city"],["state","state"],["postal_code","postal_code"],["country","country"]]},
  "social": {"claims":["social_links","social"],"description":"Your social links","name":"Social Links","sources":[["social_links","social_links"]]},
  "phone": {"claims":["phone","phone_number"],"description":"Your phone number","name":"Phone number","sources":[["phone_number","phone"]]},
  "pan_card": {"claims":["pan_card","pan"],"description":"Your PAN card","name":"PAN Card","sources":[["pan_card","pan_card"]]},
  "crypto_wallet": {"claims":["crypto_wallet","wallet_address"],"description":"Your crypto wallet addresses","name":"Crypto Wallet","sources":[["crypto_wallet","crypto_wallet"]]},
  "education": {"claims":["education"],"description":"Your education","name":"Education","sources":[["education","education"]]},
  "employment": {"claims":["employment"],"description":"Your employment","name":"Employment","sources":[["employment","employment"]]},
  "professional_license": {"claims":["professional_license","license"],"description":"Your professional license","name":"Professional License","sources":[["professional_license","professional_license"]]},
  "aadhar": {"claims":["aadhar","aadhaar"],"description":"Your Aadhaar card","name":"Aadhaar Card","sources":[["aadhaar","aadhaar"]]},
  "driving_license": {"claims":["driving_license","driving_licence"],"description":"Your driving license","name":"Driving License","sources":[["driving_license","driving_license"]]},
  "voter_id": {"claims":["voter_id","voterid"],"description":"Your voter ID","name":"Voter ID","sources":[["voter_id","voter_id"]]},
  "passport": {"claims":["passport"],"description":"Your passport","name":"Passport","sources":[["passport","passport"]]}
};
// END CATALOGUE

/**
 * A vault value is a string, a list of strings, or a map of label → string (social links).
 * @typedef {string | string[] | Record<string, string>} VaultValue
 */

/**
 * isEmpty reports whether a vault value has nothing to share.
 * @param {VaultValue | undefined | null} v
 * @returns {boolean}
 */
export function isEmpty(v) {
  if (v == null) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (Array.isArray(v)) return v.length === 0;
  return Object.keys(v).length === 0;
}

/**
 * claimsForScope lists the claims one scope would share from the vault, skipping empty fields.
 * @param {string} scope
 * @param {Record<string, VaultValue>} profile decrypted vault fields
 * @returns {[string, VaultValue, string][]} [claimKey, value, vaultField] triples
 */
export function claimsForScope(scope, profile) {
  const entry = Object.hasOwn(CATALOGUE, scope) ? CATALOGUE[scope] : undefined;
  if (!entry) return [];
  /** @type {[string, VaultValue, string][]} */
  const out = [];
  for (const [claim, field] of entry.sources) {
    // Defence in depth: never emit a key the catalogue does not permit for this scope,
    // even if "sources" were edited carelessly. Core would refuse to sign it anyway.
    if (!entry.claims.includes(claim)) continue;
    const v = Object.hasOwn(profile, field) ? profile[field] : undefined;
    if (!isEmpty(v)) out.push([claim, /** @type {VaultValue} */ (v), field]);
  }
  return out;
}

/**
 * buildClaims assembles the claims object sent for attestation: only the permitted claim keys of
 * the approved scopes, filled from the decrypted vault. Nothing else of the vault leaves.
 * @param {string[]} approvedScopes
 * @param {Record<string, VaultValue>} profile
 * @returns {Record<string, VaultValue>}
 */
export function buildClaims(approvedScopes, profile) {
  /** @type {Record<string, VaultValue>} */
  const claims = {};
  for (const scope of approvedScopes) {
    for (const [k, v] of claimsForScope(scope, profile)) claims[k] = v;
  }
  return claims;
}

/**
 * scopeInfo returns what the consent screen shows for a scope: the provider's details when it
 * sent them (the client's reason lives there), else the catalogue's defaults.
 * @param {string} scope
 * @param {import('./api.js').CoreSchemas['ScopeDetail'][] | null} [details] from Core's auth request
 * @returns {{name: string, description: string, reason: string}}
 */
export function scopeInfo(scope, details) {
  const d = (details ?? []).find((x) => x.key === scope);
  const c = Object.hasOwn(CATALOGUE, scope) ? CATALOGUE[scope] : undefined;
  return {
    name: d?.name || c?.name || scope,
    description: d?.description || c?.description || '',
    reason: d?.reason || '',
  };
}

/**
 * formatValue renders a vault value as the exact text the user will share.
 * @param {VaultValue} v
 * @returns {string}
 */
export function formatValue(v) {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(', ');
  return Object.entries(v).map(([k, x]) => `${k}: ${x}`).join('; ');
}
