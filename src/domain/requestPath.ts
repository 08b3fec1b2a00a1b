export function normaliseRequestPath(uri: string): string | undefined {
  if (typeof uri !== 'string' || !uri.startsWith('/') || /[%\\]|\/\/|\/\./.test(uri)) return undefined;
  return uri.split(/[?#]/)[0];
}
