// @ts-check
// The page's views: repositories, a repository's tags, one manifest (image, index or artifact)
// with its layers, config, annotations and referrers, and the sign-in form. Each view renders at
// once and fills in as the registry answers; a view left before its answers arrive stops there.
import { ApiError } from "./api.js";
import { h, replace, text } from "./dom.js";
import { formatBytes, formatDate, formatPlatform, shortDigest } from "./format.js";

/**
 * @typedef {import("./api.js").Registry} Registry
 * @typedef {{
 *   registry: Registry,
 *   main: HTMLElement,
 *   current: () => boolean,
 *   flash: (message: string) => void,
 *   takeFlash: () => string | null,
 *   signedIn: () => void,
 * }} ViewContext
 */

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const IMAGE_CONFIG_TYPES = new Set(["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]);
/** Configs larger than this are not fetched for display. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const CREATED = "org.opencontainers.image.created";

/** In-page routes: `#/name`, `#/name:tag`, `#/name@digest` (docker's reference syntax). */
export const route = {
  repositories: () => "#/",
  /** @param {string} name */
  repository: (name) => `#/${name}`,
  /** @param {string} name @param {string} tag */
  tag: (name, tag) => `#/${name}:${tag}`,
  /** @param {string} name @param {string} digest */
  digest: (name, digest) => `#/${name}@${digest}`,
};

/**
 * At most `max` registry requests at a time, so a long tag list does not flood the registry.
 * @param {number} max
 */
function limiter(max) {
  let active = 0;
  /** @type {(() => void)[]} */
  const queue = [];
  /** @template T @param {() => Promise<T>} task @returns {Promise<T>} */
  return (task) =>
    new Promise((resolve, reject) => {
      const run = () => {
        active++;
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            queue.shift()?.();
          });
      };
      if (active < max) run();
      else queue.push(run);
    });
}

// ------------------------------------------------------------------------------- pieces

/** @param {unknown} err */
function errorText(err) {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The registry's refusal, as it said it. @param {unknown} err */
export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, errorText(err));
}

