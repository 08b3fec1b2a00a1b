/**
 * Field limits: the one place they are written. The route schemas spread them in (so Ajv enforces
 * them and /docs shows them), the services check them again (the CLI and first start reach the
 * services without a schema), and the console's forms read them for their maxLength and hints.
 *
 * The keys are JSON Schema's own keyword names, so a schema can spread a limit as it is. This
 * module imports nothing: the console (web/) builds it in as well.
 *
 * Lengths count characters as a person does (Unicode code points), as Ajv's maxLength does.
 */
export const limits = {
  apiKey: {
    name: { minLength: 1, maxLength: 64 },
    description: { maxLength: 1024 },
    /** Scopes a key holds (each a scope name, limits.scope.name). */
    scopes: { maxItems: 50 },
    /** Networks a key may be used from; none = any address. */
    allowedCidrs: { maxItems: 100 },
    /** One of them as text: the longest IPv6 spelling with a prefix is 49 characters. */
    cidr: { minLength: 1, maxLength: 64 },
  },
  scope: {
    name: { minLength: 1, maxLength: 128 },
    description: { maxLength: 1024 },
    /** A tenant's own scopes (the catalogue); far more than any set of services behind one Keyward needs. */
    catalogue: { maxItems: 1000 },
  },
  /** A tenant's forward-auth route rules (PUT /v1/authRoutes). */
  authRoutes: {
    rules: { maxItems: 2000 },
    /** A rule's path glob, such as `/v1/things/*` or `/admin/**`. */
    path: { minLength: 1, maxLength: 1024 },
    /** A rule's HTTP methods (`["GET", "POST"]`, `["*"]`). */
    methods: { minItems: 1, maxItems: 16 },
    /** Segments in a rule's path glob: bounds the trie's depth, so hostile `**` rules cannot make a match slow. */
    segments: { maxItems: 32 },
  },
  /** A requirement expression (`apiKeys:read AND (users:read OR *)`): verify's require, ?require=, rules. */
  requirement: { maxLength: 2048 },
  user: {
    /** Each of the first and last names. */
    name: { maxLength: 128 },
    /** RFC 5321's longest address path. */
    email: { maxLength: 254 },
    role: { minLength: 1, maxLength: 64 },
    roles: { maxItems: 32 },
  },
  tenant: {
    name: { minLength: 1, maxLength: 128 },
  },
  /**
   * Length is what makes a password hard to guess (NIST SP 800-63B drops composition rules for
   * it). The maximum is long enough for any passphrase or manager, and short enough that hashing
   * it costs nothing extra.
   */
  password: { minLength: 12, maxLength: 1024 },
} as const;

/** A text limit as the services' checks take it: a missing minimum is 0. */
export const textRange = (limit: { minLength?: number; maxLength: number }) => ({ min: limit.minLength ?? 0, max: limit.maxLength });
