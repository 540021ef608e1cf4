/** Fills a workspace with many secrets through the import API (500 per request). */
import type Ductape from '@ductape/sdk';
import type { CreateSecretInput } from '@ductape/sdk';

const ENVS = [['dev'], ['dev', 'staging'], ['prd'], ['dev', 'staging', 'prd'], []];
const APPS = [['checkout'], ['billing', 'checkout'], [], ['web']];

export const seededKey = (i: number): string => `KEY_${String(i).padStart(5, '0')}`;

export async function seedSecrets(sdk: Ductape, count: number): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (let start = 0; start < count; start += 500) {
    const batch: CreateSecretInput[] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      batch.push({
        key: seededKey(i),
        value: `value-${i}`,
        description: i % 7 === 0 ? `Service credential number ${i}` : null,
        envs: ENVS[i % ENVS.length] as string[],
        scope: APPS[i % APPS.length] as string[],
        expires_at: i % 50 === 0 ? now + (i % 100 === 0 ? 3 : 30) * 86_400 : null,
      });
    }
    const { results } = await sdk.secrets.import({ secrets: batch });
    const refused = results.filter((r) => r.status !== 'created');
    if (refused.length > 0) throw new Error(`seeding refused ${refused.length}: ${refused[0]?.message}`);
  }
}
