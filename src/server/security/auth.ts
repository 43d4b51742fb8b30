/**
 * Authentication state: the admin and viewer tokens, browser sessions, and the per-client limit
 * on failed logins.
 *
 * - Tokens are compared in constant time: both sides are hashed with SHA-256 and the digests
 *   compared with crypto.timingSafeEqual, so neither the content nor the length of the
 *   configured token leaks through timing; both tokens are always compared.
 * - Sessions: 32 random bytes (base64url) in an HttpOnly, SameSite=Strict cookie (`Secure` under
 *   TLS), kept in memory by their SHA-256 (a restart logs everyone out), expiring after
 *   `sessionTtlMs` (default 12 h). Logout deletes the session, and the live connections (/ws,
 *   /sse) opened with it are closed (onSessionEnd); they also close when it expires.
 * - Failed logins (the login form and wrong Bearer tokens) are counted per client address; after
 *   `maxFailures` (default 5) within `windowMs` (default 5 min) that client gets 429 with
 *   Retry-After until the window ends. A successful login clears its count. Limit: behind a reverse
 *   proxy every client shares the proxy's address.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type Role = "admin" | "viewer";

export const SESSION_COOKIE = "flowmatrix_session";

const sha256 = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time string equality (independent of where the strings differ and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A new random token: 32 bytes from the system CSPRNG, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

export interface AuthOptions {
  adminToken?: string;
  viewerToken?: string;
  sessionTtlMs?: number;
  maxFailures?: number;
  windowMs?: number;
}

interface Session {
  role: Role;
  expires: number;
}

export class Auth {
  private readonly sessions = new Map<string, Session>();
  /** Called when a session ends (logout, expiry): live connections opened with it close. */
  private readonly enders = new Map<string, Set<() => void>>();
  private readonly failures = new Map<string, { count: number; since: number }>();
  readonly sessionTtlMs: number;
  readonly maxFailures: number;
  readonly windowMs: number;

  constructor(private readonly o: AuthOptions) {
    this.sessionTtlMs = o.sessionTtlMs ?? 12 * 3600_000;
    this.maxFailures = o.maxFailures ?? 5;
    this.windowMs = o.windowMs ?? 5 * 60_000;
  }

  /** True when any token is configured (then every non-public route needs credentials). */
  get enabled(): boolean {
    return this.o.adminToken !== undefined || this.o.viewerToken !== undefined;
  }

  /** The role a token grants, or null. Both tokens are always compared. */
  roleOf(token: string): Role | null {
    const admin = this.o.adminToken !== undefined && constantTimeEqual(token, this.o.adminToken);
    const viewer = this.o.viewerToken !== undefined && constantTimeEqual(token, this.o.viewerToken);
    return admin ? "admin" : viewer ? "viewer" : null;
  }

  /** Starts a session; returns its id (the cookie value). */
  createSession(role: Role, now = Date.now()): string {
    this.sweep(now);
    const id = randomBytes(32).toString("base64url");
    this.sessions.set(sha256(id).toString("hex"), { role, expires: now + this.sessionTtlMs });
    return id;
  }

  /** The key a session is kept under (the SHA-256 of its id), for onSessionEnd. */
  sessionKey(id: string): string {
    return sha256(id).toString("hex");
  }

  sessionRole(id: string | undefined, now = Date.now()): Role | null {
    if (!id) return null;
    const key = this.sessionKey(id);
    const s = this.sessions.get(key);
    if (!s) return null;
    if (s.expires <= now) {
      this.end(key);
      return null;
    }
    return s.role;
  }

  /** ms since epoch when a live session expires (undefined: no such session). */
  sessionExpires(key: string): number | undefined {
    return this.sessions.get(key)?.expires;
  }

  endSession(id: string | undefined): void {
    if (id) this.end(this.sessionKey(id));
  }

  /** Runs `fn` once when the session ends (logout or expiry); returns the unsubscribe. */
  onSessionEnd(key: string, fn: () => void): () => void {
    let set = this.enders.get(key);
    if (!set) this.enders.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.enders.get(key) === set) this.enders.delete(key);
    };
  }

  private end(key: string): void {
    this.sessions.delete(key);
    const set = this.enders.get(key);
    this.enders.delete(key);
    for (const fn of set ?? []) {
      try {
        fn();
      } catch {
        // a connection already gone
      }
    }
  }

  /** Seconds until this client may try again, or 0 when it may. */
  blockedFor(client: string, now = Date.now()): number {
    const f = this.failures.get(client);
    if (!f) return 0;
    if (now - f.since >= this.windowMs) {
      this.failures.delete(client);
      return 0;
    }
    return f.count >= this.maxFailures ? Math.ceil((f.since + this.windowMs - now) / 1000) : 0;
  }

  /** Counts a failed attempt; returns the failures in the current window. */
  fail(client: string, now = Date.now()): number {
    const f = this.failures.get(client);
    if (!f || now - f.since >= this.windowMs) {
      this.failures.set(client, { count: 1, since: now });
      return 1;
    }
    f.count++;
    return f.count;
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  private sweep(now: number): void {
    if (this.sessions.size < 1000) return;
    for (const [k, s] of this.sessions) if (s.expires <= now) this.end(k);
  }
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
