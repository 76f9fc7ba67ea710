// Icons drawn as inline SVG (24×24, stroked with currentColor), built with createElementNS so
// they need no font, no emoji and no network, and obey the page's CSP and Trusted Types. Every
// icon is decorative (aria-hidden): the text beside it carries the meaning.

const NS = 'http://www.w3.org/2000/svg';

/**
 * Each icon is a list of shapes: [tag, attributes].
 * @type {Record<string, [string, Record<string, string>][]>}
 */
const SHAPES = {
  key: [['circle', { cx: '8', cy: '15', r: '4' }], ['path', { d: 'M10.8 12.2 20 3m-4 4 3 3m-5-1 2 2' }]],
  mail: [['rect', { x: '3', y: '5', width: '18', height: '14', rx: '2' }], ['path', { d: 'm3 7 9 6 9-6' }]],
  user: [['circle', { cx: '12', cy: '8', r: '4' }], ['path', { d: 'M4 21a8 8 0 0 1 16 0' }]],
  at: [['circle', { cx: '12', cy: '12', r: '4' }], ['path', { d: 'M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-4 8' }]],
  text: [['path', { d: 'M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z' }], ['path', { d: 'M14 3v6h6M8 13h8M8 17h6' }]],
  chat: [['path', { d: 'M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z' }]],
  calendar: [['rect', { x: '3', y: '5', width: '18', height: '16', rx: '2' }], ['path', { d: 'M16 3v4M8 3v4M3 10h18' }]],
  image: [['rect', { x: '3', y: '3', width: '18', height: '18', rx: '2' }], ['circle', { cx: '9', cy: '9', r: '2' }], ['path', { d: 'm21 15-5-5L5 21' }]],
  code: [['path', { d: 'm16 18 6-6-6-6M8 6l-6 6 6 6' }]],
  heart: [['path', { d: 'M20.8 4.6a5.5 5.5 0 0 0-7.8 0L12 5.7l-1-1.1a5.5 5.5 0 0 0-7.8 7.8L12 21.2l8.8-8.8a5.5 5.5 0 0 0 0-7.8z' }]],
  pin: [['path', { d: 'M20 10c0 6-8 12-8 12S4 16 4 10a8 8 0 0 1 16 0z' }], ['circle', { cx: '12', cy: '10', r: '3' }]],
  link: [['path', { d: 'M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7' }], ['path', { d: 'M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7' }]],
  phone: [['rect', { x: '6', y: '2', width: '12', height: '20', rx: '2' }], ['path', { d: 'M11 18h2' }]],
  card: [['rect', { x: '2', y: '5', width: '20', height: '14', rx: '2' }], ['circle', { cx: '8', cy: '12', r: '2' }], ['path', { d: 'M13 10h5M13 14h3' }]],
  wallet: [['path', { d: 'M20 7V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h15a1 1 0 0 0 1-1V8a1 1 0 0 0-1-1H5' }], ['path', { d: 'M17 14h.01' }]],
  school: [['path', { d: 'm22 9-10-5L2 9l10 5 10-5z' }], ['path', { d: 'M6 11v5c3 2 9 2 12 0v-5' }]],
  briefcase: [['rect', { x: '2', y: '7', width: '20', height: '14', rx: '2' }], ['path', { d: 'M16 7V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v2M2 13h20' }]],
  certificate: [['circle', { cx: '12', cy: '9', r: '6' }], ['path', { d: 'm9 14.5-1 7.5 4-2 4 2-1-7.5' }]],
  car: [['path', { d: 'M5 17H3v-5l2-5h14l2 5v5h-2' }], ['circle', { cx: '7.5', cy: '17', r: '2' }], ['circle', { cx: '16.5', cy: '17', r: '2' }], ['path', { d: 'M3 12h18' }]],
  ballot: [['rect', { x: '3', y: '10', width: '18', height: '11', rx: '2' }], ['path', { d: 'M8 10V4h8v6M10 7h4' }]],
  passport: [['rect', { x: '5', y: '2', width: '14', height: '20', rx: '2' }], ['circle', { cx: '12', cy: '10', r: '3' }], ['path', { d: 'M9 17h6' }]],
  // Interface icons.
  alert: [['circle', { cx: '12', cy: '12', r: '10' }], ['path', { d: 'M12 7v6M12 16.5v.5' }]],
  check: [['circle', { cx: '12', cy: '12', r: '10' }], ['path', { d: 'm8 12 3 3 5-6' }]],
  info: [['circle', { cx: '12', cy: '12', r: '10' }], ['path', { d: 'M12 11v6M12 7.5V8' }]],
  lock: [['rect', { x: '4', y: '11', width: '16', height: '10', rx: '2' }], ['path', { d: 'M8 11V7a4 4 0 0 1 8 0v4' }]],
  shield: [['path', { d: 'M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z' }]],
  monitor: [['rect', { x: '2', y: '3', width: '20', height: '14', rx: '2' }], ['path', { d: 'M8 21h8M12 17v4' }]],
  apps: [['rect', { x: '3', y: '3', width: '7', height: '7', rx: '1' }], ['rect', { x: '14', y: '3', width: '7', height: '7', rx: '1' }], ['rect', { x: '3', y: '14', width: '7', height: '7', rx: '1' }], ['rect', { x: '14', y: '14', width: '7', height: '7', rx: '1' }]],
  clock: [['circle', { cx: '12', cy: '12', r: '10' }], ['path', { d: 'M12 6v6l4 2' }]],
  dot: [['circle', { cx: '12', cy: '12', r: '3' }]],
};

/**
 * SCOPE_ICONS names the icon of every scope in domain/scope's catalogue (catalogue_test.go
 * checks none is missing). The provider's scope_details still carry the catalogue's emoji for
 * other consumers; this page never shows them, since without an emoji font they render as boxes.
 * @type {Record<string, string>}
 */
export const SCOPE_ICONS = {
  openid: 'key', email: 'mail', profile: 'user', name: 'user', username: 'at', bio: 'text', pronoun: 'chat',
  dob: 'calendar', images: 'image', skills: 'code', hobby: 'heart', address: 'pin', social: 'link', phone: 'phone',
  pan_card: 'card', crypto_wallet: 'wallet', education: 'school', employment: 'briefcase',
  professional_license: 'certificate', aadhar: 'card', driving_license: 'car', voter_id: 'ballot', passport: 'passport',
};

/**
 * icon returns an inline SVG icon (decorative; "dot" when the name is unknown).
 * @param {string} name
 * @param {string} [cls] extra class
 * @returns {SVGSVGElement}
 */
export function icon(name, cls = '') {
  const svg = /** @type {SVGSVGElement} */ (document.createElementNS(NS, 'svg'));
  for (const [k, v] of Object.entries({
    viewBox: '0 0 24 24', width: '20', height: '20', fill: 'none', stroke: 'currentColor', 'stroke-width': '2',
    'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false',
    class: `icon${cls ? ` ${cls}` : ''}`,
  })) svg.setAttribute(k, v);
  for (const [tag, attrs] of SHAPES[name] ?? SHAPES.dot) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

/**
 * scopeIcon returns the icon of a scope.
 * @param {string} scope
 */
export function scopeIcon(scope) {
  return icon(Object.hasOwn(SCOPE_ICONS, scope) ? SCOPE_ICONS[scope] : 'dot');
}
