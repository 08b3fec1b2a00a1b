/**
 * The changes `PUT` and `PATCH /v1/users/{uid}` make to a user, as pure functions over the
 * editable fields. Validation of the result (email format, lengths) is the caller's: it is the
 * same as on create.
 */
import { badRequest } from './errors.js';

export interface EditableUser {
  email: string;
  firstName: string;
  lastName: string;
  roles: string[];
}

/** One operation of a JSON Patch (RFC 6902), as Palette's v1HttpPatch carries it. */
export interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** Palette's display name (`metadata.name`) as first and last names: the first word, and the rest. */
export function splitName(name: string): { firstName: string; lastName: string } {
  const [first, ...rest] = name.trim().split(/\s+/);
  return { firstName: first ?? '', lastName: rest.join(' ') };
}

/** The display name Keyward presents for a user, as `metadata.name`. */
export const displayName = (u: Pick<EditableUser, 'email' | 'firstName' | 'lastName'>) => `${u.firstName} ${u.lastName}`.trim() || u.email;

/** `PUT /v1/users/{uid}` (Palette's v1UserUpdateEntity): absent fields stay as they are. */
export interface UserUpdate {
  email?: string;
  firstName?: string;
  lastName?: string;
  roles?: string[];
  /** `metadata.name`, Palette's display name. */
  name?: string;
  /** `spec.kind`: accepted only as it is (a client sending back the user it read); it never changes. */
  kind?: string;
}

export function applyUserUpdate(user: EditableUser, update: UserUpdate): EditableUser {
  const next: EditableUser = {
    email: update.email ?? user.email,
    firstName: update.firstName ?? user.firstName,
    lastName: update.lastName ?? user.lastName,
    roles: update.roles ? [...update.roles] : [...user.roles],
  };
  // The display name stands in for the names only when they are absent, and only when it says
  // something new: a client sending back the user it read (whose name may be the email, for a
  // user without names) must not rename them.
  if (update.name !== undefined && update.firstName === undefined && update.lastName === undefined && update.name.trim() !== displayName(user)) {
    Object.assign(next, splitName(update.name));
  }
  return next;
}

/** What differs between two versions of a user, for the audit log. Roles compare as sets. */
export function userChanges(before: EditableUser, after: EditableUser): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of ['email', 'firstName', 'lastName'] as const) {
    if (before[field] !== after[field]) changes[field] = { from: before[field], to: after[field] };
  }
  const same = before.roles.length === after.roles.length && after.roles.every((r) => before.roles.includes(r));
  if (!same) changes.roles = { from: before.roles, to: after.roles };
  return changes;
}

const SUPPORTED =
  'Supported: add, replace or remove on /spec/firstName, /spec/lastName, /spec/roles and /metadata/name; add or replace on /spec/emailId; ' +
  'add on /spec/roles/- ; add, replace or remove on /spec/roles/<index>.';

function unsupported(op: PatchOperation, index: number): never {
  throw badRequest(`Patch operation ${index}: "${op.op}" on "${op.path}" is not supported. ${SUPPORTED}`, { op: op.op, path: op.path, index });
}

function stringValue(op: PatchOperation, index: number): string {
  if (typeof op.value !== 'string') {
    throw badRequest(`Patch operation ${index}: "${op.op}" on "${op.path}" needs a string value.`, { op: op.op, path: op.path, index });
  }
  return op.value;
}

function rolesValue(op: PatchOperation, index: number): string[] {
  if (!Array.isArray(op.value) || !op.value.every((r) => typeof r === 'string')) {
    throw badRequest(`Patch operation ${index}: "${op.op}" on "${op.path}" needs an array of role names.`, { op: op.op, path: op.path, index });
  }
  return [...op.value];
}

/**
 * Applies a JSON Patch to a user's editable fields, in order and all or nothing (RFC 6902):
 * a refused operation, named with its index, op and path, leaves the user unchanged.
 */
export function applyUserPatch(user: EditableUser, ops: readonly PatchOperation[]): EditableUser {
  const next: EditableUser = { ...user, roles: [...user.roles] };
  ops.forEach((op, i) => {
    const { path } = op;
    const set = op.op === 'add' || op.op === 'replace';
    if (!set && op.op !== 'remove') unsupported(op, i);
    if (path === '/spec/firstName' || path === '/spec/lastName') {
      const field = path === '/spec/firstName' ? 'firstName' : 'lastName';
      next[field] = set ? stringValue(op, i) : '';
    } else if (path === '/spec/emailId') {
      if (!set) throw badRequest(`Patch operation ${i}: a user must keep an email; replace /spec/emailId instead of removing it.`, { op: op.op, path, index: i });
      next.email = stringValue(op, i);
    } else if (path === '/spec/kind') {
      throw badRequest(`Patch operation ${i}: a user's kind (person or service account) cannot be changed. Create a new user of the other kind instead.`, { op: op.op, path, index: i });
    } else if (path === '/metadata/name') {
      Object.assign(next, set ? splitName(stringValue(op, i)) : { firstName: '', lastName: '' });
    } else if (path === '/spec/roles') {
      next.roles = set ? rolesValue(op, i) : [];
    } else if (path === '/spec/roles/-') {
      if (op.op !== 'add') unsupported(op, i);
      next.roles.push(stringValue(op, i));
    } else if (/^\/spec\/roles\/(0|[1-9][0-9]{0,3})$/.test(path)) {
      const at = Number(path.slice('/spec/roles/'.length));
      // RFC 6902: add may insert at the end (index == length); replace and remove need an element.
      if (at > next.roles.length || (op.op !== 'add' && at === next.roles.length)) {
        throw badRequest(`Patch operation ${i}: "${path}" is past the end of the user's ${next.roles.length} roles.`, { op: op.op, path, index: i });
      }
      if (op.op === 'add') next.roles.splice(at, 0, stringValue(op, i));
      else if (op.op === 'replace') next.roles[at] = stringValue(op, i);
      else next.roles.splice(at, 1);
    } else {
      unsupported(op, i);
    }
  });
  return next;
}
