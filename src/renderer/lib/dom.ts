/**
 * A tiny element builder. It only ever uses `createElement`, `setAttribute` and `textContent`
 * (never `innerHTML`): daemon output and server data are text, always (issue "The panel").
 */

/** What `h()` accepts as a child: nodes, strings (become text nodes), and falsy values (skipped). */
export type Child = Node | string | null | undefined | false;

/** Attribute values: `true` sets an empty attribute, `false`/`null`/`undefined` leave it out. */
export type AttrValue = string | number | boolean | null | undefined;

/** Options of `h()`. */
export interface ElementOptions {
  /** Space-separated class names. */
  class?: string;
  /** Attributes, set with `setAttribute` (never `style`: CSP forbids inline styles, use CSSOM). */
  attrs?: Record<string, AttrValue>;
  /** Text content (set before children are appended). */
  text?: string;
  /** Event listeners. */
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

/** Create an element with classes, attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  opts: ElementOptions = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (opts.class) el.className = opts.class;
  if (opts.attrs) setAttrs(el, opts.attrs);
  if (opts.text !== undefined) el.textContent = opts.text;
  if (opts.on) {
    for (const [type, fn] of Object.entries(opts.on)) {
      if (fn) el.addEventListener(type, fn as EventListener);
    }
  }
  append(el, ...children);
  return el;
}

/** Set (or remove, for `false`/`null`/`undefined`) several attributes. */
export function setAttrs(el: Element, attrs: Record<string, AttrValue>): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'style')
      throw new TypeError('h(): set styles through el.style (CSP forbids style attributes)');
    if (value === false || value === null || value === undefined) el.removeAttribute(name);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Append children (strings become text nodes). */
export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Remove every child. */
export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Replace every child with these. */
export function replaceChildren(el: Node, ...children: Child[]): void {
  clear(el);
  append(el, ...children);
}

/** Set text only when it changed (avoids needless layout work in hot paths). */
export function setText(el: Node, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Show or hide an element with the `hidden` attribute. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** A labelled button. `label` is the accessible name, `text` the visible caption. */
export function button(
  text: string,
  label: string,
  onClick: (ev: MouseEvent) => void,
  cls = '',
): HTMLButtonElement {
  return h('button', {
    class: cls,
    text,
    attrs: { type: 'button', 'aria-label': label },
    on: { click: onClick },
  });
}
