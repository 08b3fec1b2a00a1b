import { type ReactElement, useCallback, useEffect, useRef, useState } from 'react';
import { api, whenSessionLost } from './api';
import { Menu } from './components/Menu';
import { type Notice, Notices } from './components/Notices';
import { AuditPage } from './pages/AuditPage';
import { KeysPage } from './pages/KeysPage';
import { LoginPage } from './pages/LoginPage';
import { ChangePasswordDialog } from './pages/PasswordDialogs';
import { RouteRulesPage } from './pages/RouteRulesPage';
import { ScopesPage } from './pages/ScopesPage';
import { UsersPage } from './pages/UsersPage';
import { navigate, usePath } from './router';
import { loadSession, type Session } from './session';

const TENANT_SETTINGS = [
  { path: '/tenant/settings/api-keys', label: 'API Keys' },
  { path: '/tenant/settings/users', label: 'Users' },
  { path: '/tenant/settings/audit-logs', label: 'Audit Logs' },
  { path: '/tenant/settings/scopes', label: 'Scopes' },
  { path: '/tenant/settings/route-rules', label: 'Route Rules' },
];

function NavLink(props: { path: string; label: string; current: string }) {
  const here = props.current === props.path || props.current.startsWith(`${props.path}/`);
  return (
    <a
      href={props.path}
      aria-current={here ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(props.path);
      }}
    >
      {props.label}
    </a>
  );
}

function TopBar(props: { session: Session; path: string; onChangePassword: () => void; onLogout: () => void }) {
  const { session, path } = props;
  const tenantScope = path.startsWith('/tenant');
  const initials = session.name
    .split(/\s+/)
    .map((w) => w[0])
    .join('')
    .slice(0, 2)
    .toUpperCase();
  return (
    <header className="topbar">
      <span className="brand">Keyward</span>
      <span className="org">{session.orgName}</span>
      {session.isAdmin && (
        <div role="group" aria-label="Scope switcher" className="scopes">
          <button type="button" aria-pressed={!tenantScope} onClick={() => navigate('/keys')}>
            Personal
          </button>
          <button type="button" aria-pressed={tenantScope} onClick={() => navigate('/tenant')}>
            Tenant Admin
          </button>
        </div>
      )}
      <Menu
        label="User Menu"
        className="user-menu"
        buttonContent={
          <span className="avatar" aria-hidden="true">
            {initials}
          </span>
        }
        items={[
          { label: 'My API Keys', onSelect: () => navigate('/keys') },
          { label: 'Change password', onSelect: props.onChangePassword },
          { label: 'Log out', onSelect: props.onLogout },
        ]}
      />
    </header>
  );
}

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [loginNotice, setLoginNotice] = useState('');
  const [changingPassword, setChangingPassword] = useState(false);
  const returnTo = useRef<string | null>(null);
  const main = useRef<HTMLElement>(null);

  const notify = useCallback((n: Notice) => setNotice(n), []);

  useEffect(() => {
    whenSessionLost(() => {
      returnTo.current = window.location.pathname;
      setSession(null);
      setLoginNotice('Your session has expired. Sign in again to carry on where you were.');
      navigate('/login');
    });
    void loadSession().then((s) => {
      setSession(s);
      if (!s) {
        if (window.location.pathname !== '/login') returnTo.current = window.location.pathname;
        navigate('/login');
      } else if (window.location.pathname === '/' || window.location.pathname === '/login') {
        navigate('/keys');
      }
    });
  }, []);

  // A new page: forget the last page's notice, and move focus to the new content for screen readers.
  useEffect(() => {
    setNotice(null);
    main.current?.focus();
  }, [path]);

  const signedIn = async () => {
    const s = await loadSession();
    setSession(s);
    setLoginNotice('');
    const to = returnTo.current && returnTo.current !== '/login' ? returnTo.current : '/keys';
    returnTo.current = null;
    navigate(to);
  };

  const logout = async () => {
    await api('POST', '/v1/auth/logout').catch(() => {});
    setSession(null);
    setLoginNotice('You have signed out.');
    navigate('/login');
  };

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null || path === '/login') return <LoginPage notice={loginNotice} onSignedIn={() => void signedIn()} />;

  const tenantScope = path.startsWith('/tenant');
  let content: ReactElement;
  if (tenantScope && !session.isAdmin) {
    content = (
      <p role="alert" className="notice error">
        Only tenant admins can use the Tenant Admin scope.
      </p>
    );
  } else if (path === '/tenant/settings/api-keys') {
    content = <KeysPage scope="tenant" session={session} notify={notify} />;
  } else if (path === '/tenant/settings/users') {
    content = <UsersPage session={session} notify={notify} />;
  } else if (path === '/tenant/settings/audit-logs') {
    content = <AuditPage />;
  } else if (path === '/tenant/settings/scopes') {
    content = <ScopesPage notify={notify} />;
  } else if (path === '/tenant/settings/route-rules') {
    content = <RouteRulesPage />;
  } else if (path === '/tenant/settings') {
    content = (
      <section className="page">
        <h1>Tenant Settings</h1>
        <p>Choose API Keys, Users, Audit Logs, Scopes or Route Rules from the Tenant Settings Menu.</p>
      </section>
    );
  } else if (tenantScope) {
    content = (
      <section className="page">
        <h1>{session.orgName}</h1>
        <p>You are in the tenant admin scope. Open Tenant Settings from the Main Menu to manage API keys, users and audit logs.</p>
      </section>
    );
  } else {
    content = <KeysPage scope="user" session={session} notify={notify} />;
  }

  return (
    <div className="shell">
      <TopBar session={session} path={path} onChangePassword={() => setChangingPassword(true)} onLogout={() => void logout()} />
      <div className={`body ${tenantScope ? 'with-nav' : ''}`}>
        {tenantScope && session.isAdmin && (
          <nav aria-label="Main Menu" className="main-menu">
            <NavLink path="/tenant/settings" label="Tenant Settings" current={path} />
          </nav>
        )}
        {path.startsWith('/tenant/settings') && session.isAdmin && (
          <nav aria-label="Tenant Settings Menu" className="settings-menu">
            {TENANT_SETTINGS.map((item) => (
              <NavLink key={item.path} {...item} current={path} />
            ))}
          </nav>
        )}
        <main ref={main} tabIndex={-1}>
          <Notices notice={notice} onDismiss={() => setNotice(null)} />
          {content}
        </main>
      </div>
      {changingPassword && (
        <ChangePasswordDialog
          email={session.email}
          onClose={(changed) => {
            setChangingPassword(false);
            if (changed) notify({ kind: 'status', text: 'Your password was changed. Your other sessions were signed out.' });
          }}
        />
      )}
    </div>
  );
}
