// Sign-in and sign-up views. The master password is used only inside crypto.js; what leaves
// the page is the email hash and the derived auth key.

import { h, say, busy, field, clearStatus } from '../dom.js';
import { navigate, safeNext } from '../app.js';
import { signIn, signUp } from '../session.js';
import { passwordStrength, UnsafeKdfError, WrongPasswordError } from '../crypto.js';
import { ApiError } from '../api.js';

/**
 * explainAuthError words sign-in/up failures for people.
 * @param {unknown} e
 * @param {'signin' | 'signup'} mode
 * @returns {string}
 */
function explainAuthError(e, mode) {
  if (e instanceof ApiError) {
    if (mode === 'signin' && (e.status === 401 || e.code === 'invalid_credentials')) {
      return 'That email and master password do not match an account.';
    }
    if (mode === 'signup' && e.status === 409) {
      return 'An account with this email already exists. Sign in instead.';
    }
    return e.message;
  }
  if (e instanceof UnsafeKdfError || e instanceof WrongPasswordError) return e.message;
  return 'Something went wrong in this browser. Please reload the page and try again.';
}

/** @type {import('../app.js').View} */
export function signinView(main, params) {
  document.title = 'Sign in · SVA';
  const next = safeNext(params.get('next'));
  const email = field({ id: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true });
  const pw = field({ id: 'password', label: 'Master password', type: 'password', autocomplete: 'current-password', required: true });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in to SVA'),
    next?.startsWith('/consent') ? h('p', { class: 'lead' }, 'Sign in to continue to the app that sent you here.') : null,
    email.wrap, pw.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    h('p', { class: 'muted' }, 'New to SVA? ',
      h('a', { href: next ? `/signup?next=${encodeURIComponent(next)}` : '/signup', 'data-link': true }, 'Create an account'), '.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!email.input.value.trim() || !pw.input.value) {
      say('Enter your email and master password.', 'error');
      return;
    }
    say('Signing in… (unlocking your vault takes a moment)');
    try {
      await busy(form, () => signIn(email.input.value, pw.input.value));
      pw.input.value = '';
      clearStatus();
      navigate(next ?? '/vault', { replace: true });
    } catch (e) {
      say(explainAuthError(e, 'signin'), 'error');
      pw.input.select();
    }
  });
  main.append(form);
  email.input.focus();
}

/** @type {import('../app.js').View} */
export function signupView(main, params) {
  document.title = 'Create account · SVA';
  const next = safeNext(params.get('next'));
  const email = field({ id: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true });
  const pw = field({
    id: 'password', label: 'Master password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12,
    hint: 'At least 12 characters. It never leaves this device, and SVA cannot reset it: if you forget it, your vault cannot be recovered.',
  });
  const confirm = field({ id: 'password-confirm', label: 'Confirm master password', type: 'password', autocomplete: 'new-password', required: true });
  const meter = /** @type {HTMLMeterElement} */ (h('meter', { id: 'strength-meter', min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0, 'aria-labelledby': 'strength-label' }));
  const label = h('span', { id: 'strength-label' }, 'Password strength: ');
  const verdict = h('strong', {}, '—');
  const advice = h('p', { class: 'hint', id: 'strength-hint', 'aria-live': 'polite' });
  pw.input.setAttribute('aria-describedby', `${pw.input.getAttribute('aria-describedby')} strength-hint`);
  const update = () => {
    const s = passwordStrength(pw.input.value, email.input.value);
    meter.value = s.score;
    verdict.textContent = pw.input.value ? s.label : '—';
    advice.textContent = pw.input.value ? s.hint : '';
  };
  pw.input.addEventListener('input', update);
  email.input.addEventListener('input', update);

  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Create your SVA account'),
    h('p', { class: 'lead' }, 'Your vault is encrypted on this device with a key made from your master password. SVA stores only ciphertext.'),
    email.wrap, pw.wrap,
    h('div', { class: 'strength' }, h('p', { class: 'strength-row' }, label, verdict), meter, advice),
    confirm.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create account')),
    h('p', { class: 'muted' }, 'Already have an account? ',
      h('a', { href: next ? `/signin?next=${encodeURIComponent(next)}` : '/signin', 'data-link': true }, 'Sign in'), '.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const addr = email.input.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(addr)) { say('Enter a valid email address.', 'error'); email.input.focus(); return; }
    const s = passwordStrength(pw.input.value, addr);
    if (s.score === 0) { say('Your master password needs at least 12 characters.', 'error'); pw.input.focus(); return; }
    if (pw.input.value !== confirm.input.value) { say('The two passwords do not match.', 'error'); confirm.input.focus(); return; }
    say('Creating your account… (deriving your keys takes a moment)');
    try {
      await busy(form, () => signUp(addr, pw.input.value));
      pw.input.value = '';
      confirm.input.value = '';
      navigate(next ?? '/vault', { replace: true, keepStatus: true });
      say(next ? 'Account created.' : 'Account created. Add the details you want to be able to share, then save.', 'success');
    } catch (e) {
      say(explainAuthError(e, 'signup'), 'error');
    }
  });
  main.append(form);
  email.input.focus();
}
