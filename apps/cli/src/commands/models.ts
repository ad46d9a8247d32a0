import { EXIT } from "../io";
import { safeLine } from "../sanitize";
import type { CommandSpec } from "./spec";

export const models: CommandSpec = {
  name: "models",
  usage: "models",
  summary: "list the models the daemon offers (* marks the default)",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  async run({ daemon, json, print, printJson, out }) {
    const res = await (await daemon()).http.models();
    if (json) {
      printJson(res);
      return EXIT.ok;
    }
    for (const name of res.models) {
      const info = res.modelInfo?.[name];
      const extras = [
        name === res.defaultModel ? "default" : "",
        info?.contextWindow ? `${info.contextWindow.toLocaleString("en-US")} ctx` : "",
        info?.vision ? "vision" : "",
      ].filter(Boolean);
      const mark = name === res.defaultModel ? out("bold", "* ") : "  ";
      print(`${mark}${safeLine(name)}${extras.length ? `  (${extras.join(", ")})` : ""}`);
    }
    return EXIT.ok;
  },
};
