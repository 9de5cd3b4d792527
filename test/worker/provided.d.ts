// What test/pull-through/worker-upstream.ts (the worker suite's globalSetup) provides to inject().
export {};

declare module "vitest" {
  export interface ProvidedContext {
    pullThroughUpstream: {
      url: string;
      manifest: string;
      blobs: { digest: string; size: number }[];
      large: { digest: string; size: number };
      abandoned: { digest: string; size: number };
    };
  }
}
