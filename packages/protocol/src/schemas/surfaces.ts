import { z } from "zod";
import { named } from "./common";

export const SurfaceScopeSchema = z.enum(["global", "conversation"]);

export const CatalogEntrySchema = named(
  z.object({ id: z.string(), region: z.string(), title: z.string(), scope: SurfaceScopeSchema.optional() }),
  "CatalogEntry",
  "One entry of the surface catalog; absent scope = conversation-scoped.",
);

export const FieldActionSchema = named(z.object({ actionId: z.string() }), "FieldAction");

export const ToggleFieldSchema = named(
  z.object({
    kind: z.literal("toggle"),
    label: z.string(),
    value: z.boolean(),
    action: FieldActionSchema,
  }),
  "ToggleField",
);
export const ProgressFieldSchema = named(
  z.object({
    kind: z.literal("progress"),
    label: z.string(),
    value: z.number().min(0).max(1),
  }),
  "ProgressField",
);
export const SelectorOptionSchema = named(
  z.object({ value: z.string(), label: z.string() }),
  "SelectorOption",
);
export const SelectorFieldSchema = named(
  z.object({
    kind: z.literal("selector"),
    label: z.string(),
    value: z.string(),
    options: z.array(SelectorOptionSchema),
    action: FieldActionSchema,
  }),
  "SelectorField",
);
export const StatFieldSchema = named(
  z.object({ kind: z.literal("stat"), label: z.string(), value: z.string() }),
  "StatField",
);
export const NumberFieldSchema = named(
  z.object({
    kind: z.literal("number"),
    label: z.string(),
    value: z.number(),
    min: z.number().optional(),
    max: z.number().optional(),
    step: z.number().optional(),
    unit: z.string().optional(),
    action: FieldActionSchema,
  }),
  "NumberField",
);
export const ButtonFieldSchema = named(
  z.object({ kind: z.literal("button"), label: z.string(), action: FieldActionSchema }),
  "ButtonField",
);
export const CustomFieldSchema = named(
  z.object({
    kind: z.literal("custom"),
    rendererId: z.string(),
    payload: z.unknown(),
  }),
  "CustomField",
);

export const FieldSchema = named(
  z.discriminatedUnion("kind", [
    ToggleFieldSchema,
    ProgressFieldSchema,
    SelectorFieldSchema,
    StatFieldSchema,
    NumberFieldSchema,
    ButtonFieldSchema,
    CustomFieldSchema,
  ]),
  "Field",
  "A surface field, discriminated by `kind`. Clients skip `custom` fields they have no renderer for.",
);

export const SurfaceSpecSchema = named(
  z.object({ id: z.string(), region: z.string(), title: z.string(), fields: z.array(FieldSchema) }),
  "SurfaceSpec",
);

export const SurfaceUpdateSchema = named(
  z.object({ surfaceId: z.string(), spec: SurfaceSpecSchema, conversationId: z.string().optional() }),
  "SurfaceUpdate",
);
