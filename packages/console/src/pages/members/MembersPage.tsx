/**
 * Members (owners): who is in the workspace and with which role; add one (the private key
 * is shown once), change a role, rotate a key, remove. The server's last-owner guard
 * answers with its own message, shown as is.
 */
import { ScrollRegion } from '../../components/ScrollRegion.js';
import { ROLES, type Role, type User, type UserCredentials } from '@ductape/sdk';
import { useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { Page } from '../../components/Page.js';
import { ShownOnce } from '../../components/ShownOnce.js';
import { useLoad } from '../../components/useLoad.js';
import { messageOf } from '../../lib/errors.js';
import { formatDate } from '../../lib/secret-state.js';
import { can, useSession } from '../../lib/session.js';
import { MemberRow } from './MemberRow.js';

export function MembersPage() {
  const { session, signOut } = useSession();
  const client = session.client;
  const allowed = can(session.me, 'members');
  const [users, reload] = useLoad(() => (allowed ? client.users.list() : Promise.resolve([])), [session]);
  const [newRole, setNewRole] = useState<Role>('developer');
  const [shown, setShown] = useState<{ title: string; credentials: UserCredentials; mine?: boolean } | null>(
    null,
  );
  const [pending, setPending] = useState<{ kind: 'remove' | 'rotate'; user: User } | null>(null);
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const myId = session.me.kind === 'user' ? session.me.user_id : '';

  if (!allowed) {
    return (
      <Page title="Members">
        <Alert kind="error">Managing members needs the owner role.</Alert>
      </Page>
    );
  }

  const add = async (event: SubmitEvent) => {
    event.preventDefault();
    setNotice(null);
    try {
      const credentials = await client.users.create({ role: newRole });
      setShown({ title: `New ${newRole} added`, credentials });
      reload();
    } catch (error) {
      setNotice({ kind: 'error', text: messageOf(error) });
    }
  };

  const changeRole = async (user: User, role: Role): Promise<boolean> => {
    setNotice(null);
    try {
      await client.users.setRole(user.user_id, role);
      setNotice({
        kind: 'success',
        text: `${user.user_id} is now ${role === 'admin' || role === 'owner' ? 'an' : 'a'} ${role}.`,
      });
      reload();
      return true;
    } catch (error) {
      setNotice({ kind: 'error', text: messageOf(error) });
      return false;
    }
  };

  return (
    <Page title="Members">
      {shown ? (
        <ShownOnce
          title={shown.title}
          label="Private key"
          secret={shown.credentials.private_key}
          details={[
            ['Workspace ID', shown.credentials.workspace_id],
            ['User ID', shown.credentials.user_id],
          ]}
          onDone={() => (shown.mine ? signOut() : setShown(null))}
        />
      ) : null}
      <form class="inline add-member" onSubmit={add}>
        <label for="new-role">Role</label>
        <select id="new-role" value={newRole} onChange={(e) => setNewRole(e.currentTarget.value as Role)}>
          {ROLES.map((role) => (
            <option key={role} value={role}>
              {role}
            </option>
          ))}
        </select>
        <button type="submit" class="primary">
          Add member
        </button>
      </form>
      {notice ? <Alert kind={notice.kind}>{notice.text}</Alert> : null}
      {users.state === 'error' ? <Alert kind="error">{users.message}</Alert> : null}
      {users.state === 'ready' ? (
        <ScrollRegion label="Members">
          <table class="table stack" role="table">
            <caption class="visually-hidden">Members of the workspace</caption>
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">
                  User ID
                </th>
                <th scope="col" role="columnheader">
                  Role
                </th>
                <th scope="col" role="columnheader">
                  Status
                </th>
                <th scope="col" role="columnheader">
                  Added
                </th>
                <th scope="col" role="columnheader">
                  Actions
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {users.data.map((user) => (
                <MemberRow
                  key={user.user_id}
                  user={user}
                  me={user.user_id === myId}
                  added={formatDate(user.created_at)}
                  onRole={(role) => changeRole(user, role)}
                  onRotate={() => setPending({ kind: 'rotate', user })}
                  onRemove={() => setPending({ kind: 'remove', user })}
                />
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      ) : null}
      {pending?.kind === 'remove' ? (
        <ConfirmDialog
          title={`Remove ${pending.user.user_id}?`}
          confirmLabel="Yes, remove"
          onClose={() => setPending(null)}
          onConfirm={async () => {
            await client.users.remove(pending.user.user_id);
            setNotice({ kind: 'success', text: `Removed ${pending.user.user_id}.` });
            reload();
          }}
        >
          <p>
            Their private key and every access token issued with it stop working at once, on every server. The
            removal cannot be undone (add them again as a new member).
          </p>
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'rotate' ? (
        <ConfirmDialog
          title={`Rotate the key of ${pending.user.user_id}?`}
          confirmLabel="Yes, rotate"
          onClose={() => setPending(null)}
          onConfirm={async () => {
            const credentials = await client.users.rotateKey(pending.user.user_id);
            setShown({
              title: `New private key for ${pending.user.user_id}`,
              credentials,
              mine: pending.user.user_id === myId,
            });
          }}
        >
          <p>
            A new private key is made and shown once. The old key, and every access token issued with it, stop
            working at once
            {pending.user.user_id === myId
              ? ', this console included: copy the new key, then sign in again with it'
              : ''}
            .
          </p>
        </ConfirmDialog>
      ) : null}
    </Page>
  );
}
