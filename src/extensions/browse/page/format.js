// @ts-check
// How values are shown: sizes, dates, platforms, digests. Inputs come from registry data and may
// be of any type; each function copes with that.

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal units, as the docker CLI shows sizes. @param {unknown} bytes */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (typeof bytes !== "number" && typeof bytes !== "string") return "—";
  if (!Number.isFinite(n) || n < 0) return "—";
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/** "2025-11-04 10:21 UTC", or "—" for anything that is not a date. @param {unknown} value */
export function formatDate(value) {
  if (typeof value !== "string" && typeof value !== "number") return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "—";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * "linux/arm64/v8" from an OCI platform object (an index entry's `platform`, or an image config).
 * @param {any} platform
 */
export function formatPlatform(platform) {
  if (!platform || typeof platform !== "object") return "";
  const parts = [platform.os, platform.architecture, platform.variant].filter((p) => typeof p === "string" && p !== "");
  return parts.join("/");
}

/** "sha256:0123456789ab" (the algorithm and 12 hex digits). @param {unknown} digest */
export function shortDigest(digest) {
  const value = typeof digest === "string" ? digest : "";
  const colon = value.indexOf(":");
  return colon < 0 ? value : value.slice(0, colon + 13);
}
