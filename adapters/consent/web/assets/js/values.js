// The rules for values a person stores and shares, checked as they type. They mirror
// domain/claimvalue, which Core applies at attestation (the one moment it sees a value in
// plaintext): RULES below is compared with the Go table by values_test.go, and both run the same
// case table (domain/claimvalue/testdata/cases.json), so the browser and the server never disagree.

/**
 * @typedef {'text' | 'longtext' | 'email' | 'phone' | 'url' | 'date' | 'list' | 'links'} Kind
 * @typedef {{code: string, limit: number, text: string}} Problem text completes a sentence that
 *   starts with the field's name ("must be at most 254 characters (you entered 312)")
 */

// BEGIN VALUE RULES
export const RULES = {
  "kinds": {"banner_image":"url","bio":"longtext","birthdate":"date","date_of_birth":"date","dob":"date","education":"longtext","email":"email","employment":"longtext","hobbies":"list","hobby":"list","images":"list","phone":"phone","phone_number":"phone","profile_image":"url","skills":"list","social":"links","social_links":"links"},
  "limits": {"email":254,"email_local":64,"text":200,"longtext":2000,"url":2000,"phone_min_digits":7,"phone_max_digits":15,"phone_chars":32,"list_items":50,"item_chars":100,"links":20,"link_label":50}
};
// END VALUE RULES

const L = RULES.limits;

/**
 * kindOf returns the kind of a claim key or vault field (they share names for every kind but text).
 * @param {string} key
 * @returns {Kind}
 */
export function kindOf(key) {
  return /** @type {Kind} */ (Object.hasOwn(RULES.kinds, key) ? RULES.kinds[/** @type {keyof typeof RULES.kinds} */ (key)] : 'text');
}

/** @param {string} s */
const chars = (s) => [...s].length;

const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const PHONE = /^\+[0-9]+(?:[ .-]?\(?[0-9]+\)?)*$/;

/** @param {string} s */
function validEmail(s) {
  const at = s.indexOf('@');
  if (at < 0) return false;
  const local = s.slice(0, at);
  return local.length <= L.email_local && !local.startsWith('.') && !local.endsWith('.') && !local.includes('..') && EMAIL.test(s);
}

/** @param {string} s */
function validHttpsUrl(s) {
  if (/[\u0000-\u0020\u007f]/.test(s)) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' && u.hostname.replace(/^\.+|\.+$/g, '') !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** @param {string} s */
function validDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m || s < '1900-01-01') return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/**
 * checkValue checks one value against the rule for its key; null when it is fine.
 * @param {string} key claim key or vault field
 * @param {unknown} v
 * @returns {Problem | null}
 */
export function checkValue(key, v) {
  /** @type {(code: string, limit: number, text: string) => Problem} */
  const fail = (code, limit, text) => ({ code, limit, text });
  const kind = kindOf(key);
  if (kind === 'list') {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail('wrong_type', 0, 'must be a list of words or phrases');
    if (v.length === 0) return fail('empty', 0, 'must not be empty');
    if (v.length > L.list_items) return fail('too_many_items', L.list_items, `can have at most ${L.list_items} items (you entered ${v.length})`);
    const long = v.find((x) => chars(x) > L.item_chars);
    if (long !== undefined) return fail('too_long', L.item_chars, `items can be at most ${L.item_chars} characters each (one has ${chars(long)})`);
    if (v.some((x) => x.trim() === '')) return fail('empty', 0, 'items must not be empty');
    return null;
  }
  if (kind === 'links') {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
      return fail('wrong_type', 0, 'must be one "label: link" per line');
    }
    const entries = Object.entries(/** @type {Record<string, string>} */ (v));
    if (entries.length === 0) return fail('empty', 0, 'must not be empty');
    if (entries.length > L.links) return fail('too_many_items', L.links, `can have at most ${L.links} links (you entered ${entries.length})`);
    for (const [label, link] of entries) {
      if (chars(label) > L.link_label) return fail('too_long', L.link_label, `labels can be at most ${L.link_label} characters each (one has ${chars(label)})`);
      if (chars(link) > L.url) return fail('too_long', L.url, `links can be at most ${L.url} characters each (one has ${chars(link)})`);
      if (link.trim() === '') return fail('empty', 0, 'links must not be empty');
    }
    return null;
  }
  if (typeof v !== 'string') return fail('wrong_type', 0, 'must be text');
  if (v.trim() === '') return fail('empty', 0, 'must not be empty');
  const n = chars(v);
  switch (kind) {
    case 'email':
      if (n > L.email) return fail('too_long', L.email, `can be at most ${L.email} characters (you entered ${n})`);
      if (!validEmail(v)) return fail('invalid_email', 0, 'must be an email address such as name@example.com');
      return null;
    case 'phone': {
      if (n > L.phone_chars) return fail('too_long', L.phone_chars, `can be at most ${L.phone_chars} characters (you entered ${n})`);
      const digits = (v.match(/[0-9]/g) ?? []).length;
      if (!PHONE.test(v) || (v.match(/\(/g) ?? []).length !== (v.match(/\)/g) ?? []).length || digits < L.phone_min_digits || digits > L.phone_max_digits) {
        return fail('invalid_phone', L.phone_max_digits, `must be in international format: + and the country code, then ${L.phone_min_digits} to ${L.phone_max_digits} digits in all, for example +44 20 7946 0958`);
      }
      return null;
    }
    case 'url':
      if (n > L.url) return fail('too_long', L.url, `can be at most ${L.url} characters (you entered ${n})`);
      if (!validHttpsUrl(v)) return fail('invalid_url', 0, 'must be a link starting with https://, for example https://example.com/me.jpg');
      return null;
    case 'date':
      if (!validDate(v)) return fail('invalid_date', 0, 'must be a real date, from 1900 on');
      return null;
    case 'longtext':
      if (n > L.longtext) return fail('too_long', L.longtext, `can be at most ${L.longtext} characters (you entered ${n})`);
      return null;
    default:
      if (n > L.text) return fail('too_long', L.text, `can be at most ${L.text} characters (you entered ${n})`);
      return null;
  }
}
