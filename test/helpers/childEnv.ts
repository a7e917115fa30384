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
  // tap's process tracking re-injects itself into every spawn. Its coverage
  // hook, told only to record no file, still ran V8's precise block coverage
  // (an inspector session with callCount and detailed counters) in every
  // node process for its whole life, which slowed all their JavaScript:
  // '0' keeps the session from starting; the exclusion stays as a second
  // guard.
  _TAPJS_PROCESSINFO_COVERAGE_: '0',
  _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/.*/',
}
