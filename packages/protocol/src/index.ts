/** `@dispatch/protocol`: wire types, zod schemas, boundary parsers and the JSON Schema / OpenAPI export. */

export * from "./http-routes";
export * from "./json-schema";
export * from "./levels";
export * from "./limits";
export * from "./parse";
export * from "./schemas";
export type * from "./types";
