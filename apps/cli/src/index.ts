export * from "./args";
export * from "./ids";
export * from "./render";
export * from "./run";
