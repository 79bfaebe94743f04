// The admin pages' calls: tenants and accounts (webui/auth) and the tenant's
// directory (queues, skills, agents' routing profiles, canned answers, the
// chat widget). Built on ../api's call, so every failure is an ApiError.
import { call, json, type Tenant } from "../api";

export const channels = ["chat", "voice", "email", "sms"] as const;
export type Channel = (typeof channels)[number];

export const days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Day = (typeof days)[number];

export interface Holiday {
  date: string;
  name: string;
  open: string[];
}

export interface Hours {
  timezone: string;
  always_open: boolean;
  weekly: Partial<Record<Day, string[]>>;
  holidays: Holiday[];
}

export interface Queue {
  id: string;
  name: string;
  channels: string[];
  skills: string[];
  priority: number;
  hours: Hours | null;
  overflow_after_seconds: number;
  overflow_queue: string;
  offer_timeout_seconds: number;
}

export interface Skill {
  id: string;
  name: string;
}

export type Capacity = Partial<Record<Channel, number>>;

export interface Profile {
  skills: string[];
  capacity: Capacity;
}

export interface Agent {
  account_id: string;
  login: string;
  display_name: string;
  role: string;
  disabled: boolean;
  profile: Profile | null;
}

export interface Answer {
  id: string;
  kind: "answer" | "script";
  title: string;
  text: string;
  language: string;
  shortcut: string;
  queues: string[];
}

export interface Widget {
  allowed_origins: string[];
  default_queue: string;
  snippet: string;
}

/** An account as webui/auth lists it. */
export interface AdminAccount {
  id: string;
  tenant: string;
  login: string;
  display_name: string;
  role: string;
  operator: boolean;
  disabled: boolean;
  locked_until?: string;
}

export interface AccountCreate {
  login: string;
  display_name: string;
  role: string;
  password: string;
}

export interface AccountPatch {
  display_name?: string;
  role?: string;
  disabled?: true;
}

export interface TenantSettings {
  name: string;
  language: string;
  time_zone: string;
}

const enc = encodeURIComponent;

/** The admin API of one tenant, signed with the session's CSRF token. */
export class AdminApi {
  constructor(
    readonly tenant: string,
    private readonly csrf: string,
  ) {}

  private path(rest: string): string {
    return `/api/v1/tenants/${enc(this.tenant)}/${rest}`;
  }

  private async get<T>(rest: string): Promise<T> {
    return json<T>(await call("GET", this.path(rest)));
  }

  private async send<T>(method: string, rest: string, body: unknown): Promise<T> {
    return json<T>(await call(method, this.path(rest), body, this.csrf));
  }

  private async remove(rest: string): Promise<void> {
    await call("DELETE", this.path(rest), undefined, this.csrf);
  }

  // Tenants (operators) and the tenant's own settings.

  async tenants(): Promise<Tenant[]> {
    return (await json<{ tenants: Tenant[] }>(await call("GET", "/api/v1/tenants"))).tenants;
  }

  async createTenant(id: string, s: TenantSettings): Promise<Tenant> {
    return json<Tenant>(await call("POST", "/api/v1/tenants", { id, ...s }, this.csrf));
  }

  async tenantInfo(): Promise<Tenant> {
    return json<Tenant>(await call("GET", `/api/v1/tenants/${enc(this.tenant)}`));
  }

  async saveTenant(s: TenantSettings): Promise<Tenant> {
    return json<Tenant>(await call("PATCH", `/api/v1/tenants/${enc(this.tenant)}`, s, this.csrf));
  }

  // Accounts.

  async accounts(): Promise<AdminAccount[]> {
    return (await this.get<{ accounts: AdminAccount[] }>("accounts")).accounts;
  }

  /** Creates an account in tenant (this one unless given: operators create a new tenant's first admin). */
  async createAccount(a: AccountCreate, tenant = this.tenant): Promise<AdminAccount> {
    return json<AdminAccount>(await call("POST", `/api/v1/tenants/${enc(tenant)}/accounts`, a, this.csrf));
  }

  async patchAccount(id: string, p: AccountPatch): Promise<AdminAccount> {
    return this.send<AdminAccount>("PATCH", `accounts/${enc(id)}`, p);
  }

  // The directory.

  async queues(): Promise<Queue[]> {
    return (await this.get<{ queues: Queue[] }>("queues")).queues ?? [];
  }

  async saveQueue(q: Queue): Promise<Queue> {
    const { id, ...body } = q;
    return this.send<Queue>("PUT", `queues/${enc(id)}`, body);
  }

  async deleteQueue(id: string): Promise<void> {
    return this.remove(`queues/${enc(id)}`);
  }

  async skills(): Promise<Skill[]> {
    return (await this.get<{ skills: Skill[] }>("skills")).skills ?? [];
  }

  async saveSkill(s: Skill): Promise<Skill> {
    return this.send<Skill>("PUT", `skills/${enc(s.id)}`, { name: s.name });
  }

  async deleteSkill(id: string): Promise<void> {
    return this.remove(`skills/${enc(id)}`);
  }

  async agents(): Promise<Agent[]> {
    return (await this.get<{ agents: Agent[] }>("agents")).agents ?? [];
  }

  async setProfile(accountID: string, p: Profile): Promise<Agent> {
    return this.send<Agent>("PUT", `agents/${enc(accountID)}/profile`, p);
  }

  async removeProfile(accountID: string): Promise<void> {
    return this.remove(`agents/${enc(accountID)}/profile`);
  }

  async answers(filter: { kind?: string; language?: string; queue?: string } = {}): Promise<Answer[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
    const qs = q.toString();
    return (await this.get<{ canned_answers: Answer[] }>("canned-answers" + (qs ? "?" + qs : ""))).canned_answers ?? [];
  }

  async saveAnswer(a: Answer): Promise<Answer> {
    const { id, ...body } = a;
    return this.send<Answer>("PUT", `canned-answers/${enc(id)}`, body);
  }

  async deleteAnswer(id: string): Promise<void> {
    return this.remove(`canned-answers/${enc(id)}`);
  }

  async widget(): Promise<Widget> {
    return this.get<Widget>("widget");
  }

  async saveWidget(w: { allowed_origins: string[]; default_queue: string }): Promise<Widget> {
    return this.send<Widget>("PUT", "widget", w);
  }
}

/** Directory ids: lowercase letters, digits, '-', '_', '.', starting with a letter or digit (bus/event.ValidDirectoryID). */
export const idPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A directory id suggested from a name: "Sales (FR)" gives "sales-fr". */
export function slug(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
}

/** A one-time password for a new account: 16 characters without look-alikes, from the browser's CSPRNG. */
export function newPassword(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const out: string[] = [];
  const buf = new Uint8Array(1);
  while (out.length < 16) {
    crypto.getRandomValues(buf);
    const b = buf[0] ?? 255;
    // Reject the top of the range so every character is equally likely.
    if (b < 256 - (256 % alphabet.length)) out.push(alphabet[b % alphabet.length] ?? "");
  }
  return out.join("");
}
