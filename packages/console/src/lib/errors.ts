/** Turns whatever a call threw into the sentence shown to the person (the server's own message). */
import { isDuctapeError } from '@ductape/sdk';

export function messageOf(error: unknown): string {
  if (isDuctapeError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The request field the server named, when it named one (`key`, `scope[2]`...). */
export function fieldOf(error: unknown): string | undefined {
  return isDuctapeError(error) ? error.response?.data.field : undefined;
}

export const codeOf = (error: unknown): string | undefined =>
  isDuctapeError(error) ? error.code : undefined;
