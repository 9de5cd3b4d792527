#!/usr/bin/env node
// Sums the vitest JSON results of every suite (.test-results/*.json) into one closing line,
// "N passed, N failed, N skipped", and fails when a suite is missing or ran no test.
import { readFileSync } from "node:fs";

const suites = ["worker", "native", "native-storage", "conformance", "browser", "e2e"];
let passed = 0;
let failed = 0;
let skipped = 0;
let problems = 0;
for (const suite of suites) {
  let result;
  try {
    result = JSON.parse(readFileSync(`.test-results/${suite}.json`, "utf8"));
  } catch {
    console.error(`${suite}: no results (.test-results/${suite}.json)`);
    problems += 1;
    continue;
  }
  const skippedHere = result.numPendingTests + result.numTodoTests;
  console.log(`${suite}: ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${skippedHere} skipped`);
  if (result.numTotalTests === 0) problems += 1;
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += skippedHere;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems > 0 ? 1 : 0);
