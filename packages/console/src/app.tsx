/**
 * The console: the sign-in page until someone signs in, then the workspace's pages. The
 * session lives in this component's state only (see lib/session.ts).
 */
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useMemo, useState } from 'preact/hooks';
import { Layout } from './components/Layout.js';
import { SessionContext, type Session, type SessionState } from './lib/session.js';
import { AuditPage } from './pages/audit/AuditPage.js';
import { ImportPage } from './pages/import/ImportPage.js';
import { MembersPage } from './pages/members/MembersPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { SecretPage } from './pages/secret/SecretPage.js';
import { SecretFormPage } from './pages/secret-form/SecretFormPage.js';
import { SecretsPage } from './pages/secrets/SecretsPage.js';
import { SignInPage } from './pages/signin/SignInPage.js';
import { TokensPage } from './pages/tokens/TokensPage.js';

export function App() {
  return (
    <LocationProvider>
      <Console />
    </LocationProvider>
  );
}

function Console() {
  const [session, setSession] = useState<Session | null>(null);
  const location = useLocation();
  const state = useMemo<SessionState | null>(
    () =>
      session && {
        session,
        signOut: () => {
          // Dropping the client drops the credentials and the access token with it.
          setSession(null);
          location.route('/', true);
        },
      },
    [session],
  );

  if (!state) {
    return (
      <SignInPage
        onSignedIn={(next) => {
          setSession(next);
          if (location.path === '/') location.route('/secrets', true);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={state}>
      <Layout>
        <Router>
          <Route path="/" component={SecretsPage} />
          <Route path="/secrets" component={SecretsPage} />
          <Route path="/secrets/new" component={SecretFormPage} />
          <Route path="/secrets/:name/edit" component={SecretFormPage} />
          <Route path="/secrets/:name" component={SecretPage} />
          <Route path="/import" component={ImportPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/members" component={MembersPage} />
          <Route path="/tokens" component={TokensPage} />
          <Route default component={NotFoundPage} />
        </Router>
      </Layout>
    </SessionContext.Provider>
  );
}
