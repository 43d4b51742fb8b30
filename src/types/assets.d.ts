/** Files imported `with { type: "file" }`: the import is a path (a /$bunfs/ path inside a compiled binary). */
declare module "*.c" {
  const path: string;
  export default path;
}