/** @param {string} value */
async function copyText(value) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      return await navigator.clipboard.writeText(value);
    } catch {
      // fall back below
    }
  }
  // Plain-HTTP pages on another host are no secure context: the older way still copies.
  const area = h("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
  area.value = value;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** @param {string} value @param {string} [label] */
function copyButton(value, label = "Copy") {
  const button = h("button", { type: "button", class: "copy", title: `Copy: ${value}` }, label);
  button.addEventListener("click", async () => {
    await copyText(value);
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

/** A command with its copy button. @param {string} command */
function commandLine(command) {
  return h("div", { class: "command" }, h("code", {}, command), copyButton(command));
}

/** The reference docker pulls, with the host this browser reached the registry at. @param {string} name */
function pullReference(name) {
  return `${location.host}/${name}`;
}

/**
 * A digest, shortened where space is scarce (the tag list), whole elsewhere.
 * @param {string} digest @param {string} [href] @param {boolean} [whole]
 */
function digestCell(digest, href, whole = true) {
  const label = h("code", { title: digest, class: whole ? "digest" : "digest-short" }, whole ? digest : shortDigest(digest));
  return href ? h("a", { href }, label) : label;
}

/**
 * @param {string[]} headings
 * @param {(Node | string)[][]} rows
 * @param {string} [className]
 */
function table(headings, rows, className = "") {
  return h(
    "table",
    { class: className },
    h("thead", {}, h("tr", {}, headings.map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

/** A size that never breaks between number and unit. @param {unknown} bytes */
function size(bytes) {
  return h("span", { class: "size" }, formatBytes(bytes));
}

/** Key/value pairs as a definition list (values of any JSON type). @param {[string, unknown][]} pairs */
function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.flatMap(([key, value]) => [h("dt", {}, key), h("dd", {}, value instanceof Node ? value : text(value))]),
  );
}

/** Annotations or labels: arbitrary strings from the registry, shown as text. @param {unknown} map */
function keyValues(map) {
  const entries = map && typeof map === "object" && !Array.isArray(map) ? Object.entries(map) : [];
  if (entries.length === 0) return null;
  return table(["Key", "Value"], entries.map(([key, value]) => [h("code", {}, key), h("span", { class: "value" }, text(value))]), "kv");
}

/** Annotations inside a table cell: one "key: value" line each. @param {unknown} map */
function compactKeyValues(map) {
  const entries = map && typeof map === "object" && !Array.isArray(map) ? Object.entries(map) : [];
  if (entries.length === 0) return null;
  return h("ul", { class: "kv-compact" }, entries.map(([key, value]) => h("li", {}, h("code", {}, key), " ", h("span", { class: "value" }, text(value)))));
}

/** @param {string} title @param {...(Node | string | null | undefined | false)} content */
function section(title, ...content) {
  return h("section", {}, h("h2", {}, title), ...content);
}

/** @param {string} title @param {unknown} doc */
function rawJson(title, doc) {
  return h("details", { class: "raw" }, h("summary", {}, title), h("pre", {}, JSON.stringify(doc, null, 2)));
}

/** @param {any} doc @param {string} mediaType */
function isIndex(doc, mediaType) {
  return INDEX_TYPES.has(mediaType) || (!mediaType && Array.isArray(doc.manifests));
}

/** Build attestations (docker buildx) sit in an index next to the images: not a platform. @param {any} descriptor */
function isAttestation(descriptor) {
  return descriptor?.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" || descriptor?.platform?.os === "unknown";
}

/** @param {any[]} descriptors */
function sumSizes(descriptors) {
  let total = 0;
  for (const d of descriptors) {
    const size = Number(d?.size);
    if (!Number.isFinite(size)) return null;
    total += size;
  }
  return total;
}

/** @param {any} doc */
function imageSize(doc) {
  return sumSizes([doc.config, ...(Array.isArray(doc.layers) ? doc.layers : [])]);
}

/** @param {any} doc */
function isArtifact(doc) {
  return typeof doc.artifactType === "string" || !IMAGE_CONFIG_TYPES.has(doc.config?.mediaType);
}

/** @param {any} doc @param {string} mediaType */
function kindOf(doc, mediaType) {
  if (isIndex(doc, mediaType)) return "index";
  return isArtifact(doc) ? "artifact" : "image";
}

/**
 * An image config, when it is one and small enough to show; null otherwise.
 * @param {Registry} registry @param {string} name @param {any} descriptor
 */
async function configOf(registry, name, descriptor) {
  if (!IMAGE_CONFIG_TYPES.has(descriptor?.mediaType) || !(Number(descriptor?.size) <= MAX_CONFIG_BYTES)) return null;
  if (typeof descriptor.digest !== "string") return null;
  const config = await registry.blobJson(name, descriptor.digest);
  return config && typeof config === "object" ? config : null;
}

/** Sign-in needed: the answer was 401 and the caller has not signed in yet. @param {ViewContext} ctx @param {unknown} err */
function needsSignIn(ctx, err) {
  return err instanceof ApiError && err.status === 401 && ctx.registry.username === null && (ctx.registry.mode === "basic" || ctx.registry.mode === "token");
}

/** What a view shows when a request fails: the sign-in form, or the registry's error. @param {ViewContext} ctx @param {unknown} err */
function failure(ctx, err) {
  if (needsSignIn(ctx, err)) return signInForm(ctx, `Sign in to see this (the registry said ${errorText(err)}).`);
  return errorBox(err);
}

/** @param {ViewContext} ctx */
function flashBox(ctx) {
  const message = ctx.takeFlash();
  return message ? h("div", { class: "notice", role: "status" }, message) : null;
}

// ------------------------------------------------------------------------------- sign-in

/** @param {ViewContext} ctx @param {string} [reason] */
export function signInForm(ctx, reason) {
  const { registry } = ctx;
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, autocapitalize: "off", spellcheck: "false" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    reason ? h("p", { class: "muted" }, reason) : null,
    h("label", { for: "username" }, "User name"),
    username,
    h("label", { for: "password" }, "Password or token"),
    password,
    error,
    h("div", { class: "actions" }, submit),
    h(
      "p",
      { class: "muted small" },
      registry.mode === "token"
        ? "Your credentials go to the registry's token service; this tab keeps only the refresh token it returns."
        : "This tab keeps your credentials until you sign out or close it.",
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      await registry.signIn(username.value, password.value);
      ctx.signedIn();
    } catch (err) {
      replace(error, `Sign-in failed: ${errorText(err)}`);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => username.focus());
  return form;
}

// ------------------------------------------------------------------------------- repositories

/** @param {ViewContext} ctx */
export async function repositoriesView(ctx) {
  const { registry, main } = ctx;
  const filter = h("input", { type: "search", placeholder: "Filter repositories", "aria-label": "Filter repositories", class: "filter" });
  const list = h("ul", { class: "repos" });
  const count = h("span", { class: "muted count" });
  const more = h("div", { class: "more" });
  const status = h("div", {}, h("p", { class: "muted" }, "Loading repositories…"));
  /** @type {string[]} */
  const names = [];
  replace(main, flashBox(ctx), h("div", { class: "title" }, h("h1", {}, "Repositories"), count, filter), status, list, more);

  const render = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = names.filter((n) => n.includes(needle));
    replace(
      list,
      shown.map((name) => {
        const slash = name.lastIndexOf("/");
        return h(
          "li",
          {},
          h("a", { href: route.repository(name) }, slash >= 0 ? h("span", { class: "namespace" }, name.slice(0, slash + 1)) : null, h("strong", {}, name.slice(slash + 1))),
        );
      }),
    );
    count.textContent = needle ? `${shown.length} of ${names.length}` : `${names.length}`;
  };
  filter.addEventListener("input", render);

  /** @param {string | null} last */
  const load = async (last) => {
    let page;
    try {
      page = await registry.catalog(last);
    } catch (err) {
      if (ctx.current()) replace(status, failure(ctx, err));
      return;
    }
    if (!ctx.current()) return;
    names.push(...page.names);
    replace(status);
    if (names.length === 0) {
      const hint = registry.mode !== "open" && registry.username === null ? "Sign in to see the repositories you may pull." : `Push one: docker push ${location.host}/<name>:<tag>`;
      replace(status, h("p", { class: "empty" }, "No repositories to show. ", hint));
    }
    render();
    const next = page.next;
    replace(more, next === null ? null : h("button", { type: "button", onclick: () => load(next) }, "Load more"));
  };
  await load(null);
}

// ------------------------------------------------------------------------------- one repository

/**
 * What the tag list shows for one tag: digest, kind, platforms, size, date.
 * @param {Registry} registry @param {string} name @param {string} tag @param {ReturnType<typeof limiter>} limit
 */
async function describeTag(registry, name, tag, limit) {
  const manifest = await limit(() => registry.manifest(name, tag));
  const { doc, mediaType } = manifest;
  const kind = kindOf(doc, mediaType);
  if (kind === "index") {
    const children = (Array.isArray(doc.manifests) ? doc.manifests : []).filter((/** @type {any} */ c) => !isAttestation(c));
    const platforms = children.map((/** @type {any} */ c) => formatPlatform(c.platform)).filter(Boolean);
    const images = await Promise.all(
      children.map((/** @type {any} */ c) => limit(() => registry.manifest(name, String(c.digest))).catch(() => null)),
    );
    const sizes = images.map((m) => (m ? imageSize(m.doc) : null));
    const size = sizes.every((s) => s !== null) ? sizes.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) : null;
    let created = doc.annotations?.[CREATED];
    const first = images.find((m) => m !== null);
    if (created === undefined && first) created = (await limit(() => configOf(registry, name, first.doc.config)).catch(() => null))?.created;
    return { digest: manifest.digest, kind, platforms, size, created };
  }
  const config = kind === "image" ? await limit(() => configOf(registry, name, doc.config)).catch(() => null) : null;
  return {
    digest: manifest.digest,
    kind: kind === "artifact" && typeof doc.artifactType === "string" ? doc.artifactType : kind,
    platforms: config ? [formatPlatform(config)].filter(Boolean) : [],
    size: imageSize(doc),
    created: doc.annotations?.[CREATED] ?? config?.created,
  };
}

/** @param {ViewContext} ctx @param {string} name */
export async function repositoryView(ctx, name) {
  const { registry, main } = ctx;
  const rows = h("tbody", {});
  const status = h("div", {}, h("p", { class: "muted" }, "Loading tags…"));
  const count = h("span", { class: "muted count" });
  const more = h("div", { class: "more" });
  const tags = h(
    "table",
    { class: "tags" },
    h("thead", {}, h("tr", {}, ["Tag", "Digest", "Type", "Platforms", "Size", "Created", ""].map((t) => h("th", { scope: "col" }, t)))),
    rows,
  );
  replace(main, flashBox(ctx), h("div", { class: "title" }, h("h1", {}, name), count), status, tags, more);
  const limit = limiter(4);
  let total = 0;

  /** @param {string | null} last */
  const load = async (last) => {
    let page;
    try {
      page = await registry.tags(name, last);
    } catch (err) {
      if (ctx.current()) replace(status, failure(ctx, err));
      return;
    }
    if (!ctx.current()) return;
    replace(status);
    total += page.tags.length;
    count.textContent = `${total} ${total === 1 ? "tag" : "tags"}`;
    if (total === 0) replace(status, h("p", { class: "empty" }, "This repository has no tags."));
    for (const tag of page.tags) {
      const cells = Array.from({ length: 5 }, () => h("td", { class: "muted" }, "…"));
      rows.append(
        h(
          "tr",
          { "data-tag": tag },
          h("td", {}, h("a", { href: route.tag(name, tag), class: "tag" }, tag)),
          cells,
          h("td", {}, copyButton(`docker pull ${pullReference(name)}:${tag}`, "Copy pull")),
        ),
      );
      describeTag(registry, name, tag, limit).then(
        (info) => {
          const [digest, kind, platforms, bytes, created] = cells;
          cells.forEach((c) => c.classList.remove("muted"));
          replace(/** @type {HTMLElement} */ (digest), digestCell(info.digest, route.digest(name, info.digest), false));
          replace(/** @type {HTMLElement} */ (kind), h("span", { class: `badge ${info.kind === "index" || info.kind === "image" ? info.kind : "artifact"}` }, info.kind));
          replace(/** @type {HTMLElement} */ (platforms), info.platforms.length ? info.platforms.join(", ") : "—");
          replace(/** @type {HTMLElement} */ (bytes), size(info.size));
          replace(/** @type {HTMLElement} */ (created), formatDate(info.created));
        },
        (err) => replace(/** @type {HTMLElement} */ (cells[0]), h("span", { class: "error-inline" }, errorText(err))),
      );
    }
    const next = page.next;
    replace(more, next === null ? null : h("button", { type: "button", onclick: () => load(next) }, "Load more"));
  };
  await load(null);
}

// ------------------------------------------------------------------------------- one manifest

/**
 * @param {ViewContext} ctx
 * @param {string} name
 * @param {{ tag?: string, digest?: string }} reference
 */
export async function manifestView(ctx, name, reference) {
  const { registry, main } = ctx;
  const ref = reference.tag ?? reference.digest ?? "";
  const title = h("div", { class: "title" }, h("h1", {}, name, h("span", { class: "ref" }, reference.tag ? `:${reference.tag}` : `@${shortDigest(ref)}`)));
  replace(main, flashBox(ctx), title, h("p", { class: "muted" }, "Loading manifest…"));

  let manifest;
  try {
    manifest = await registry.manifest(name, ref);
  } catch (err) {
    if (ctx.current()) replace(main, title, failure(ctx, err));
    return;
  }
  if (!ctx.current()) return;
  const { doc, digest, mediaType } = manifest;
  const kind = kindOf(doc, mediaType);
  const host = pullReference(name);
  const children = Array.isArray(doc.manifests) ? doc.manifests : [];
  // An index's size is its images' configs and layers, filled in as their manifests arrive.
  const indexSize = h("span", { class: "muted" }, "…");
  const childSizes = children.map(() => h("span", { class: "size muted" }, "…"));
  const commands = h("div", { class: "commands" }, reference.tag ? commandLine(`docker pull ${host}:${reference.tag}`) : null, commandLine(`docker pull ${host}@${digest}`));

  const overview = facts(
    /** @type {[string, unknown][]} */ ([
      ["Digest", h("code", { class: "digest" }, digest)],
      ["Media type", mediaType],
      ["Kind", h("span", { class: `badge ${kind}` }, kind)],
      typeof doc.artifactType === "string" ? ["Artifact type", doc.artifactType] : null,
      ["Size", kind === "index" ? indexSize : `${formatBytes(imageSize(doc))} (config and layers)`],
      doc.annotations?.[CREATED] !== undefined ? ["Created", formatDate(doc.annotations[CREATED])] : null,
      doc.subject && typeof doc.subject.digest === "string"
        ? ["Refers to", h("a", { href: route.digest(name, doc.subject.digest) }, h("code", {}, doc.subject.digest))]
        : null,
    ].filter((pair) => pair !== null)),
  );

  const configSlot = h("div", {}, h("p", { class: "muted" }, "Loading config…"));
  const referrersSlot = h("div", {}, h("p", { class: "muted" }, "Loading referrers…"));
  const deleteSlot = h("div", {});
  const layers = Array.isArray(doc.layers) ? doc.layers : [];

  replace(
    main,
    flashBox(ctx),
    title,
    commands,
    h("section", { class: "overview" }, overview),
    kind === "index"
      ? section(
          "Platforms",
          table(
            ["Platform", "Digest", "Media type", "Size"],
            children.map((/** @type {any} */ c, /** @type {number} */ i) => [
              isAttestation(c) ? h("span", { class: "muted" }, "attestation") : formatPlatform(c.platform) || "—",
              digestCell(String(c.digest), typeof c.digest === "string" ? route.digest(name, c.digest) : undefined, false),
              text(c.mediaType),
              /** @type {HTMLElement} */ (childSizes[i]),
            ]),
          ),
        )
      : null,
    kind !== "index" ? section(`Layers (${layers.length})`, layersTable(layers)) : null,
    kind !== "index" ? section("Config", configSlot) : null,
    section("Annotations", keyValues(doc.annotations) ?? h("p", { class: "empty" }, "No annotations.")),
    section("Referrers", referrersSlot),
    rawJson("Manifest JSON", doc),
    h("section", { class: "danger-zone" }, h("h2", {}, "Delete"), deleteSlot),
  );

  if (kind === "index") {
    const limit = limiter(4);
    Promise.all(
      children.map((/** @type {any} */ c, /** @type {number} */ i) =>
        limit(() => registry.manifest(name, String(c.digest))).then(
          (child) => {
            const bytes = imageSize(child.doc);
            const cell = /** @type {HTMLElement} */ (childSizes[i]);
            cell.classList.remove("muted");
            replace(cell, formatBytes(bytes));
            return isAttestation(c) ? 0 : bytes;
          },
          () => null,
        ),
      ),
    ).then((sizes) => {
      if (!ctx.current()) return;
      indexSize.classList.remove("muted");
      const total = sizes.every((s) => s !== null) ? sizes.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) : null;
      replace(indexSize, `${formatBytes(total)} (configs and layers of its images)`);
    });
  } else {
    configOf(registry, name, doc.config).then(
      (config) => ctx.current() && replace(configSlot, configDetails(doc.config, config)),
      (err) => ctx.current() && replace(configSlot, configDetails(doc.config, null), errorBox(err)),
    );
  }
  registry.referrers(name, digest).then(
    (list) => ctx.current() && replace(referrersSlot, referrersTable(name, list)),
    (err) => ctx.current() && replace(referrersSlot, errorBox(err)),
  );
  registry.mayDelete(name).then((may) => ctx.current() && replace(deleteSlot, deleteControls(ctx, name, digest, may)));
}

/** @param {any[]} layers */
function layersTable(layers) {
  if (layers.length === 0) return h("p", { class: "empty" }, "No layers.");
  const annotated = layers.some((layer) => compactKeyValues(layer?.annotations) !== null);
  return table(
    ["#", "Digest", "Media type", "Size", ...(annotated ? ["Annotations"] : [])],
    layers.map((layer, i) => [
      String(i + 1),
      digestCell(String(layer?.digest)),
      text(layer?.mediaType),
      size(layer?.size),
      ...(annotated ? [compactKeyValues(layer?.annotations) ?? ""] : []),
    ]),
    "layers",
  );
}

/** @param {any} descriptor @param {any} config */
function configDetails(descriptor, config) {
  const base = [
    ["Digest", h("code", { class: "digest" }, text(descriptor?.digest))],
    ["Media type", text(descriptor?.mediaType)],
    ["Size", formatBytes(descriptor?.size)],
  ];
  if (!config) return facts(/** @type {[string, unknown][]} */ (base));
  const run = config.config && typeof config.config === "object" ? config.config : {};
  const command = [...(Array.isArray(run.Entrypoint) ? run.Entrypoint : []), ...(Array.isArray(run.Cmd) ? run.Cmd : [])].map(text).join(" ");
  const pairs = /** @type {[string, unknown][]} */ (
    [
      ...base,
      ["Platform", formatPlatform(config) || "—"],
      ["Created", formatDate(config.created)],
      config.author !== undefined ? ["Author", config.author] : null,
      command ? ["Command", h("code", {}, command)] : null,
      run.WorkingDir ? ["Working dir", run.WorkingDir] : null,
      run.User ? ["User", run.User] : null,
      Array.isArray(run.Env) && run.Env.length ? ["Environment", h("ul", { class: "plain" }, run.Env.map((/** @type {unknown} */ e) => h("li", {}, h("code", {}, text(e)))))] : null,
      run.ExposedPorts && typeof run.ExposedPorts === "object" ? ["Ports", Object.keys(run.ExposedPorts).join(", ")] : null,
      Array.isArray(config.history) ? ["History", `${config.history.length} ${config.history.length === 1 ? "step" : "steps"}`] : null,
    ].filter((pair) => pair !== null)
  );
  return h("div", {}, facts(pairs), run.Labels ? h("h3", {}, "Labels") : null, keyValues(run.Labels), rawJson("Config JSON", config));
}

/** @param {string} name @param {any[]} list */
function referrersTable(name, list) {
  if (list.length === 0) return h("p", { class: "empty" }, "No signatures, SBOMs or other artifacts refer to this manifest.");
  return table(
    ["Artifact type", "Digest", "Size", "Annotations"],
    list.map((r) => [
      text(r.artifactType ?? r.mediaType),
      digestCell(String(r.digest), typeof r.digest === "string" ? route.digest(name, r.digest) : undefined, false),
      size(r.size),
      compactKeyValues(r.annotations) ?? "",
    ]),
    "referrers",
  );
}

/**
 * The delete button (with a confirmation), a note when the caller may not delete, and the
 * registry's refusal when a delete fails.
 * @param {ViewContext} ctx @param {string} name @param {string} digest @param {boolean | null} may
 */
function deleteControls(ctx, name, digest, may) {
  if (may === false) return h("p", { class: "muted" }, "You may not delete manifests in this repository.");
  const result = h("div", {});
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "confirm-title" },
    h("h2", { id: "confirm-title" }, "Delete this manifest?"),
    h("p", {}, h("code", { class: "digest" }, `${name}@${digest}`)),
    h("p", { class: "muted" }, "Tags that point to it go with it. Clients can no longer pull it."),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "button", class: "danger", onclick: () => dialog.close("delete") }, "Delete"),
    ),
  );
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    dialog.returnValue = "";
    replace(result, h("p", { class: "muted" }, "Deleting…"));
    try {
      await ctx.registry.deleteManifest(name, digest);
    } catch (err) {
      replace(result, errorBox(err));
      return;
    }
    ctx.flash(`Deleted ${name}@${digest}.`);
    location.hash = route.repository(name);
  });
  const button = h("button", { type: "button", class: "danger", onclick: () => dialog.showModal() }, "Delete manifest…");
  return h("div", {}, h("p", { class: "muted" }, "Deletes the manifest by its digest, with the tags that point to it."), button, dialog, result);
}
