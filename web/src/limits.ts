/**
 * The server's field limits (src/domain/limits.ts, which imports nothing), built into the console
 * so that its forms refuse what the API would refuse, with the same numbers. (A browser's maxLength
 * counts UTF-16 units, so a form is stricter than the API only for characters such as emoji.)
 */
export { limits } from '../../src/domain/limits';
