package io.tenantexport.jobs.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code job rollback [--to <savepoint>]}: undoes the last upgrade. The registry's current job must
 * have been started by an {@code upgrade}; the jar before it is the last successful start recorded
 * before that upgrade. The current job is stopped with a savepoint (kept, and named in the row's
 * detail), and the previous jar starts with its previous arguments from the pre-upgrade savepoint
 * (the upgrade row's), or from {@code --to}.
 *
 * <p>Starting from the pre-upgrade savepoint reads again every change the upgraded job read since,
 * and the previous jar exports it again. So between the stop and the start, when the upgraded job's
 * export version is newer than the previous jar's, its outputs are retracted ({@link
 * JobOperations#undoExports}): its rollups move to {@code tenant_export.metric_rollup_retracted},
 * its lake files ({@code part-v<version>-*}) to {@code
 * <lake>/_retracted/export_version=<version>/}, and the row's detail and OPERATION event name the
 * retracted export version, whose receipts consumers discard (the audit topic is append-only). With
 * the same export version nothing can be told apart: a warning says that the re-read rows are
 * exported twice in the lake. Use {@code --to} with the savepoint this command's stop took when the
 * previous jar can read the upgraded job's state; the retraction happens all the same, as it is
 * about outputs, not state.
 */
final class JobRollbackCommand implements Command {
  private static final String TO = "--to";

  @Override
  public String name() {
    return "job rollback";
  }

  @Override
  public String summary() {
    return "stop the upgraded job and start the previous jar from the pre-upgrade savepoint";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job rollback --rest <url> --config <job.yaml> [--to <savepoint>]
                                          [--dir <dir>]

        Undoes the last upgrade: stops the export registry's current job (which an upgrade
        started) with a savepoint, then starts the jar that ran before the upgrade, with its
        previous arguments, from the pre-upgrade savepoint or from --to, and waits until it
        runs with a completed checkpoint. Records a 'rollback' row.
        From the pre-upgrade savepoint, whatever the upgraded job read is read again (and
        exported again). So, after the stop and before the start, when the upgraded job's
        export version is newer than the previous jar's, its outputs are retracted: its rows
        of tenant_export.metric_rollup move to tenant_export.metric_rollup_retracted, its lake
        files part-v<version>-* to <lake.path>/_retracted/export_version=<version>/ (a lake
        that is not file:// gets a warning naming what to move by hand), and the row names the export version whose receipts to discard. With the
        same export version nothing can be told apart and the re-read rows are exported twice
        in the lake (a warning says so).

          --to <savepoint>      start from this savepoint instead
          --dir <uri>           where to write the savepoint of the stop
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(TO).value(JobOperations.DIR);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    JobOperations ops = JobOperations.open(args, io);
    List<ExportRegistry.Row> rows = ops.registry.all();
    ExportRegistry.Row current = ops.current();
    if (!current.action().equals("upgrade")) {
      throw new CommandFailedException(
          "the current job "
              + current.jobId()
              + " was started by '"
              + current.action()
              + "' (registry #"
              + current.id()
              + "), not by an upgrade: nothing to roll back");
    }
    ExportRegistry.Row previous =
        ExportRegistry.lastStartBefore(rows, current.id())
            .orElseThrow(
                () ->
                    new CommandFailedException(
                        "no successful start recorded before upgrade #" + current.id()));
    Path previousJar = JobOperations.recordedJar(previous);
    String target = args.value(TO) != null ? args.value(TO) : current.savepointPath();
    if (target == null) {
      throw new CommandFailedException(
          "upgrade #" + current.id() + " records no savepoint: give one with " + TO);
    }

    String stopped = null;
    String state = ops.stateOf(current.jobId());
    if (!FlinkRest.TERMINAL.contains(state) && !state.equals("UNKNOWN")) {
      try {
        stopped = ops.stop(current.jobId(), args.value(JobOperations.DIR), false);
      } catch (CommandFailedException e) {
        ops.record(
            JobOperations.rowLike(
                previous,
                "rollback",
                current.jobId(),
                target,
                "failed",
                "stop with savepoint of job " + current.jobId() + " failed: " + e.getMessage()));
        throw e;
      }
    }
    String from =
        "from upgrade #"
            + current.id()
            + "; "
            + (stopped == null
                ? "job " + current.jobId() + " was already " + state
                : "job " + current.jobId() + " stopped with savepoint " + stopped);
    String retracted;
    try {
      retracted = ops.undoExports(current, previous, "rollback of upgrade #" + current.id());
    } catch (CommandFailedException e) {
      ops.record(
          JobOperations.rowLike(
              previous,
              "rollback",
              null,
              target,
              "failed",
              from + "; retraction failed, the previous jar was not started: " + e.getMessage()));
      throw e;
    }
    String detail = retracted == null ? from : from + "; " + retracted;
    JobOperations.Start started =
        ops.startAndRecord(
            previousJar,
            previous.programArgs(),
            target,
            (jobId, e) ->
                JobOperations.rowLike(
                    previous,
                    "rollback",
                    jobId,
                    target,
                    e == null ? "ok" : "failed",
                    e == null ? detail : detail + "; " + e.getMessage()));
    if (started.failure() != null) {
      throw new CommandFailedException(
          started.failure().getMessage()
              + (stopped == null ? "" : "; the upgraded job's state is in savepoint " + stopped));
    }
    String jobId = started.jobId();
    io.out().println("rolled back to " + previous.jar() + " as job " + jobId + " from " + target);
    return TenantExportCli.OK;
  }
}
