/** Static assets imported `with { type: "file" }` so the compiled binary embeds them: the import is a path. */
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.min.js" {
  const path: string;
  export default path;
}
