package io.tenantexport.jobs.cli;

import java.io.PrintStream;
import java.util.Map;

/**
 * Where a command writes and what environment it sees: the real ones in {@code main}, captured ones
 * in tests.
 *
 * @param out results: problems found, what was published or replayed, summaries
 * @param err usage errors and failures
 * @param env the environment variables (the job configuration reads the warehouse password here)
 */
record Io(PrintStream out, PrintStream err, Map<String, String> env) {}
