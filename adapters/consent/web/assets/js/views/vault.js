// The vault editor: every field is encrypted in this browser before it is saved.

import { h, say, busy, field, showErrors, when, clearStatus } from '../dom.js';
import { ensureUnlocked, requireSession, safeNext } from '../app.js';
import { state, saveVault } from '../session.js';
import { FIELD_GROUPS, fromText, toText } from '../profile.js';
import { ApiError } from '../api.js';
import { checkValue } from '../values.js';

/** @type {import('../app.js').View} */
export async function vaultView(main, params) {
  document.title = 'Your vault · SVA';
  if (!requireSession()) return;
  if (!(await ensureUnlocked(main, 'Enter your master password to decrypt your vault on this device.'))) return;
  const back = safeNext(params.get('next'));

  /** @type {Map<string, {f: import('../dom.js').Field, def: import('../profile.js').FieldDef}>} */
  const inputs = new Map();
  const groups = FIELD_GROUPS.map((g) => {
    const body = g.fields.map((def) => {
      const type = def.type === 'textarea' || def.type === 'links' ? undefined : def.type === 'list' ? 'text' : def.type;
      const f = field({
        id: `f-${def.key}`, label: def.label, type, hint: def.hint, autocomplete: def.autocomplete,
        multiline: def.type === 'textarea' || def.type === 'links', value: toText(def, state.profile[def.key]),
      });
      inputs.set(def.key, { f, def });
      // A field that was marked invalid is re-checked as the person fixes it.
      f.input.addEventListener('change', () => {
        if (!f.wrap.classList.contains('invalid')) return;
        const v = fromText(def, f.input.value);
        const p = v === undefined ? null : checkValue(def.key, v);
        if (p) f.setError(`${def.label} ${p.text}.`); else f.clearError();
      });
      return f.wrap;
    });
    const filled = g.fields.some((f) => state.profile[f.key] !== undefined);
    const content = h('div', { class: 'grid' }, body);
    if (g.collapsed) {
      return h('details', { class: 'group', open: filled },
        h('summary', {}, g.title), g.note ? h('p', { class: 'hint' }, g.note) : null, content);
    }
    return h('fieldset', { class: 'group' }, h('legend', {}, g.title), content);
  });

  const saved = h('p', { class: 'muted', id: 'saved-at' }, state.updatedAt ? `Last saved ${when(state.updatedAt)}.` : 'Not saved yet.');
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card wide', id: 'vault-form', novalidate: true },
    h('h1', {}, 'Your vault'),
    h('p', { class: 'lead' }, 'Apps see only what you approve, one sign-in at a time. Everything here is encrypted on this device before it is saved.'),
    back ? h('p', {}, h('a', { href: back, 'data-link': true }, '← Back to the sign-in request')) : null,
    groups,
    h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary' }, 'Save vault'), saved)));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    /** @type {Record<string, any>} */
    const profile = { ...state.profile };
    /** @type {Map<import('../dom.js').Field, string>} */
    const problems = new Map();
    for (const [key, { f, def }] of inputs) {
      const v = fromText(def, f.input.value);
      if (v === undefined) delete profile[key];
      else profile[key] = v;
      // The rules Core applies when a value is shared (domain/claimvalue): checked here, as it
      // is stored, so nothing in the vault is refused later at a consent screen.
      const p = v === undefined ? null : checkValue(key, v);
      if (p) problems.set(f, `${def.label} ${p.text}.`);
    }
    // Collapsed groups open when one of their fields has a problem, so every message is visible.
    for (const f of problems.keys()) f.wrap.closest('details')?.setAttribute('open', '');
    if (!showErrors(form, [...inputs.values()].map((x) => x.f), problems)) {
      say(`Nothing was saved: ${problems.size === 1 ? 'one field needs' : `${problems.size} fields need`} fixing.`, 'error', { quiet: true });
      return;
    }
    clearStatus();
    say('Encrypting and saving…');
    try {
      await busy(form, () => saveVault(profile));
      saved.textContent = `Last saved ${when(state.updatedAt)}.`;
      say('Saved. Your vault was encrypted on this device before it was sent.', 'success');
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        say('Your vault was changed in another tab or on another device. Reload this page to get the latest version (your edits here will be lost), then try again.', 'error');
        const reload = h('button', { type: 'button', class: 'secondary', onclick: () => location.reload() }, 'Reload');
        saved.replaceWith(reload);
        return;
      }
      say(/** @type {Error} */ (e).message, 'error');
    }
  });
  main.append(form);
}
