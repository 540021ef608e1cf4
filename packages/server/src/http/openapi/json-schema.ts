/**
 * A zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), everything inlined:
 * the one conversion behind both the serializers on the wire and the document.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/**
 * `io: 'input'` describes what a request may send (before defaults and transforms), `output`
 * what a response holds. Refinements (checks in code) have no JSON Schema form and are left
 * out; the messages they give are in the error responses.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
  delete json.$schema;
  return nullableAsType(json) as JsonSchema;
}

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `anyOf: [X, { type: 'null' }]` (how zod writes `.nullable()`) as X with `null` among its
 * types: the same set of values, which the compiled serializer writes directly instead of
 * trying each branch at run time (twice as slow on a page of audit entries).
 */
function nullableAsType(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableAsType);
  if (!isObject(node)) return node;
  const out: JsonSchema = {};
  for (const [name, value] of Object.entries(node)) out[name] = nullableAsType(value);
  const branches = out.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2) return out;
  const nullAt = branches.findIndex((b) => isObject(b) && b.type === 'null' && Object.keys(b).length === 1);
  const other = branches[1 - nullAt] as unknown;
  if (nullAt === -1 || !isObject(other) || typeof other.type !== 'string') return out;
  const { anyOf: _anyOf, ...rest } = out;
  const merged: JsonSchema = { ...other, ...rest, type: [other.type, 'null'] };
  if (Array.isArray(other.enum)) merged.enum = [...(other.enum as unknown[]), null];
  if ('const' in other) {
    delete merged.const;
    merged.enum = [other.const, null];
  }
  return merged;
}
