/**
 * Test helper: parse rendered HTML in happy-dom and, on request, run _hyperscript on it.
 * htmx is NOT loaded (it does not run in happy-dom 21): htmx events are dispatched by hand.
 */
import { Window } from "happy-dom";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const HS_PATH = join(import.meta.dir, "..", "node_modules", "hyperscript.org", "dist", "_hyperscript.min.js");

export interface Dom {
  window: Window;
  document: Window["document"];
  $: (sel: string) => Element | null;
  $$: (sel: string) => Element[];
}

/** A fragment goes into <body>; a full document ("<!doctype html>…") replaces the document. */
export function parse(html: string): Dom {
  const window = new Window({
    url: "http://localhost/",
    settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true, navigation: { disableMainFrameNavigation: true } },
  });
  const document = window.document;
  if (/^\s*<!doctype/i.test(html)) document.write(html);
  else document.body.innerHTML = html;
  return {
    window, document,
    $: (s) => document.querySelector(s) as Element | null,
    $$: (s) => [...document.querySelectorAll(s)] as unknown as Element[],
  };
}

/** Load _hyperscript into the window and process the body (behaviour tests). */
export function withHyperscript(dom: Dom): void {
  dom.window.eval(readFileSync(HS_PATH, "utf8"));
  (dom.window as unknown as { _hyperscript: { processNode(e: unknown): void } })._hyperscript.processNode(dom.document.body);
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Every id in the document, with duplicates. */
export function ids(dom: Dom): string[] {
  return dom.$$("[id]").map((e) => e.id);
}
