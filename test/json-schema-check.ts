/**
 * A small JSON Schema checker for the schemas in /api/v1/openapi.json (OpenAPI 3.1 = JSON Schema
 * 2020-12), written here so the test reads the document as a client does (no TypeBox symbols).
 * Keywords: type (one or a list), properties, required, additionalProperties (false or a schema),
 * patternProperties, items, enum, const, anyOf, minimum, maximum, exclusiveMinimum, minItems,
 * maxItems, pattern, maxLength, format date-time, and $ref into the document given as `root`
 * ("#/components/schemas/Flow"); description and default are annotations. Any
 * other keyword throws, so a schema is never passed for a keyword this checker ignores.
 */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  maxLength?: number;
  format?: string;
  description?: string;
  default?: unknown;
}

const KNOWN = new Set(["$ref", "type", "properties", "required", "additionalProperties", "patternProperties", "items", "enum", "const", "anyOf",
  "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "pattern", "maxLength", "format", "description", "default"]);

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The schema `ref` ("#/components/schemas/X") points to in `root`. */
export function resolveRef(ref: string, root: unknown): JsonSchema {
  if (!ref.startsWith("#/")) throw new Error(`only local references are supported: ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split("/")) node = (node as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  if (node === undefined) throw new Error(`unresolved reference ${ref}`);
  return node as JsonSchema;
}

/** Every way `value` breaks `schema`, as "path: problem" lines (empty: it conforms). */
export function schemaErrors(schema: JsonSchema, value: unknown, path = "$", root?: unknown): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`${path}: schema keyword "${k}" is not supported by this checker`);
  if (schema.$ref !== undefined) return schemaErrors(resolveRef(schema.$ref, root), value, path, root);
  const errs: string[] = [];
  const s = schema;
  if (s.anyOf) {
    const branches = s.anyOf.map((b) => schemaErrors(b, value, path, root));
    if (!branches.some((e) => e.length === 0)) errs.push(`${path}: matches none of anyOf (${branches.map((e) => e[0]).join(" | ")})`);
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [...errs, `${path}: ${t} where ${types.join("|")} is expected`];
  }
  if (s.const !== undefined && value !== s.const) errs.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(value)) errs.push(`${path}: ${JSON.stringify(value)} is not one of ${s.enum.join(", ")}`);
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) errs.push(`${path}: ${value} < minimum ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errs.push(`${path}: ${value} > maximum ${s.maximum}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) errs.push(`${path}: ${value} <= exclusiveMinimum ${s.exclusiveMinimum}`);
  }
  if (typeof value === "string") {
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value)) errs.push(`${path}: "${value}" does not match ${s.pattern}`);
    if (s.maxLength !== undefined && [...value].length > s.maxLength) errs.push(`${path}: longer than ${s.maxLength}`);
    if (s.format === "date-time" && (!ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) errs.push(`${path}: "${value}" is not an RFC 3339 date-time`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) errs.push(`${path}: fewer than ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) errs.push(`${path}: more than ${s.maxItems} items`);
    if (s.items) value.forEach((v, i) => errs.push(...schemaErrors(s.items!, v, `${path}[${i}]`, root)));
  }
  if (typeOf(value) === "object") {
    const o = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${path}: required property "${r}" is missing`);
    for (const [k, v] of Object.entries(o)) {
      const p = `${path}.${k}`;
      const own = s.properties?.[k];
      const patterned = Object.entries(s.patternProperties ?? {}).filter(([re]) => new RegExp(re, "u").test(k));
      if (own) errs.push(...schemaErrors(own, v, p, root));
      for (const [, ps] of patterned) errs.push(...schemaErrors(ps, v, p, root));
      if (!own && patterned.length === 0) {
        if (s.additionalProperties === false) errs.push(`${p}: property not in the schema`);
        else if (typeof s.additionalProperties === "object") errs.push(...schemaErrors(s.additionalProperties, v, p, root));
      }
    }
  }
  return errs;
}
