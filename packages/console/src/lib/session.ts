/**
 * The signed-in session. The SDK client holds the credentials and its access token in this
 * page's memory only (never localStorage, sessionStorage or a cookie): reloading the page or
 * "Sign out" forgets them. The SDK renews the access token by itself before it lapses.
 */
import Ductape, { ROLES, type Role, type WhoAmI } from '@ductape/sdk';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Session {
  client: Ductape;
  me: WhoAmI;
}

export type UserSignIn = { workspace_id: string; user_id: string; private_key: string };

/** Signs in on this page's own origin (the server that served the console). */
export async function signIn(credentials: UserSignIn | { token: string }): Promise<Session> {
  const client = new Ductape({ ...credentials, url: window.location.origin });
  await client.init();
  return { client, me: await client.whoami() };
}

/** What the console offers; the server enforces the same rules whatever the page shows. */
export type Ability = 'reveal' | 'write' | 'delete' | 'revoke' | 'history' | 'audit' | 'members' | 'tokens';

const NEEDS: Record<Ability, Role> = {
  reveal: 'developer',
  write: 'developer',
  delete: 'admin',
  revoke: 'admin',
  history: 'viewer',
  audit: 'admin',
  members: 'owner',
  tokens: 'admin',
};

/** A service token gets read-only views: it may list, and read the values its binding allows. */
export function can(me: WhoAmI, ability: Ability): boolean {
  if (me.kind === 'service_token') return ability === 'reveal';
  return ROLES.indexOf(me.role) >= ROLES.indexOf(NEEDS[ability]);
}

export interface SessionState {
  session: Session;
  signOut(): void;
}

export const SessionContext = createContext<SessionState | null>(null);

/** The current session; only pages shown to a signed-in person call this. */
export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession() outside a signed-in page');
  return state;
}
