/** Wire types of using secrets from an app in an environment: resolve, validate, export, import. */
import type { ErrorCode } from './errors.js';
import type { CreateSecretInput } from './secrets.js';

/** Which app and environment a secret is used by, for resolve, validate and export. */
export interface UsageContext {
  /** App tag; required for secrets whose scope is restricted. A service token's own app applies. */
  app?: string;
  /** Environment slug; required for secrets restricted to some environments. */
  env?: string;
}

/** `POST /v1/resolve` response. */
export interface ResolveResponse<T = unknown> {
  /** The input with every reference replaced by its secret's value. */
  output: T;
}

/** One reference found by `validate`, and whether it would resolve. */
export interface ReferenceReport {
  key: string;
  /** `Secret` for `$Secret{KEY}`, `Token` for the legacy `$Token{KEY}`. */
  syntax: 'Secret' | 'Token';
  /** JSON path of the string holding it (`$` for a plain string input). */
  path: string;
  /** Offset of the `$` within that string. */
  position: number;
  resolvable: boolean;
  /** Why not, when it would not resolve. */
  code?: ErrorCode;
  message?: string;
}

/** A `$Secret{` that is not a valid reference. */
export interface MalformedReferenceReport {
  path: string;
  position: number;
  message: string;
}

/** `POST /v1/validate` response: never carries a value. */
export interface ValidateResponse {
  /** True when there is no malformed reference and every reference would resolve. */
  valid: boolean;
  references: ReferenceReport[];
  /** The first 100 malformed references. */
  malformed: MalformedReferenceReport[];
  /** How many malformed references there are in all. */
  malformed_total: number;
}

/** `GET /v1/export` response: the values an app may use in an environment. */
export interface ExportResponse {
  app: string | null;
  env: string | null;
  secrets: { key: string; value: string }[];
  /** In-scope secrets left out because they cannot be used right now (revoked, expired). */
  skipped: { key: string; code: ErrorCode; message: string }[];
}

/** Options of `secrets.export`. */
export interface ExportOptions extends UsageContext {
  /** Only these keys; each must then pass every rule, or the call fails. */
  only?: string[];
}

/** `POST /v1/secrets/import` request. */
export interface ImportRequest {
  secrets: CreateSecretInput[];
  /** Update the value (and given metadata) of keys that already exist, instead of refusing them. */
  overwrite?: boolean;
}

/** What happened to one imported secret. */
export interface ImportResult {
  key: string;
  status: 'created' | 'updated' | 'refused';
  code?: ErrorCode;
  message?: string;
}

/** `POST /v1/secrets/import` response, one result per item, in order. */
export interface ImportResponse {
  results: ImportResult[];
}
