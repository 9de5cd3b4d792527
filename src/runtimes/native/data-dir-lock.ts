// One registry process per data directory: upload sessions exclude each other inside one process
// only, so a second process on the same directory could corrupt uploads. The lock is a file
// created exclusively, holding the owner's pid, host and a random token. A lock whose process is
// gone (same host, pid not running) is stale and taken over.
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import { hostname, uptime } from "node:os";
import path from "node:path";
import process from "node:process";

export const LOCK_FILE = "registry.lock";

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

/** Tokens of the locks this process holds: a lock with our pid but another token is a previous
 * incarnation's (a container's pid 1 restarted), not ours. */
const heldHere = new Set<string>();

/** An unreadable lock (its writer died between creating and writing it) older than this is stale. */
const UNREADABLE_STALE_MS = 10_000;

export class DataDirLock {
  private released = false;

  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  /** Takes the lock of `dir` or throws an error naming the process that holds it. */
  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, LOCK_FILE);
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(16).toString("hex"), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = fs.openSync(file, "wx", 0o644);
        try {
          fs.writeSync(fd, JSON.stringify(owner) + "\n");
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        heldHere.add(owner.token);
        return new DataDirLock(file, owner.token);
      } catch (err) {
        if ((err as { code?: string }).code !== "EEXIST") throw err;
      }
      const text = readLock(file);
      if (text === null) continue; // released meanwhile: try again
      const holder = parseOwner(text);
      if (holder ? !isStale(holder) : !unreadableIsStale(file)) {
        const who = holder ? `process ${holder.pid} on ${holder.host} (since ${holder.since})` : "another process";
        throw new Error(`data directory ${dir} is in use by ${who}: stop it, or remove ${file} if it is gone`);
      }
      // Remove the stale lock only if it is still the one just read (another starter may have replaced it).
      if (readLock(file) === text) fs.rmSync(file, { force: true });
    }
    throw new Error(`could not take the lock ${file}`);
  }

  /** Removes the lock file, if it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = parseOwner(readLock(this.file) ?? "");
    if (holder?.token === this.token) fs.rmSync(this.file, { force: true });
    heldHere.delete(this.token);
  }
}

function readLock(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === "string" && typeof owner.token === "string" ? owner : null;
  } catch {
    return null;
  }
}

function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false; // cannot tell: a process elsewhere may hold it
  if (Date.parse(owner.since) < Date.now() - uptime() * 1000 - 60_000) return true; // taken before this boot
  if (owner.pid === process.pid) return !heldHere.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return isZombie(owner.pid); // a killed process nobody has reaped yet holds nothing
  } catch (err) {
    return (err as { code?: string }).code === "ESRCH";
  }
}

/** Linux: the process has exited but is not reaped (state Z or X in /proc/<pid>/stat). Elsewhere: false. */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return false;
  }
}

function unreadableIsStale(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > UNREADABLE_STALE_MS;
  } catch {
    return true;
  }
}
