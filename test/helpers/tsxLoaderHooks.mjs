// Runs in Node's module-loader thread (registered by ./tsxLoader.mjs before
// tsx). tsx writes the original source into its source maps
// (`sourcesContent`) only when it believes V8 coverage is being collected,
// which it reads from NODE_V8_COVERAGE when its loader is evaluated in this
// thread. tap collects coverage through the inspector instead, so tsx's
// maps said `sourcesContent: [null]`, and the coverage report
// (v8-to-istanbul) took that null as the source of every TypeScript file:
// one statement per file. The variable is set in this thread's copy of the
// environment only: the test process, and the nodes and CLIs a test
// starts, do not see it, so none of them starts Node's own coverage
// collection.
process.env.NODE_V8_COVERAGE ||= 'tsx-sources-content'
