/**
 * GET /api/docs: a self-contained HTML page listing every endpoint and parameter of the OpenAPI
 * document (no CDN script, so it works offline and inside the single binary). Every value from
 * the document is HTML-escaped.
 */
interface ParamSchema { description?: string; type?: string | string[]; enum?: unknown[]; const?: unknown; minimum?: number; maximum?: number; pattern?: string; maxLength?: number; default?: unknown; anyOf?: ParamSchema[] }
interface OpenApiParam { name: string; in: string; required?: boolean; description?: string; schema?: ParamSchema }
interface OpenApiOp { summary?: string; description?: string; parameters?: OpenApiParam[]; responses?: Record<string, { content?: Record<string, unknown> }> }
export interface OpenApiDoc { info?: { title?: string; version?: string; description?: string }; paths?: Record<string, Record<string, OpenApiOp>> }

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/** A parameter's schema in words: "integer 0-10000 (default 100)", "one of a, b", "string matching …". */
export function schemaText(s: ParamSchema | undefined): string {
  if (!s) return "";
  const def = s.default === undefined ? "" : ` (default ${String(s.default)})`;
  if (s.anyOf) return s.anyOf.map((b) => schemaText(b)).join(" or ") + def;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return `one of ${s.enum.map(String).join(", ")}${def}`;
  const type = Array.isArray(s.type) ? s.type.join(" | ") : (s.type ?? "");
  const range = s.minimum !== undefined && s.maximum !== undefined ? ` ${s.minimum}-${s.maximum}` : s.minimum !== undefined ? ` ≥ ${s.minimum}` : "";
  const pattern = s.pattern ? ` matching ${s.pattern}` : "";
  const max = s.maxLength !== undefined ? `, at most ${s.maxLength} characters` : "";
  return `${type}${range}${pattern}${max}${def}`;
}

export function docsPage(doc: OpenApiDoc, specPath: string): string {
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(ops)) {
      const rows = (op.parameters ?? []).map((p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? "yes" : ""}</td><td><code>${escapeHtml(schemaText(p.schema))}</code></td><td>${escapeHtml(p.description ?? p.schema?.description ?? "")}</td></tr>`,
      ).join("");
      const answers = Object.entries(op.responses ?? {}).map(([status, r]) => `${status}${r.content ? ` ${Object.keys(r.content).join(", ")}` : ""}`).join(" · ");
      sections.push(`<section><h2><code>${escapeHtml(method.toUpperCase())} ${escapeHtml(path)}</code></h2>
<p>${escapeHtml(op.summary ?? "")}${op.description ? ` — ${escapeHtml(op.description)}` : ""}</p>
${rows ? `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>description</th></tr></thead><tbody>${rows}</tbody></table>` : ""}
${answers ? `<p>Responses: ${escapeHtml(answers)} (schemas in the JSON document).</p>` : ""}</section>`);
    }
  }
  const title = escapeHtml(doc.info?.title ?? "API");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}code{font-family:ui-monospace,monospace}</style>
</head><body><h1>${title} ${escapeHtml(doc.info?.version ?? "")}</h1><p>${escapeHtml(doc.info?.description ?? "")}</p>
<p>Machine-readable: <a href="${escapeHtml(specPath)}">${escapeHtml(specPath)}</a>. Errors: 400 <code>{"error":"bad_request","message","field"}</code>, 404 <code>{"error":"not_found","message"}</code>.</p>
${sections.join("\n")}</body></html>`;
}
