// The sign-in API of webui/auth, as the UI uses it. Every failure becomes
// an ApiError whose code the screens translate.

export interface Account {
  id: string;
  tenant: string;
  login: string;
  display_name: string;
  role: string;
  operator: boolean;
}

export interface Tenant {
  id: string;
  name: string;
  language: string;
  time_zone: string;
}

export interface Session {
  account: Account;
  tenant?: Tenant;
  csrf_token: string;
  expires_at?: string;
}

/** A failed API call: code is the API's error code, or "network". */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** One API request (extra: more request headers); a non-2xx answer throws an ApiError with the body's code and field. */
export async function call(
  method: string,
  path: string,
  body?: unknown,
  csrf?: string,
  extra?: Record<string, string>,
): Promise<Response> {
  const headers: Record<string, string> = { ...extra, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let res: Response;
  try {
    const init: RequestInit = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (res.ok) return res;
  let code = "http_" + res.status;
  let message = res.statusText;
  let field: string | undefined;
  try {
    const j: unknown = await res.json();
    const err = (j as { error?: { code?: unknown; message?: unknown; field?: unknown } }).error;
    if (err && typeof err.code === "string") code = err.code;
    if (err && typeof err.message === "string") message = err.message;
    if (err && typeof err.field === "string") field = err.field;
  } catch {
    // not JSON (a proxy's error page): keep the HTTP status as the code
  }
  throw new ApiError(res.status, code, message, field);
}

/** The response body as T, or an ApiError if it is not JSON. */
export async function json<T>(res: Response): Promise<T> {
  try {
    return (await res.json()) as T;
  } catch (e) {
    throw new ApiError(res.status, "invalid_response", e instanceof Error ? e.message : String(e));
  }
}

export async function login(tenant: string, loginName: string, password: string): Promise<Session> {
  const body: Record<string, string> = { login: loginName, password };
  if (tenant) body.tenant = tenant;
  return json<Session>(await call("POST", "/api/v1/auth/login", body));
}

export async function me(): Promise<Session> {
  return json<Session>(await call("GET", "/api/v1/auth/me"));
}

export async function logout(csrf: string): Promise<void> {
  await call("POST", "/api/v1/auth/logout", undefined, csrf);
}

export async function changePassword(csrf: string, current: string, next: string): Promise<void> {
  await call("POST", "/api/v1/auth/password", { current_password: current, new_password: next }, csrf);
}
