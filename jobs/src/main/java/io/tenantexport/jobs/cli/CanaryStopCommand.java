package io.tenantexport.jobs.cli;

import java.util.List;

/**
 * {@code canary stop}: cancels the last canary the registry recorded and records a {@code
 * canary-stop} row. A canary's state is never resumed (the next canary recomputes from the earliest
 * offsets into a cleared shadow), so it is cancelled, not stopped with a savepoint. Its shadow rows
 * and lake prefix stay for inspection until the next {@code canary start} clears them.
 */
final class CanaryStopCommand implements Command {
  @Override
  public String name() {
    return "canary stop";
  }

  @Override
  public String summary() {
    return "cancel the running canary";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export canary stop --rest <url> --config <job.yaml>

        Cancels the job of the last 'canary' row of the export registry and records a
        'canary-stop' row and an OPERATION audit event. Its shadow rows, lake prefix and
        topics stay until the next 'canary start'.
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    JobOperations ops = JobOperations.open(args, io);
    List<ExportRegistry.Row> registry = ops.registry.all();
    ExportRegistry.Row canary =
        CanaryRun.lastStarted(registry)
            .orElseThrow(
                () ->
                    new CommandFailedException("no canary recorded in " + ops.registry.describe()));
    String jobId = canary.jobId();
    String before = ops.stateOf(jobId);
    boolean wasRunning = !FlinkRest.TERMINAL.contains(before) && !before.equals("UNKNOWN");
    ops.cancelQuietly(jobId);
    String after = ops.stateOf(jobId);
    boolean stopped = FlinkRest.TERMINAL.contains(after) || after.equals("UNKNOWN");
    String detail =
        stopped
            ? (wasRunning ? "cancelled" : "was already " + before) + "; now " + after
            : "still " + after + " after cancel";
    ops.record(
        JobOperations.rowLike(
            canary, "canary-stop", jobId, null, stopped ? "ok" : "failed", detail));
    if (!stopped) {
      throw new CommandFailedException(
          "canary job " + jobId + " (registry #" + canary.id() + ") is still " + after);
    }
    io.out().println("canary job " + jobId + " " + after);
    return TenantExportCli.OK;
  }
}
