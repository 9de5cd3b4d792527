// Rules that keep what clients rely on: immutable tags never move and are never deleted, and a
// manifest a tagged index of the same repository lists cannot be deleted before that index.
// One function per request kind, called by src/routes/manifests.ts before it changes anything.
import type { RegistryContext } from "../../context";
import { formatDigest, type Digest } from "../../oci/digest";
import { RegistryError } from "../../oci/errors";
import { MediaType } from "../../oci/manifest";
import { keys } from "../../storage/layout";
import { listAll, manifestRefs } from "./collector";
import { isImmutable } from "./config";

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.ociIndex, MediaType.dockerManifestList]);

const conflict = (message: string, detail: unknown) => new RegistryError("DENIED", message, { status: 409, detail });

const immutable = (ctx: RegistryContext, tag: string) => isImmutable(ctx.lifecycle?.immutableTags ?? [], tag);

/** A push may create an immutable tag, or push the same digest to it again; never move it. */
export async function checkTagWrite(ctx: RegistryContext, name: string, tags: string[], digest: Digest): Promise<void> {
  for (const tag of tags) {
    if (!immutable(ctx, tag)) continue;
    const current = await ctx.store.resolveTag(name, tag);
    if (current && formatDigest(current.digest) !== formatDigest(digest)) {
      throw conflict(`tag ${tag} is immutable: it already names another manifest`, { tag, current: formatDigest(current.digest) });
    }
  }
}

export async function checkTagDelete(ctx: RegistryContext, name: string, tag: string): Promise<void> {
  if (immutable(ctx, tag) && (await ctx.store.resolveTag(name, tag))) {
    throw conflict(`tag ${tag} is immutable and cannot be deleted`, { tag });
  }
}

/** Deleting a manifest also deletes its tags: refused when one is immutable, or when a tagged index lists it. */
export async function checkManifestDelete(ctx: RegistryContext, name: string, digest: Digest): Promise<void> {
  const target = formatDigest(digest);
  const tags = await listAll(ctx.store.objects, keys.tags(name), true);
  const prefix = keys.tags(name);
  for (const t of tags) {
    const tag = t.key.slice(prefix.length);
    if (t.metadata.digest === target && immutable(ctx, tag)) {
      throw conflict(`manifest is tagged ${tag}, an immutable tag: it cannot be deleted`, { tag });
    }
  }
  const seen = new Set<string>();
  for (const t of tags) {
    const index = t.metadata.digest;
    if (!index || index === target || seen.has(index) || !INDEX_TYPES.has(t.metadata.mediaType ?? "")) continue;
    seen.add(index);
    const opened = await ctx.store.openTag(name, t.key.slice(prefix.length));
    if (!opened) continue;
    const refs = manifestRefs(new Uint8Array(await new Response(opened.body.body).arrayBuffer()));
    if (refs.manifests.includes(target)) {
      throw conflict("manifest is listed by a tagged index in this repository: delete the index first", {
        index,
        tag: t.key.slice(prefix.length),
      });
    }
  }
}
