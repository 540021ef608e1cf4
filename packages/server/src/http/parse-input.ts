/**
 * Validating an input against its schema (schemas.ts): the first problem becomes a 400
 * VALIDATION_ERROR whose message names the field at fault, and its `field`.
 */
import type { z } from 'zod';
import { AppError } from '../errors.js';

function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates `data` against `schema`; throws a 400 naming the first field at fault.
 * `where` says what is being validated ("request body", "path") for errors at the top.
 */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  if (issue.code === 'unrecognized_keys') {
    const field = fieldOf([...issue.path, issue.keys[0] as string]);
    return fail(`${field}: unknown field (allowed: ${allowedFields(schema).join(', ')})`, field);
  }
  const field = fieldOf(issue.path);
  if (field === '') {
    // A rule on the whole object (custom), or not an object at all.
    return fail(
      issue.code === 'custom' ? `${where}: ${issue.message}` : `${where} must be a JSON object`,
      undefined,
    );
  }
  return fail(`${field}: ${issue.message}`, field);
}

function fail(message: string, field: string | undefined): never {
  throw new AppError('VALIDATION_ERROR', message, field);
}

function allowedFields(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}
