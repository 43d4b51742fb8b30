import { Elysia } from "elysia";
import type { ServerContext } from "./context.ts";
// Replaced by the WebSocket/SSE live push (issue 4).
export function liveRoutes(_ctx: ServerContext) {
  return new Elysia();
}
