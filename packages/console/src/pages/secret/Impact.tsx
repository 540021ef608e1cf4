import type { Secret, ServiceToken } from '@ductape/sdk';
import { tokensUsing, usersOf } from '../../lib/impact.js';

/** The paragraph of a revoke or delete confirmation that names what stops working. */
export function Impact({
  secret,
  tokens,
  verb,
}: {
  secret: Secret;
  tokens: ServiceToken[] | null;
  verb: string;
}) {
  const bound = tokens ? tokensUsing(secret, tokens) : [];
  return (
    <>
      <p>
        {verb} <code>{secret.key}</code> stops it working at once for <strong>{usersOf(secret)}</strong>:
        every reference to <code>{`$Secret{${secret.key}}`}</code> there fails.
      </p>
      {tokens === null ? null : bound.length === 0 ? (
        <p>No active service token is bound to one of those apps and environments.</p>
      ) : (
        <>
          <p>
            {bound.length} active service token{bound.length === 1 ? '' : 's'} can use it today:
          </p>
          <ul>
            {bound.map((token) => (
              <li key={token.token_id}>
                <code>{token.app}</code> in <code>{token.env}</code>
                {token.description ? ` (${token.description})` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
