import { expect, test } from "bun:test";
import { httpRoutes } from "@dispatch/protocol";
import { type ApiDeps, apiRoutes } from "./api";

test("the server routes exactly the protocol's HTTP route table", () => {
  // Building the table only creates closures; no dependency is touched.
  const table = apiRoutes({} as ApiDeps);
  const served = Object.entries(table)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`))
    .sort();
  const documented = httpRoutes
    .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/\{(\w+)\}/g, ":$1")}`)
    .sort();
  expect(served).toEqual(documented);
});
