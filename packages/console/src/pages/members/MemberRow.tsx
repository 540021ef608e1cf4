import { ROLES, type Role, type User } from '@ductape/sdk';
import { useState } from 'preact/hooks';

/** One member: the role can be changed with an explicit button, never by moving through a list. */
export function MemberRow({
  user,
  me,
  added,
  onRole,
  onRotate,
  onRemove,
}: {
  user: User;
  me: boolean;
  added: string;
  /** Resolves false when the server refused: the list then shows the role as it is. */
  onRole: (role: Role) => Promise<boolean>;
  onRotate: () => void;
  onRemove: () => void;
}) {
  const [role, setRole] = useState<Role>(user.role);
  const active = user.status === 'active';
  return (
    <tr role="row">
      <td role="cell" data-label="User ID" class="mono">
        {user.user_id}
        {me ? ' (you)' : ''}
      </td>
      <td role="cell" data-label="Role">
        {active ? (
          <span class="inline">
            <select
              aria-label={`Role of ${user.user_id}`}
              value={role}
              onChange={(e) => setRole(e.currentTarget.value as Role)}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button
              type="button"
              disabled={role === user.role}
              aria-label={`Change role of ${user.user_id}`}
              onClick={async () => {
                if (!(await onRole(role))) setRole(user.role);
              }}
            >
              Change role
            </button>
          </span>
        ) : (
          user.role
        )}
      </td>
      <td role="cell" data-label="Status">
        {user.status}
      </td>
      <td role="cell" data-label="Added">
        {added}
      </td>
      <td role="cell" data-label="Actions">
        {active ? (
          <span class="inline">
            <button type="button" aria-label={`Rotate key of ${user.user_id}`} onClick={onRotate}>
              Rotate key
            </button>
            <button type="button" class="danger" aria-label={`Remove ${user.user_id}`} onClick={onRemove}>
              Remove
            </button>
          </span>
        ) : null}
      </td>
    </tr>
  );
}
