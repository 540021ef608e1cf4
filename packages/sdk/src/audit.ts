import type { Transport } from './transport.js';
import type { AuditPage, AuditQuery } from './types.js';

/** The workspace's audit log: who did what, when, from where. Admin role. */
export class AuditClient {
  private readonly transport: Transport;

  /** @internal Use `new Ductape(...).audit`. */
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * One page of entries, newest first. Follow `next_cursor` for older ones.
   *
   * @example
   * let page = await ductape.audit.list({ key: 'STRIPE_API_KEY', limit: 50 });
   * for (const e of page.entries) console.log(e.at, e.actor.id, e.action, e.outcome);
   * if (page.next_cursor) page = await ductape.audit.list({ key: 'STRIPE_API_KEY', cursor: page.next_cursor });
   */
  list(query: AuditQuery = {}): Promise<AuditPage> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query) as [string, unknown][]) {
      if (value === undefined) continue;
      params.set(name, value instanceof Date ? value.toISOString() : String(value));
    }
    const search = params.toString();
    return this.transport.request<AuditPage>('GET', search ? `/v1/audit?${search}` : '/v1/audit');
  }
}
