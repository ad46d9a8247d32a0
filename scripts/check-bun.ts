/**
 * The Bun version is pinned in one place: package.json "packageManager" (bun@X.Y.Z).
 * Scripts that need Bun run this first, so a mismatched toolchain reports itself instead of failing oddly.
 */
import pkg from "../package.json" with { type: "json" };

export const pinnedBunVersion: string = pkg.packageManager.replace(/^bun@/, "");

/** Pure: true when `actual` has the same major.minor as `pinned` (patch releases are compatible). */
export function bunVersionMatches(pinned: string, actual: string): boolean {
  const [wantMajor, wantMinor] = pinned.split(".");
  const [haveMajor, haveMinor] = actual.split(".");
  return wantMajor === haveMajor && wantMinor === haveMinor;
}

export function assertBunVersion(): void {
  if (!bunVersionMatches(pinnedBunVersion, Bun.version)) {
    console.error(
      `dispatch needs Bun ${pinnedBunVersion}, but this is Bun ${Bun.version}. Install it: npm install -g bun@${pinnedBunVersion}`,
    );
    process.exit(1);
  }
}

if (import.meta.main) assertBunVersion();
