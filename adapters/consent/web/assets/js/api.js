// The one place the page talks to its server (same origin, /ui/api/...). The server keeps the
// Core session in an HttpOnly cookie; this module only adds the CSRF header.

/**
 * Core's request and response bodies, which the server passes through unchanged. The types are
 * generated from openapi/core.yaml into ui-types/core-api.d.ts, outside assets/ so it is never
 * embedded or served; the import is JSDoc only, read by tsc (`make ui-check`), never by a browser.
 * @typedef {import('../../ui-types/core-api').components['schemas']} CoreSchemas
 */

/** ApiError is a failed call with a message a person understands. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code   machine code from the body's "error", for branching only
   * @param {string} message
   * @param {number} retryAfter seconds, when the server sent Retry-After
   */
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export const UNAVAILABLE = 'SVA is temporarily unavailable, please try again.';

/** @returns {string} the double-submit CSRF token from the sva_csrf cookie */
function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'sva_csrf') return v.join('=');
  }
  return '';
}

/**
 * friendly turns an error reply into a sentence. Views catch specific codes (wrong password,
 * expired request) and say something more precise.
 * @param {number} status
 * @param {any} body
 * @param {number} retryAfter
 * @returns {string}
 */
function friendly(status, body, retryAfter) {
  const code = typeof body?.error === 'string' ? body.error : '';
  if (status >= 502 && status <= 504 || code === 'Service temporarily unavailable') return UNAVAILABLE;
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403 && code === 'csrf_failed') return 'This page is out of date. Reload it and try again.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 429) {
    return retryAfter > 0
      ? `Too many attempts. Please wait ${retryAfter} seconds and try again.`
      : 'Too many attempts. Please wait a moment and try again.';
  }
  if (status === 413 && code === 'vault_too_large') {
    // Core names the limit ("vault too large: 300 items, limit 256"); the value rules keep each
    // field far below the per-item limit, so this is the vault as a whole.
    const detail = typeof body?.detail === 'string' ? body.detail.replace(/^vault too large: /, '') : '';
    return `Your vault is larger than SVA can store${detail ? ` (${detail})` : ''}. Remove or shorten some fields and try again.`;
  }
  if (status === 413) return 'That is more than SVA accepts in one request. Remove some content and try again.';
  if (code === 'invalid_request' && typeof body?.detail === 'string') return `SVA could not accept that: ${body.detail}`;
  if (typeof body?.error_description === 'string' && body.error_description) return body.error_description;
  if (typeof body?.detail === 'string' && body.detail) return body.detail;
  return `Something went wrong (error ${status}${code ? `, ${code}` : ''}). Please try again.`;
}

/**
 * api calls the BFF and returns the parsed JSON (null for empty replies).
 * @param {'GET' | 'POST' | 'PUT' | 'DELETE'} method
 * @param {string} path under /ui/api
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/ui/api${path}`, {
      method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach SVA. Check your connection and try again.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const retry = Number.parseInt(res.headers.get('Retry-After') ?? '', 10) || 0;
    throw new ApiError(res.status, typeof data?.error === 'string' ? data.error : '', friendly(res.status, data, retry), retry);
  }
  return data;
}
