// @ts-check
// Builds the page from registry data without ever parsing that data as HTML: every value ends up
// in a text node or an attribute set with setAttribute. (The page's Content-Security-Policy also
// enforces Trusted Types: assigning a string to an HTML sink would throw instead of rendering.)

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Record<string, string | number | boolean | ((event: any) => void) | undefined>} Props */

/**
 * An element with attributes, event listeners (`on<event>` props given a function) and children.
 * `href` may only be an in-page route ("#…"): registry data never becomes a link elsewhere.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      element.addEventListener(key.slice(2), value);
      continue;
    }
    if (typeof value === "function") throw new TypeError(`${key} cannot be a function`);
    const text = value === true ? "" : String(value);
    if (key === "href" && !text.startsWith("#")) throw new TypeError("links stay inside the page");
    element.setAttribute(key, text);
  }
  append(element, children);
  return element;
}

/**
 * @param {Element | DocumentFragment} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "object" ? child : String(child));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Any JSON value as display text: strings as they are, everything else as JSON.
 * @param {unknown} value
 */
export function text(value) {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
