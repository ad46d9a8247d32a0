export * from "./args";
export * from "./chat";
export * from "./ids";
export * from "./io";
export * from "./render";
export * from "./run";
