/** The standalone measurement scripts' flags: the value after `--name` on the command line, if any. */
export function flagValue(name: `--${string}`, argv: readonly string[] = process.argv): string | undefined {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
}
