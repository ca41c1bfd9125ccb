package io.tenantexport.jobs.cli;

/**
 * {@code job savepoint [--dir <dir>]}: takes a savepoint of the registry's current job, leaves it
 * running, prints the savepoint's path and records a {@code savepoint} row.
 */
final class JobSavepointCommand implements Command {
  @Override
  public String name() {
    return "job savepoint";
  }

  @Override
  public String summary() {
    return "take a savepoint of the current job and print its path";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job savepoint --rest <url> --config <job.yaml> [--dir <dir>]

        Triggers a savepoint of the export registry's current job (the job keeps running),
        waits until it completes, prints its path and records a 'savepoint' row and an
        OPERATION audit event.

          --dir <uri>           where to write it (default: the cluster's
                                execution.checkpointing.savepoint-dir)
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(JobOperations.DIR);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    JobOperations ops = JobOperations.open(args, io);
    ExportRegistry.Row current = ops.current();
    String path;
    try {
      path = ops.savepoint(current.jobId(), args.value(JobOperations.DIR));
    } catch (CommandFailedException e) {
      ops.record(
          JobOperations.rowLike(
              current, "savepoint", current.jobId(), null, "failed", e.getMessage()));
      throw e;
    }
    ops.record(JobOperations.rowLike(current, "savepoint", current.jobId(), path, "ok", null));
    io.out().println(path);
    return TenantExportCli.OK;
  }
}
