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
  onRole: (role: Role) => void;
  onRotate: () => void;
  onRemove: () => void;
}) {
  const [role, setRole] = useState<Role>(user.role);
  const active = user.status === 'active';
  return (
    <tr>
      <td class="mono">
        {user.user_id}
        {me ? ' (you)' : ''}
      </td>
      <td>
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
            <button type="button" disabled={role === user.role} onClick={() => onRole(role)}>
              Change role
            </button>
          </span>
        ) : (
          user.role
        )}
      </td>
      <td>{user.status}</td>
      <td>{added}</td>
      <td>
        {active ? (
          <span class="inline">
            <button type="button" onClick={onRotate}>
              Rotate key
            </button>
            <button type="button" class="danger" onClick={onRemove}>
              Remove
            </button>
          </span>
        ) : null}
      </td>
    </tr>
  );
}
