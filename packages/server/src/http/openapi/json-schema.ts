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
  return json;
}
