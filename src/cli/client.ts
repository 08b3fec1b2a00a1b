/** A small client for the Keyward API, for the CLI's `keys` commands. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
  email?: string;
  password?: string;
}

export class KeywardClient {
  private token: string | undefined;

  constructor(private readonly opts: ClientOptions) {}

  private async credentials(): Promise<Record<string, string>> {
    if (this.opts.apiKey) return { ApiKey: this.opts.apiKey };
    if (!this.token) {
      if (!this.opts.email || !this.opts.password) {
        throw new ApiError(0, 'Usage', 'give --api-key (or KEYWARD_API_KEY), or --email and --password (or KEYWARD_EMAIL and KEYWARD_PASSWORD)');
      }
      const { Authorization } = await this.call('POST', '/v1/auth/authenticate', { emailId: this.opts.email, password: this.opts.password }, {});
      this.token = Authorization;
    }
    return { Authorization: this.token! };
  }

  async request(method: string, path: string, body?: unknown): Promise<any> {
    return this.call(method, path, body, await this.credentials());
  }

  /**
   * Every item of a list, a page of `pageSize` at a time, following `listmeta.continue` to the
   * end: each answer stays small however many items there are.
   */
  async listAll(path: string, query: Record<string, string> = {}, pageSize = 500): Promise<any[]> {
    const items: any[] = [];
    let next = '';
    do {
      const params = new URLSearchParams({ ...query, limit: String(pageSize) });
      if (next) params.set('continue', next);
      const page = await this.request('GET', `${path}?${params}`);
      items.push(...page.items);
      next = page.listmeta?.continue ?? '';
    } while (next);
    return items;
  }

  private async call(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<any> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.opts.url), {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, 'Unreachable', `cannot reach ${this.opts.url}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, data?.code ?? 'Error', data?.message ?? `HTTP ${response.status}`);
    return data;
  }
}
