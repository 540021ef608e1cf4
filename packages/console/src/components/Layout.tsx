import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { can, useSession, type Ability } from '../lib/session.js';

const LINKS: { href: string; label: string; needs?: Ability }[] = [
  { href: '/secrets', label: 'Secrets' },
  { href: '/import', label: 'Import', needs: 'write' },
  { href: '/audit', label: 'Audit log', needs: 'audit' },
  { href: '/members', label: 'Members', needs: 'members' },
  { href: '/tokens', label: 'Service tokens', needs: 'tokens' },
];

/** Header, navigation (only the pages this role can use) and the page. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { session, signOut } = useSession();
  const { path } = useLocation();
  const me = session.me;
  const who =
    me.kind === 'user' ? `${me.role} · ${me.user_id}` : `service token · ${me.app} in ${me.env} (read-only)`;
  const current = (href: string): boolean =>
    href === '/secrets' ? path === '/' || path.startsWith('/secrets') : path.startsWith(href);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            D
          </span>
          <span>
            <span class="product">Ductape</span>
            <span class="workspace">{me.workspace_name}</span>
          </span>
        </div>
        <nav aria-label="Main">
          <ul>
            {LINKS.filter((link) => !link.needs || can(me, link.needs)).map((link) => (
              <li key={link.href}>
                <a href={link.href} aria-current={current(link.href) ? 'page' : undefined}>
                  {link.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="me">
          <span class="who">{who}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
