/**
 * Where the team's shared material lives: `../shared` beside the checkout (as on the developers'
 * machines and in CI, which lays a copy of shared/ beside its fresh clone).
 */
export const SHARED = new URL("../../shared/", import.meta.url).pathname;
export const PCAPS = `${SHARED}pcaps/`;
export const TOOLS = `${SHARED}tools/`;
