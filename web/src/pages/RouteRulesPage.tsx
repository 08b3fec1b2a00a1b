/**
 * Tenant Settings → Route Rules: what the forward-auth check (GET /v1/auth/check, behind nginx)
 * applies to each request, read-only. Rules are changed as a whole document through
 * PUT /v1/authRoutes (the CLI or any HTTP client), where they can be reviewed and kept in
 * version control; the console shows what is in force.
 */
import { useEffect, useState } from 'react';
import { api, type AuthRoutes } from '../api';
import { DataTable } from '../components/DataTable';
import { FormError } from '../components/useSubmit';

const MODES: Record<AuthRoutes['mode'], string> = {
  enforce: 'Enforce: a request the rules refuse is answered 403.',
  audit: 'Audit: a refusal is logged and audited, and the request passes.',
};

const DEFAULTS: Record<AuthRoutes['default'], string> = {
  allow: 'Allow: a request no rule matches passes (with a good key).',
  deny: 'Deny: a request no rule matches is refused.',
};

export function RouteRulesPage() {
  const [routes, setRoutes] = useState<AuthRoutes | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const controller = new AbortController();
    api<AuthRoutes>('GET', '/v1/authRoutes', undefined, { signal: controller.signal })
      .then(setRoutes)
      .catch((err: Error) => {
        if (!controller.signal.aborted) setError(err.message);
      });
    return () => controller.abort();
  }, []);

  return (
    <section aria-labelledby="routes-title" className="page">
      <div className="page-head">
        <h1 id="routes-title">Route Rules</h1>
      </div>
      <p className="muted">
        The forward-auth check (GET /v1/auth/check) matches each request nginx asks about against these rules, first match wins, and requires the matching rule's scopes.
        They are changed through PUT /v1/authRoutes, as one document; this page shows what is in force.
      </p>
      <FormError error={error && `Could not load the route rules: ${error}`} />
      {!routes && !error && <p>Loading…</p>}
      {routes && (
        <>
          <dl className="facts">
            <dt>Mode</dt>
            <dd>{MODES[routes.mode] ?? routes.mode}</dd>
            <dt>Default</dt>
            <dd>{DEFAULTS[routes.default] ?? routes.default}</dd>
          </dl>
          <DataTable label="Rules" columns={['#', 'Methods', 'Path', 'Require']} message={routes.rules.length === 0 && 'No rules: the default applies to every request.'}>
            {routes.rules.map((rule, i) => (
              // A rule has no identity but its place (first match wins), so the index is its key.
              <tr key={i}>
                <td>{i + 1}</td>
                <td className="mono">{rule.methods.join(', ')}</td>
                <td className="mono">{rule.path}</td>
                <td className="mono">{rule.require}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
    </section>
  );
}
