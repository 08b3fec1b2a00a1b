const pad = (n: number) => String(n).padStart(2, '0');

/** 2026-12-26, in the viewer's time zone. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** 2026-12-26 14:05, in the viewer's time zone. */
export function formatDateTime(iso: string | undefined): string {
  if (!iso) return 'Never';
  const d = new Date(iso);
  return `${formatDate(iso)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fullName(u: { firstName: string; lastName: string; emailId?: string }): string {
  return `${u.firstName} ${u.lastName}`.trim() || u.emailId || '';
}
