import { api, type User } from './api';

export interface Session {
  userUid: string;
  tenantUid: string;
  orgName: string;
  email: string;
  name: string;
  isAdmin: boolean;
}

/** Who is signed in, from the session cookie; null when nobody is. */
export async function loadSession(): Promise<Session | null> {
  try {
    const info = await api<{ orgName: string; tenantUid: string; userUid: string }>('GET', '/v1/users/info', undefined, { quiet401: true });
    const user = await api<User>('GET', `/v1/users/${info.userUid}`, undefined, { quiet401: true });
    return {
      ...info,
      email: user.spec.emailId,
      name: `${user.spec.firstName} ${user.spec.lastName}`.trim() || user.spec.emailId,
      isAdmin: user.spec.roles.includes('tenant-admin'),
    };
  } catch {
    return null;
  }
}
