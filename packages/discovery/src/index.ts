export * from "./discovery";
