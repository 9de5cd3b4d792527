#!/usr/bin/env node
// `registry-push` on PATH (npm link / npx): Node >= 22.18 runs the TypeScript sources directly.
import "./cli.ts";
