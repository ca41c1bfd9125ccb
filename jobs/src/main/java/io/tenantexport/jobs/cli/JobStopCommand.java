package io.tenantexport.jobs.cli;

/**
 * {@code job stop [--drain] [--dir <dir>]}: stops the registry's current job with a savepoint and
 * records a {@code stop} row. With {@code --drain} the job first flushes event time, exporting
 * every open window: for a job that is not meant to resume.
 */
final class JobStopCommand implements Command {
  private static final String DRAIN = "--drain";

  @Override
  public String name() {
    return "job stop";
  }

  @Override
  public String summary() {
    return "stop the current job with a savepoint (--drain: export every open window first)";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job stop --rest <url> --config <job.yaml> [--drain] [--dir <dir>]

        Stops the export registry's current job with a savepoint, prints its path and
        records a 'stop' row and an OPERATION audit event.

          --drain               advance event time to the end first, so every open window
                                is exported (for a job that will not resume from it)
          --dir <uri>           where to write the savepoint (default: the cluster's
                                execution.checkpointing.savepoint-dir)
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(JobOperations.DIR).flag(DRAIN);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    JobOperations ops = JobOperations.open(args, io);
    ExportRegistry.Row current = ops.current();
    boolean drain = args.flag(DRAIN);
    String path;
    try {
      path = ops.stop(current.jobId(), args.value(JobOperations.DIR), drain);
    } catch (CommandFailedException e) {
      ops.record(
          JobOperations.rowLike(current, "stop", current.jobId(), null, "failed", e.getMessage()));
      throw e;
    }
    ops.record(
        JobOperations.rowLike(
            current, "stop", current.jobId(), path, "ok", drain ? "drained" : null));
    io.out().println(path);
    return TenantExportCli.OK;
  }
}
