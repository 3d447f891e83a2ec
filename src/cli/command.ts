export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Returns the process exit code. Throw CliError for a clean one-line failure. */
  run(args: string[]): Promise<number>;
}
