import { expect, test } from "bun:test";
import { parseRelayArgs } from "./cli";

const base = ["--redis", "redis://127.0.0.1:6379", "--port", "0"];

test("--connections-per-address is parsed as a positive integer, absent by default", () => {
  const none = parseRelayArgs(base);
  expect(none.ok && none.value.connectionsPerAddress).toBeUndefined();
  for (const argv of [
    [...base, "--connections-per-address", "5000"],
    [...base, "--connections-per-address=5000"],
  ]) {
    const r = parseRelayArgs(argv);
    expect(r.ok && r.value.connectionsPerAddress).toBe(5000);
  }
});

test("a --connections-per-address that is not an integer 1..10000000 is refused, naming the flag", () => {
  for (const v of ["0", "-1", "1.5", "lots", "", "10000001"]) {
    const r = parseRelayArgs([...base, "--connections-per-address", v]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain("--connections-per-address");
  }
  const missing = parseRelayArgs([...base, "--connections-per-address"]);
  expect(missing.ok).toBe(false);
});
