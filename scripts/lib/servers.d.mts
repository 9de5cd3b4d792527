import type { ChildProcess } from "node:child_process";

export function running(child: ChildProcess): boolean;
export function stopProcess(child: ChildProcess): Promise<void>;
export function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<void>;
export function waitForAnswer(
  url: string,
  options?: { accept?: (status: number) => boolean; intervalMs?: number; timeoutMs?: number; child?: ChildProcess; log?: () => string },
): Promise<void>;
export function startServe(root: string, env: Record<string, string>): Promise<ChildProcess>;
export function writeReferenceConfig(
  file: string,
  options: { port: number; rootDirectory: string; accessLog?: boolean; deletes?: boolean },
): string;
