/** zod 4 schemas for every protocol shape. Types-only consumers import `@dispatch/protocol/types` instead. */
export * from "./schemas/client";
export * from "./schemas/common";
export * from "./schemas/events";
export * from "./schemas/history";
export * from "./schemas/http";
export * from "./schemas/server";
export * from "./schemas/surfaces";
