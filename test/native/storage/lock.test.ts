// The data-directory lock: a second registry process is refused while one runs; a lock left by a
// dead process (kill -9), or an unreadable one that is old, is taken over.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLock, LOCK_FILE } from "../../../src/runtimes/native/data-dir-lock";
import { open } from "./registry-contract";
import { tempDir } from "./support";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir("lock");
  dirs.push(d);
  return d;
}

function lockOf(pid: number, since = new Date().toISOString()): string {
  return JSON.stringify({ pid, host: hostname(), token: "0".repeat(32), since });
}

describe("data directory lock", () => {
  it("refuses a directory held by a running process, naming it", async () => {
    const dataDir = dir();
    const holder = spawn("sleep", ["30"]);
    try {
      fs.writeFileSync(path.join(dataDir, LOCK_FILE), lockOf(holder.pid!));
      await expect(open(dataDir)).rejects.toThrow(new RegExp(`in use by process ${holder.pid} on ${hostname()}`));
      expect(fs.existsSync(path.join(dataDir, "uploads.sqlite")), "nothing opened").toBe(false);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over the lock of a process that is gone", async () => {
    const dataDir = dir();
    const gone = spawn("true");
    await new Promise((resolve) => gone.on("exit", resolve));
    fs.writeFileSync(path.join(dataDir, LOCK_FILE), lockOf(gone.pid!));
    const registry = await open(dataDir);
    const owner = JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), "utf8"));
    expect(owner.pid).toBe(process.pid);
    await registry.close();
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE)), "released at close").toBe(false);
  });

  it("takes over a lock with our pid from an earlier incarnation (a restarted container's pid 1), not our own", () => {
    const dataDir = dir();
    fs.writeFileSync(path.join(dataDir, LOCK_FILE), lockOf(process.pid));
    const lock = DataDirLock.acquire(dataDir);
    expect(() => DataDirLock.acquire(dataDir)).toThrow(/in use by process/);
    lock.release();
  });

  it("takes over a lock written before this boot", () => {
    const dataDir = dir();
    const holder = spawn("sleep", ["30"]);
    try {
      fs.writeFileSync(path.join(dataDir, LOCK_FILE), lockOf(holder.pid!, "2001-01-01T00:00:00.000Z"));
      DataDirLock.acquire(dataDir).release();
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("an unreadable lock is stale only once it is old", () => {
    const dataDir = dir();
    const file = path.join(dataDir, LOCK_FILE);
    fs.writeFileSync(file, "");
    expect(() => DataDirLock.acquire(dataDir)).toThrow(/in use by another process/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    DataDirLock.acquire(dataDir).release();
  });

  it("a lock from another host is never taken over", () => {
    const dataDir = dir();
    fs.writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid: 1, host: "elsewhere", token: "x", since: new Date().toISOString() }));
    expect(() => DataDirLock.acquire(dataDir)).toThrow(/in use by process 1 on elsewhere/);
  });
});
