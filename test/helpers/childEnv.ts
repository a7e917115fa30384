/**
 * The environment of the processes a test starts (nodes, the CLI, the
 * devnet, storage fixtures): without `ATTRCHAIN_*` settings, so that only
 * the test's flags count, and without tap's coverage hooks. Children load
 * TypeScript through tsx, whose code maps every file to one line; merged
 * into the suite's coverage it made the figure depend on which process was
 * read last. Coverage is therefore measured in the test processes only.
 * (Removing tap's variables does not work: its spawn wrapper adds them back.)
 */
export const CHILD_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTRCHAIN_'))),
  // tap's process tracking re-injects itself into every spawn; this tells the
  // child's coverage hook to record no file.
  _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/.*/',
}
