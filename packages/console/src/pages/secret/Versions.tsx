import { ScrollRegion } from '../../components/ScrollRegion.js';
import type Ductape from '@ductape/sdk';
import type { SecretVersion } from '@ductape/sdk';
import { useState } from 'preact/hooks';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { formatDate } from '../../lib/secret-state.js';

/** The recorded versions, newest first, with who wrote each and a roll back to any older one. */
export function Versions({
  client,
  secretKey,
  current,
  versions,
  canRollBack,
  myId,
  onChanged,
}: {
  client: Ductape;
  secretKey: string;
  current: number;
  versions: SecretVersion[];
  canRollBack: boolean;
  myId: string;
  onChanged: (message: string) => void;
}) {
  const [target, setTarget] = useState<number | null>(null);
  return (
    <section aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      <ScrollRegion label={`Versions of ${secretKey}`}>
        <table class="table stack" role="table">
          <caption class="visually-hidden">Versions of {secretKey}, newest first</caption>
          <thead role="rowgroup">
            <tr role="row">
              <th scope="col" role="columnheader">
                Version
              </th>
              <th scope="col" role="columnheader">
                Written
              </th>
              <th scope="col" role="columnheader">
                By
              </th>
              {canRollBack ? (
                <th scope="col" role="columnheader">
                  <span class="visually-hidden">Action</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody role="rowgroup">
            {versions.map((v) => (
              <tr role="row" key={v.version}>
                <td role="cell" data-label="Version">
                  {v.version}
                  {v.version === current ? <span class="badge badge-active">current</span> : null}
                </td>
                <td role="cell" data-label="Written">
                  {formatDate(v.createdAt)}
                </td>
                <td role="cell" data-label="By" class="mono">
                  {v.actor === myId ? `${v.actor} (you)` : v.actor}
                </td>
                {canRollBack ? (
                  <td role="cell" data-label="Action">
                    {v.version === current ? null : (
                      <button type="button" onClick={() => setTarget(v.version)}>
                        Roll back to version {v.version}
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {target !== null ? (
        <ConfirmDialog
          title={`Roll back ${secretKey} to version ${target}?`}
          confirmLabel="Yes, roll back"
          danger={false}
          onClose={() => setTarget(null)}
          onConfirm={async () => {
            const updated = await client.secrets.rollback(secretKey, target);
            onChanged(`Rolled back: version ${updated.version} now holds version ${target}'s value.`);
          }}
        >
          <p>
            A new version is written with the value of version {target}. Everything that reads{' '}
            <code>{secretKey}</code> gets that value from now on; version {current} stays in the history.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
