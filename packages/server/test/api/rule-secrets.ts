/**
 * A workspace seeded with one secret per resolution rule (and per pair of rules), for the
 * resolve, validate and export suites. Every value carries a random tag, so a test can
 * search any answer for every value at once.
 */
import type Ductape from '@ductape/sdk';
import type { CreateSecretInput } from '@ductape/sdk';
import { tag } from '../helpers/usage.js';

/** 2001-09-09: long expired. */
export const PAST = 1_000_000_000;

type Spec = Omit<CreateSecretInput, 'key' | 'value'> & { revoke?: boolean };

export const RULE_SECRETS = {
  /** no scope, no envs: every app, every environment */
  OPEN: {},
  WEB_DEV: { scope: ['web'], envs: ['dev'] },
  WEB_ANY: { scope: ['web'] },
  ANY_PRD: { envs: ['prd'] },
  /** fails scope and env for app api in dev */
  WEB_PRD: { scope: ['web'], envs: ['prd'] },
  REVOKED: { revoke: true },
  EXPIRED: { expires_at: PAST },
  REVOKED_EXPIRED: { revoke: true, expires_at: PAST },
  /** out of env in dev, and expired */
  EXPIRED_PRD: { envs: ['prd'], expires_at: PAST },
  /** out of scope for app api, and revoked */
  REVOKED_WEB: { scope: ['web'], revoke: true },
} satisfies Record<string, Spec>;

export type RuleKey = keyof typeof RULE_SECRETS;

export interface Seeded {
  /** key -> value */
  values: Record<RuleKey | 'NESTED', string>;
  /** Every value, to search answers for. */
  all: string[];
}

/** Creates the rule secrets (and NESTED, whose value is itself a reference) with `admin`. */
export async function seedRuleSecrets(admin: Ductape): Promise<Seeded> {
  const values = {} as Record<RuleKey | 'NESTED', string>;
  for (const [key, spec] of Object.entries(RULE_SECRETS) as [RuleKey, Spec][]) {
    const { revoke, ...meta } = spec;
    values[key] = `${key.toLowerCase()}-value-${tag()}`;
    await admin.secrets.create({ key, value: values[key], ...meta });
    if (revoke) await admin.secrets.revoke(key);
  }
  // A value that looks like a reference: resolving NESTED must not resolve OPEN.
  values.NESTED = '$Secret{OPEN}';
  await admin.secrets.create({ key: 'NESTED', value: values.NESTED });
  return { values, all: Object.values(values).filter((v) => v !== values.NESTED) };
}
