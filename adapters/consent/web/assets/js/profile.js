// The vault's fields: what a user can store and later share, grouped for the editor. Field keys
// are the vault's own names; scopes.js maps them to claim keys.

/**
 * @typedef {'text' | 'email' | 'tel' | 'date' | 'url' | 'textarea' | 'list' | 'links'} FieldType
 * list  = comma-separated values, stored as an array of strings
 * links = one "label: value" per line, stored as an object
 * @typedef {{key: string, label: string, type?: FieldType, autocomplete?: string, hint?: string}} FieldDef
 * @typedef {{title: string, fields: FieldDef[], collapsed?: boolean, note?: string}} FieldGroup
 */

/** @type {FieldGroup[]} */
export const FIELD_GROUPS = [
  {
    title: 'Name',
    fields: [
      { key: 'full_name', label: 'Full name', autocomplete: 'name' },
      { key: 'given_name', label: 'Given name', autocomplete: 'given-name' },
      { key: 'family_name', label: 'Family name', autocomplete: 'family-name' },
      { key: 'username', label: 'Username', autocomplete: 'username' },
      { key: 'pronouns', label: 'Pronouns', hint: 'For example: she/her, they/them' },
    ],
  },
  {
    title: 'Contact',
    fields: [
      { key: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
      { key: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel', hint: 'International format, for example +44 20 7946 0958' },
    ],
  },
  {
    title: 'Address',
    fields: [
      { key: 'address_line1', label: 'Address line 1', autocomplete: 'address-line1' },
      { key: 'address_line2', label: 'Address line 2', autocomplete: 'address-line2' },
      { key: 'city', label: 'City', autocomplete: 'address-level2' },
      { key: 'state', label: 'State or region', autocomplete: 'address-level1' },
      { key: 'postal_code', label: 'Postal code', autocomplete: 'postal-code' },
      { key: 'country', label: 'Country', autocomplete: 'country-name' },
    ],
  },
  {
    title: 'About you',
    fields: [
      { key: 'bio', label: 'Bio', type: 'textarea' },
      { key: 'dob', label: 'Date of birth', type: 'date', autocomplete: 'bday' },
      { key: 'profile_image', label: 'Profile image URL', type: 'url', hint: 'An https:// link to a picture of you' },
      { key: 'social_links', label: 'Social links', type: 'links', hint: 'One per line, for example: github: https://github.com/you' },
      { key: 'skills', label: 'Skills', type: 'list', hint: 'Separate with commas' },
      { key: 'hobbies', label: 'Hobbies', type: 'list', hint: 'Separate with commas' },
    ],
  },
  {
    title: 'Work and education',
    fields: [
      { key: 'employment', label: 'Employment', type: 'textarea' },
      { key: 'education', label: 'Education', type: 'textarea' },
      { key: 'professional_license', label: 'Professional license' },
    ],
  },
  {
    title: 'Documents and wallets',
    collapsed: true,
    note: 'Only share these with apps you trust. SVA does not verify them.',
    fields: [
      { key: 'passport', label: 'Passport number' },
      { key: 'driving_license', label: 'Driving license number' },
      { key: 'voter_id', label: 'Voter ID' },
      { key: 'pan_card', label: 'PAN card number' },
      { key: 'aadhaar', label: 'Aadhaar number' },
      { key: 'crypto_wallet', label: 'Crypto wallet address' },
    ],
  },
];

/** @type {Map<string, FieldDef>} */
export const FIELDS = new Map(FIELD_GROUPS.flatMap((g) => g.fields).map((f) => [f.key, f]));

/**
 * toText renders a stored value for its form control.
 * @param {FieldDef} f
 * @param {unknown} v
 * @returns {string}
 */
export function toText(f, v) {
  if (v == null) return '';
  if (f.type === 'list' && Array.isArray(v)) return v.join(', ');
  if (f.type === 'links' && typeof v === 'object') {
    return Object.entries(/** @type {Record<string, string>} */ (v)).map(([k, x]) => `${k}: ${x}`).join('\n');
  }
  return String(v);
}

/**
 * fromText parses a form control's text into the stored value; empty means "not set".
 * @param {FieldDef} f
 * @param {string} text
 * @returns {string | string[] | Record<string, string> | undefined}
 */
export function fromText(f, text) {
  const t = text.trim();
  if (t === '') return undefined;
  if (f.type === 'list') {
    const items = t.split(',').map((s) => s.trim()).filter(Boolean);
    return items.length ? items : undefined;
  }
  if (f.type === 'links') {
    /** @type {Record<string, string>} */
    const out = {};
    for (const line of t.split('\n')) {
      const i = line.indexOf(':');
      const label = i > 0 ? line.slice(0, i).trim() : '';
      const value = i > 0 ? line.slice(i + 1).trim() : line.trim();
      if (value) out[label || `link ${Object.keys(out).length + 1}`] = value;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return t;
}
