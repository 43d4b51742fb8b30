/**
 * Settings over HTTP — the one write endpoint, so the admin/viewer distinction is real:
 *   GET   /api/v1/settings  every setting: value (secrets masked), source, live, doc, env, flag
 *   PATCH /api/v1/settings  JSON `{"alert-bps": "200M", "log-level": "debug"}`: changes live
 *                           settings (alert thresholds and timings, log level) at once; admin
 *                           only (a viewer gets 403 from the guard). A setting that is not live,
 *                           unknown, or a bad value → 400 naming the key; nothing is applied then.
 * Changes made here last until the next restart or SIGHUP reload (the file, environment and
 * flags are read again then).
 */
import { Elysia } from "elysia";
import { ALERT_SETTINGS, type AlertSettingName } from "../../alerts/registry.ts";
import { describeSource, showValue, type LoadedConfig, type Source } from "../../config/load.ts";
import { log, type LogLevel } from "../../config/log.ts";
import { SCHEMA, SETTINGS_BY_KEY, type Value } from "../../config/schema.ts";
import type { ServerContext } from "../context.ts";
import { BadRequestError } from "../api/bad-request-error.ts";
import { badRequest } from "../api/schemas/errors.ts";
import { json, operation } from "../api/schemas/operation.ts";
import { SettingsBody, SettingsPatchBody, SettingsPatchRequest } from "../api/schemas/settings.ts";
import { roleOf } from "./guard.ts";

/**
 * Applies live settings to the running server; returns the keys whose value changed (with
 * `dryRun`, only says which would change).
 */
export function applyLiveSettings(ctx: ServerContext, values: Record<string, Value | undefined>, source: Source, dryRun = false): string[] {
  const changed: string[] = [];
  const cfg = ctx.config.settings;
  // The AlertEngine reads its resolved config object on every evaluation: updating it in place
  // changes thresholds from the next tick on.
  const alertCfg = ctx.alerts.config as Record<AlertSettingName, number>;
  for (const [key, v] of Object.entries(values)) {
    const s = SETTINGS_BY_KEY.get(key);
    if (!s?.live || v === undefined) continue;
    const before = s.alert ? alertCfg[s.alert] : log.level;
    if (before !== v) changed.push(key);
    if (dryRun) continue;
    if (s.alert) alertCfg[s.alert] = v as number;
    else if (key === "log-level") log.configure({ level: v as LogLevel });
    if (cfg) {
      (cfg.values as Record<string, Value | undefined>)[key] = v;
      cfg.sources[key] = source;
    }
  }
  return changed;
}

function current(ctx: ServerContext, key: string): Value | undefined {
  const s = SETTINGS_BY_KEY.get(key)!;
  if (s.alert) return (ctx.alerts.config as Record<string, number>)[s.alert];
  if (key === "log-level") return log.level;
  return (ctx.config.settings?.values as Record<string, Value | undefined> | undefined)?.[key] ?? s.default;
}

export function settingsRoutes(ctx: ServerContext) {
  const sourceOf = (c: LoadedConfig | undefined, key: string): string => {
    if (!c) return "default";
    if (key === "auth-token" && c.tokenSources.admin) return describeSource(c.tokenSources.admin);
    if (key === "viewer-token" && c.tokenSources.viewer) return describeSource(c.tokenSources.viewer);
    return describeSource(c.sources[key] ?? { kind: "default" });
  };
  const listing = (request: Request) => ({
    role: roleOf(request),
    settings: SCHEMA.map((s) => {
      const v = current(ctx, s.key);
      return {
        key: s.key,
        value: s.secret ? (v === undefined ? null : "********") : v === undefined ? null : v,
        shown: showValue(s, v),
        source: sourceOf(ctx.config.settings, s.key),
        live: s.live === true,
        env: s.env,
        flag: s.flag ? `--${s.key}` : null,
        doc: s.doc,
      };
    }),
  });
  return new Elysia({ name: "flowmatrix-settings" })
    .get("/api/v1/settings", ({ request }) => listing(request), {
      detail: operation({
        summary: "Settings", description: "Every setting with its value, source (flag, environment, file, default), flag, variable and doc; secrets masked.", tags: ["system"],
        responses: { "200": json("Every setting.", SettingsBody) },
      }),
    })
    .patch("/api/v1/settings", async ({ request }) => {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        throw new BadRequestError("body", "the body must be a JSON object of setting → value");
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BadRequestError("body", "the body must be a JSON object of setting → value");
      const parsed: Record<string, Value> = {};
      for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
        const s = SETTINGS_BY_KEY.get(key);
        if (!s) throw new BadRequestError(key, `unknown setting "${key}"`);
        if (!s.live) throw new BadRequestError(key, `${key} cannot change while serving (restart with the new value)`);
        if (typeof raw !== "string" && typeof raw !== "number") throw new BadRequestError(key, `${key}: give the value as a string or number`);
        try {
          parsed[key] = s.parse(String(raw));
        } catch (e) {
          throw new BadRequestError(key, `${key}: ${(e as Error).message}`);
        }
      }
      // Logged before applying, so a log-level change does not hide its own event.
      const changed = applyLiveSettings(ctx, parsed, { kind: "api" }, true);
      if (changed.length) log.info("settings_changed", `settings changed through the API: ${changed.join(", ")}`, { keys: changed });
      applyLiveSettings(ctx, parsed, { kind: "api" });
      return { changed, ...listing(request) };
    }, {
      parse: "none",
      detail: {
        ...operation({
          summary: "Change settings", description: "Admin only (a viewer token gets 403). Body: a JSON object of setting → value, for settings that can change while serving (alert thresholds, log level); others are 400.", tags: ["system"],
          responses: { "200": json("The keys that changed, and every setting.", SettingsPatchBody), "400": badRequest },
        }),
        requestBody: { required: true, content: json("", SettingsPatchRequest).content! },
      },
    });
}

/** Names for tests and docs: the live keys. */
export const LIVE_KEYS: readonly string[] = SCHEMA.filter((s) => s.live).map((s) => s.key);
export { ALERT_SETTINGS };
