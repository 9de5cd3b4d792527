// The upload-session Durable Object: one instance per blob upload, addressed by the upload id.
// It adapts Durable Object storage and alarms to the runtime-independent UploadSessionCore.
import { DurableObject } from "cloudflare:workers";
import type { HashAlgorithm } from "../src/hash/resumable-hash";
import { R2ObjectStore } from "../src/runtimes/workers/r2";
import type { Env } from "../src/runtimes/workers/env";
import { uploadConfig } from "../src/settings";
import type { AppendOptions, SessionResult, UploadSessionApi, UploadStatus } from "../src/uploads/protocol";
import type { UploadSessions } from "../src/uploads/sessions";
import { useSha256Wasm } from "../src/hash/sha256-wasm";
import sha256Wasm from "../src/hash/sha256.wasm";
import { UploadSessionCore } from "../src/uploads/session";
import type { SessionStorage } from "../src/uploads/session-state";

// Upload bytes are hashed here: use the WebAssembly SHA-256 (a module import, as workerd requires).
useSha256Wasm(sha256Wasm);

class DurableSessionStorage implements SessionStorage {
  constructor(private readonly storage: DurableObjectStorage) {}

  get<T>(key: string): Promise<T | undefined> {
    return this.storage.get<T>(key);
  }

  getMany<T>(keys: string[]): Promise<Map<string, T>> {
    return this.storage.get<T>(keys);
  }

  async commit(entries: Record<string, unknown>, deletes: string[] = []): Promise<void> {
    await this.storage.transaction(async (txn) => {
      if (deletes.length > 0) await txn.delete(deletes);
      await txn.put(entries);
    });
  }

  async deleteAll(): Promise<void> {
    await this.storage.deleteAlarm();
    await this.storage.deleteAll();
  }

  async setAlarm(at: number): Promise<void> {
    await this.storage.setAlarm(at);
  }
}

export class UploadSession extends DurableObject<Env> implements UploadSessionApi {
  private readonly core: UploadSessionCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.core = new UploadSessionCore(
      ctx.id.toString(),
      new DurableSessionStorage(ctx.storage),
      new R2ObjectStore(env.BUCKET),
      uploadConfig(env),
    );
  }

  create(name: string, algorithm: HashAlgorithm): Promise<SessionResult<UploadStatus>> {
    return this.core.create(name, algorithm);
  }

  status(name: string): Promise<SessionResult<UploadStatus>> {
    return this.core.status(name);
  }

  append(name: string, start: number | null, body: ReadableStream<Uint8Array>, options?: AppendOptions): Promise<SessionResult<UploadStatus>> {
    return this.core.append(name, start, body, options);
  }

  finish(name: string, digest: string, start: number | null, body: ReadableStream<Uint8Array> | null, options?: AppendOptions): Promise<SessionResult<{ size: number }>> {
    return this.core.finish(name, digest, start, body, options);
  }

  cancel(name: string): Promise<SessionResult<null>> {
    return this.core.cancel(name);
  }

  exists(): Promise<boolean> {
    return this.core.exists();
  }

  override async alarm(): Promise<void> {
    await this.core.expire();
  }
}

/** Upload sessions as Durable Objects: the upload id is the object's id. */
export function durableUploadSessions(namespace: DurableObjectNamespace<UploadSession>): UploadSessions {
  return {
    newId: () => namespace.newUniqueId().toString(),
    get(id) {
      if (!/^[0-9a-f]{64}$/.test(id)) return null;
      try {
        return namespace.get(namespace.idFromString(id)) as unknown as UploadSessionApi;
      } catch {
        return null; // not an id this namespace issued
      }
    },
  };
}
