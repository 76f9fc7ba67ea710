import { icon } from './icons.js';

// Tiny DOM helpers. The UI never assigns HTML strings (innerHTML and friends are blocked by the
// page's Trusted Types CSP anyway): every node is created and text is set as text.

/**
 * @typedef {string | number | boolean | null | undefined | EventListener} AttrValue
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * h creates an element. Attributes named on* with a function value become event listeners;
 * true sets a boolean attribute; null/undefined/false are skipped.
 * @param {string} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** @returns {HTMLElement} */
function statusRegion() {
  return /** @type {HTMLElement} */ (document.getElementById('status'));
}

/**
 * say puts a message in the page's aria-live region (announced by screen readers). quiet keeps
 * it out of sight when the page already shows the same thing prominently.
 * @param {string} message
 * @param {'info' | 'success' | 'error'} [kind]
 * @param {{quiet?: boolean}} [opts]
 */
export function say(message, kind = 'info', opts = {}) {
  const el = statusRegion();
  el.className = `status status-${kind}${opts.quiet ? ' visually-hidden' : ''}`;
  el.textContent = message;
  el.hidden = message === '';
}

/** clearStatus removes the current message. */
export function clearStatus() {
  say('');
}

/**
 * busy disables a form's controls while an operation runs and restores them after.
 * @template T
 * @param {HTMLFormElement | HTMLElement} scope
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function busy(scope, fn) {
  const controls = /** @type {NodeListOf<HTMLButtonElement | HTMLInputElement>} */ (scope.querySelectorAll('button, input, textarea, select'));
  const was = Array.from(controls, (c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  scope.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    controls.forEach((c, i) => { c.disabled = was[i]; });
    scope.removeAttribute('aria-busy');
  }
}

/**
 * @typedef {object} Field
 * @property {HTMLElement} wrap
 * @property {HTMLInputElement | HTMLTextAreaElement} input
 * @property {string} label
 * @property {(message: string) => void} setError marks the field invalid: aria-invalid, the
 *   message (with the field's name) linked through aria-describedby, and the visual state
 * @property {() => void} clearError
 */

/**
 * field builds a labelled input with an optional hint, wired with for/id and aria-describedby,
 * and a slot for its error message. Every form uses it, so every field reports errors one way.
 * @param {{id: string, label: string, type?: string, value?: string, hint?: string,
 *          autocomplete?: string, required?: boolean, multiline?: boolean, rows?: number,
 *          minlength?: number, inputmode?: string}} o
 * @returns {Field}
 */
export function field(o) {
  const hintId = o.hint ? `${o.id}-hint` : undefined;
  const errorId = `${o.id}-error`;
  const common = {
    id: o.id, name: o.id, autocomplete: o.autocomplete ?? 'off', required: o.required,
    'aria-describedby': hintId, minlength: o.minlength, inputmode: o.inputmode,
  };
  const input = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (o.multiline
    ? h('textarea', { ...common, rows: o.rows ?? 3 })
    : h('input', { ...common, type: o.type ?? 'text' }));
  input.value = o.value ?? '';
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const wrap = h('div', { class: 'field' },
    h('label', { for: o.id }, o.label),
    o.hint ? h('p', { class: 'hint', id: hintId }, o.hint) : null,
    input,
    error);
  /** @param {boolean} on */
  const describe = (on) => {
    const ids = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== errorId);
    if (on) ids.unshift(errorId);
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  };
  return {
    wrap, input, label: o.label,
    setError(message) {
      error.replaceChildren(icon('alert'), h('span', {}, message));
      error.hidden = false;
      wrap.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      describe(true);
    },
    clearError() {
      error.replaceChildren();
      error.hidden = true;
      wrap.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
      describe(false);
    },
  };
}

/**
 * showErrors marks every field with a problem at once, lists them all in a summary at the top of
 * the form (each a link that focuses its field) and moves focus to the summary, so a person hears
 * how many problems there are and can reach each. Returns true when there was nothing to report.
 * @param {HTMLFormElement} form
 * @param {Field[]} fields every field of the form (those not in problems are cleared)
 * @param {Map<Field, string>} problems field → message naming the field
 * @returns {boolean}
 */
export function showErrors(form, fields, problems) {
  for (const f of fields) if (!problems.has(f)) f.clearError();
  form.querySelector(':scope > .error-summary')?.remove();
  if (problems.size === 0) return true;
  const items = [];
  for (const [f, message] of problems) {
    f.setError(message);
    items.push(h('li', {}, h('a', { href: `#${f.input.id}`, onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); f.input.focus(); } }, message)));
  }
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', 'aria-labelledby': `${form.id || 'form'}-errors-title` },
    h('h2', { id: `${form.id || 'form'}-errors-title` }, icon('alert'), problems.size === 1 ? ' There is a problem' : ` There are ${problems.size} problems`),
    h('ul', {}, items));
  const heading = form.querySelector(':scope > h1, :scope > header');
  if (heading) heading.after(summary);
  else form.prepend(summary);
  summary.focus();
  return false;
}

/**
 * logo shows a client's logo, falling back to its initial when there is none or it fails to
 * load (the CSP allows https: and data: images only).
 * @param {string | undefined} src
 * @param {string} name
 * @returns {HTMLElement}
 */
export function logo(src, name) {
  const fallback = () => h('span', { class: 'logo logo-fallback', 'aria-hidden': 'true' }, (name.trim()[0] || '?').toUpperCase());
  if (!src) return fallback();
  const img = /** @type {HTMLImageElement} */ (h('img', { class: 'logo', src, alt: `${name} logo`, width: 56, height: 56, referrerpolicy: 'no-referrer' }));
  img.addEventListener('error', () => img.replaceWith(fallback()), { once: true });
  return img;
}

/**
 * when formats an ISO timestamp for people, in their locale.
 * @param {string | undefined} iso
 * @returns {string}
 */
export function when(iso) {
  if (!iso) return 'unknown';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? 'unknown' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * emptyState is what a list shows when it has nothing in it: what the page is for and how
 * something gets there, instead of a blank card.
 * @param {string} iconName
 * @param {string} title
 * @param {string} text
 */
export function emptyState(iconName, title, text) {
  return h('div', { class: 'empty-state' }, icon(iconName, 'big'), h('h2', {}, title), h('p', { class: 'muted' }, text));
}
