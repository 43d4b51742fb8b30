/** Alert events (raised / cleared) with the alert as JSON; kept 30 days. */
import type { Database, Statement } from "bun:sqlite";
import type { Alert } from "../alerts/alert.ts";

export type AlertEventKind = "raised" | "cleared";

export interface AlertEvent {
  seq: number;
  /** When the event was stored (ISO 8601). */
  at: string;
  event: AlertEventKind;
  alert: Alert;
}

export interface AlertQuery {
  /** Seconds since the epoch (inclusive bounds). */
  since?: number;
  until?: number;
  /** Default 100, at most 10,000. */
  limit?: number;
}

export const ALERT_KEEP_SEC = 30 * 86400;

export class AlertLog {
  private readonly ins: Statement;

  constructor(private readonly db: Database) {
    this.ins = db.prepare("INSERT INTO alert_events (t_ms, event, alert_id, rule, severity, alert) VALUES (?, ?, ?, ?, ?, ?)");
  }

  add(event: AlertEventKind, alert: Alert, atMs: number): void {
    if (event !== "raised" && event !== "cleared") throw new TypeError(`bad alert event ${String(event)}`);
    this.ins.run(Math.round(atMs), event, String(alert.id), String(alert.rule), String(alert.severity), JSON.stringify(alert));
  }

  /** Events in [since, until], newest first. */
  list(q: AlertQuery): AlertEvent[] {
    const since = q.since === undefined ? -1e15 : q.since * 1000;
    const until = q.until === undefined ? 1e15 : q.until * 1000;
    const limit = Math.min(10_000, Math.max(0, Math.floor(q.limit ?? 100)));
    const rows = this.db.query(
      "SELECT seq, t_ms, event, alert FROM alert_events WHERE t_ms >= ? AND t_ms <= ? ORDER BY t_ms DESC, seq DESC LIMIT ?",
    ).all(since, until, limit) as { seq: number; t_ms: number; event: AlertEventKind; alert: string }[];
    return rows.map((r) => ({ seq: r.seq, at: new Date(r.t_ms).toISOString(), event: r.event, alert: JSON.parse(r.alert) as Alert }));
  }

  prune(nowSec: number, max = 5000): number {
    return this.db.run(`DELETE FROM alert_events WHERE seq IN (SELECT seq FROM alert_events WHERE t_ms < ? LIMIT ${max})`,
      [Math.round((nowSec - ALERT_KEEP_SEC) * 1000)]).changes;
  }
}
