// @ts-check
// The browse page: learns the registry's auth mode, then shows the view the location's hash names
// (docker's reference syntax: #/name, #/name:tag, #/name@digest; #/ the repositories).
import { Registry } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox, manifestView, repositoriesView, repositoryView, route, signInForm } from "./views.js";

const registry = new Registry();
registry.onSessionEnd = () => renderWho();
const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const crumbs = /** @type {HTMLElement} */ (document.getElementById("crumbs"));
const who = /** @type {HTMLElement} */ (document.getElementById("who"));

/** Incremented on every navigation: a view's late answers check it and stop. */
let generation = 0;
/** @type {string | null} */
let pendingFlash = null;

/**
 * @typedef {{ view: "repositories" }
 *   | { view: "repository", name: string }
 *   | { view: "manifest", name: string, tag?: string, digest?: string }} Route
 */

/** @param {string} hash @returns {Route} */
export function parseRoute(hash) {
  let path = hash.replace(/^#\/?/, "");
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep it as it is: the registry will say it is not a name
  }
  if (path === "") return { view: "repositories" };
  // Names hold neither "@" nor ":"; a digest follows "@", a tag the last ":".
  const at = path.indexOf("@");
  if (at >= 0) return { view: "manifest", name: path.slice(0, at), digest: path.slice(at + 1) };
  const colon = path.lastIndexOf(":");
  if (colon >= 0) return { view: "manifest", name: path.slice(0, colon), tag: path.slice(colon + 1) };
  return { view: "repository", name: path.replace(/\/+$/, "") };
}

/** @param {Route} current */
function renderCrumbs(current) {
  /** @type {(Node | string)[]} */
  const items = [h("a", { href: route.repositories() }, "Repositories")];
  if (current.view !== "repositories") items.push(h("a", { href: route.repository(current.name) }, current.name));
  if (current.view === "manifest") items.push(h("span", {}, current.tag ?? current.digest ?? ""));
  replace(crumbs, h("ol", {}, items.map((item) => h("li", {}, item))));
}

function renderWho() {
  if (registry.mode !== "basic" && registry.mode !== "token") return replace(who);
  if (registry.username === null) {
    return replace(who, h("span", { class: "muted" }, "Anonymous"), h("button", { type: "button", class: "link", onclick: showSignIn }, "Sign in"));
  }
  replace(
    who,
    h("span", { class: "user" }, "Signed in as ", h("strong", {}, registry.username)),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          registry.signOut();
          show();
        },
      },
      "Sign out",
    ),
  );
}

function showSignIn() {
  generation++;
  replace(main, signInForm(context(generation)));
}

/** @param {number} mine */
function context(mine) {
  return {
    registry,
    main,
    current: () => mine === generation,
    /** @param {string} message */
    flash: (message) => (pendingFlash = message),
    takeFlash: () => {
      const message = pendingFlash;
      pendingFlash = null;
      return message;
    },
    signedIn: () => void show(),
  };
}

async function show() {
  const mine = ++generation;
  const current = parseRoute(location.hash);
  renderCrumbs(current);
  renderWho();
  document.title = current.view === "repositories" ? `Registry · ${location.host}` : `${current.name} · ${location.host}`;
  const ctx = context(mine);
  if (registry.mode === "refusing") return replace(main, errorBox(registry.refusal));
  if (current.view === "repositories") await repositoriesView(ctx);
  else if (current.view === "repository") await repositoryView(ctx, current.name);
  else await manifestView(ctx, current.name, current);
}

window.addEventListener("hashchange", () => {
  window.scrollTo(0, 0);
  void show();
});

registry.connect().then(show, (err) => replace(main, errorBox(err)));
