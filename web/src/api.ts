/** Talks to the Keyward API with the session cookie, sending the CSRF token on every write. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onSessionLost: ((err: ApiError) => void) | undefined;

/** Called when a request answers 401: the session has expired or was ended elsewhere. */
export function whenSessionLost(handler: (err: ApiError) => void) {
  onSessionLost = handler;
}

function csrfToken(): string {
  const entry = document.cookie.split('; ').find((c) => c.startsWith('keyward_csrf='));
  return entry ? decodeURIComponent(entry.slice('keyward_csrf='.length)) : '';
}

/**
 * `signal` aborts the request: a list whose filter has changed drops the read it no longer
 * wants. An aborted request rejects with an ApiError whose code is `Aborted`, never shown.
 */
export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean; signal?: AbortSignal } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      signal: opts.signal,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken() }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    if (opts.signal?.aborted) throw new ApiError(0, 'Aborted', 'The request was cancelled.');
    throw new ApiError(0, 'Network', 'Cannot reach the Keyward server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => undefined);
  if (opts.signal?.aborted) throw new ApiError(0, 'Aborted', 'The request was cancelled.');
  if (!res.ok) {
    const err = new ApiError(res.status, data?.code ?? 'Error', data?.message ?? `The server answered ${res.status}.`);
    if (res.status === 401 && !opts.quiet401) onSessionLost?.(err);
    throw err;
  }
  return data as T;
}

export interface ApiKey {
  metadata: { uid: string; name: string; annotations?: { description?: string }; creationTimestamp: string };
  spec: {
    expiry: string;
    user: { uid: string; firstName: string; lastName: string; emailId?: string };
    /** Absent from a server before scopes: the key has its owner's full power, as `["*"]`. */
    scopes?: string[];
    /** Absent or empty: any address. */
    allowedCidrs?: string[];
  };
  status: { isActive: boolean; isExpired?: boolean; lastUsedTimestamp?: string; revokedByAdmin?: boolean };
}

export interface User {
  metadata: { uid: string; name: string; creationTimestamp: string };
  /** `kind` absent means a person (a server before service accounts). */
  spec: { emailId: string; firstName: string; lastName: string; roles: string[]; kind?: 'person' | 'service' };
  status: { lastSignIn?: string };
}

export const isServiceAccount = (u: User): boolean => u.spec.kind === 'service';

/** One entry of the scope catalogue: Keyward's own scopes and the tenant's. */
export interface Scope {
  name: string;
  description: string;
  builtIn: boolean;
}

/** The tenant's forward-auth route rules (GET /v1/authRoutes). */
export interface AuthRoutes {
  mode: 'enforce' | 'audit';
  default: 'allow' | 'deny';
  rules: { methods: string[]; path: string; require: string }[];
}

export interface AuditEntry {
  metadata: { uid: string; creationTimestamp: string };
  spec: {
    action: string;
    actor: { userUid: string | null; emailId: string | null; apiKeyUid: string | null };
    resource: { kind: string; uid: string | null; name: string | null };
    address: string | null;
    details: Record<string, unknown>;
  };
}
