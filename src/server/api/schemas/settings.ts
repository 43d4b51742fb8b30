/** Schemas of GET and PATCH /api/v1/settings (src/server/security/settings-api.ts). */
import { t } from "elysia";
import { oneOf } from "./params.ts";

const closed = { additionalProperties: false } as const;

const SettingSchema = t.Object({
  key: t.String({ description: "Config-file key (and flag name)." }),
  value: t.Union([t.String(), t.Number(), t.Boolean(), t.Array(t.String()), t.Null()], { description: "Current value; secrets are \"********\"; null when unset." }),
  shown: t.String({ description: "The value as the config file would show it." }),
  source: t.String({ description: "Where the value comes from: flag, environment, file, api, default." }),
  live: t.Boolean({ description: "True when PATCH can change it while serving." }),
  env: t.String({ description: "Environment variable." }),
  flag: t.Union([t.String(), t.Null()], { description: "Command-line flag, null when there is none." }),
  doc: t.String(),
}, closed);

const listing = {
  role: oneOf(["admin", "viewer"] as const, undefined, "The caller's role."),
  settings: t.Array(SettingSchema),
};

export const SettingsBody = t.Object(listing, closed);
export const SettingsPatchBody = t.Object({ changed: t.Array(t.String(), { description: "Keys whose value changed." }), ...listing }, closed);
/** The PATCH request body: setting key → new value. */
export const SettingsPatchRequest = t.Record(t.String(), t.Union([t.String(), t.Number()]), { description: "Setting key → value, e.g. {\"alert-bps\": \"200M\"}." });
