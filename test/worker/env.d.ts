// Types for `env` from "cloudflare:test" in this suite: the Worker's own bindings (src/env.ts).
declare namespace Cloudflare {
  interface Env extends import("../../src/env").Env {}
}
