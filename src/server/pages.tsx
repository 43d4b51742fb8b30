import { Elysia } from "elysia";
import type { ServerContext } from "./context.ts";
// Replaced by the dashboard pages (issue 4).
export function pageRoutes(_ctx: ServerContext) {
  return new Elysia();
}
