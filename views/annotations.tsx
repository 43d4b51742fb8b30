/**
 * Small pieces that annotate an address or a flow (issue 11): a country flag or special-range
 * badge, a passive-DNS name, an AS, an application badge, and the data attribution.
 *
 * Every value here comes from a packet (names, SNI), a DNS answer or a database (AS names): each
 * goes through cleanText (controls and bidi overrides → "?", bounded length) and is escaped
 * (`safe`). A country is shown as a flag only when it is exactly two ASCII letters; anything else
 * ("private", "loopback", …) is a short text badge.
 */
import { asText, cleanText, flagEmoji, NAME_SHOW_MAX } from "./format.ts";

/** Flag (🇩🇪, title "DE") or special-range badge ("private"); nothing when unknown. */
export function Geo({ country }: { country: string | null | undefined }): JSX.Element {
  if (!country) return "";
  const flag = flagEmoji(country);
  if (flag !== null) {
    const cc = country.toUpperCase();
    return <span class="flag" data-country={cc} title={`Country ${cc}`} role="img" aria-label={cc} safe>{flag}</span>;
  }
  const label = cleanText(country, 16);
  return <span class="range-badge" data-range={label} title={`Special-purpose range: ${label}`} safe>{label}</span>;
}

/** A passive-DNS or server name, shortened for the cell (the bounded full name in title=). */
export function Name({ name, cls = "host-name" }: { name: string | null | undefined; cls?: string }): JSX.Element {
  if (!name) return "";
  return <span class={cls} title={cleanText(name, 253, "tail")} safe>{cleanText(name, NAME_SHOW_MAX, "tail")}</span>;
}

/** "AS15169 Google LLC" as a dim note; nothing when unknown. */
export function AsNote({ asn, name }: { asn: number | null | undefined; name: string | null | undefined }): JSX.Element {
  const text = asText(asn, name);
  if (!text) return "";
  return <span class="as-note" title={asText(asn, name, 253)} safe>{text}</span>;
}

/** Application name; a port-guessed app is marked (dim, "?", "guessed from the port" on hover). */
export function AppBadge({ app, source }: { app: string | null | undefined; source: "payload" | "port" | null | undefined }): JSX.Element {
  if (!app) return "";
  const name = cleanText(app, 32);
  if (source === "port") {
    return <span class="app app-port" data-app-source="port" title={`${name}: guessed from the port`} safe>{`${name}?`}</span>;
  }
  return <span class="app app-payload" data-app-source={source ?? "payload"} title={`${name}: from the payload`} safe>{name}</span>;
}

/**
 * Attribution the default country / AS data's licences ask for (CC BY 4.0: NRO, DB-IP,
 * RouteViews; src/l7/README.md), shown wherever AS names are.
 */
export function GeoAttribution(): JSX.Element {
  return (
    <p class="attribution">
      Country and AS data: <a href="https://db-ip.com" rel="noopener noreferrer">IP Geolocation by DB-IP</a>,
      RouteViews, NRO (CC BY 4.0)
    </p>
  );
}
