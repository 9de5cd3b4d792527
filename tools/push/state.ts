// Upload sessions in progress, remembered on disk so that a push killed midway resumes its
// layers from the registry's offset instead of from zero.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import type { ChunkLimits } from "./upload.ts";

export interface SavedSession {
  location: string;
  limits: ChunkLimits;
}

type StateFile = Record<string, Record<string, SavedSession>>;

export function defaultStateFile(): string {
  const base = process.env.XDG_STATE_HOME ?? path.join(homedir(), ".local", "state");
  return path.join(base, "edge-registry", "push-sessions.json");
}

export class SessionStore {
  private readonly file: string;
  private writes: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  private async load(): Promise<StateFile> {
    try {
      return JSON.parse(await readFile(this.file, "utf8")) as StateFile;
    } catch {
      return {};
    }
  }

  async get(target: string, digest: string): Promise<SavedSession | null> {
    await this.writes;
    return (await this.load())[target]?.[digest] ?? null;
  }

  set(target: string, digest: string, session: SavedSession | null): Promise<void> {
    // Read-modify-write, one at a time; rename makes each write atomic.
    this.writes = this.writes.then(async () => {
      const state = await this.load();
      const sessions = (state[target] ??= {});
      if (session) sessions[digest] = session;
      else delete sessions[digest];
      if (Object.keys(sessions).length === 0) delete state[target];
      await mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(state, null, 1));
      await rename(tmp, this.file);
    });
    return this.writes;
  }
}
