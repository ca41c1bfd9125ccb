package io.tenantexport.jobs.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code job upgrade --jar <new jar> --config <job.yaml>}: replaces the registry's current job by
 * the new jar, carrying its state over, and undoes itself when the new job does not come up.
 *
 * <ol>
 *   <li>Checks that the current job runs and that its jar is still where the registry says (the
 *       automatic rollback needs it), then stops it with a savepoint, without draining: open
 *       windows stay open in the savepoint.
 *   <li>Starts the new jar from that savepoint (allowNonRestoredState false: state the new graph
 *       cannot map fails the start) and waits until it runs with a completed checkpoint.
 *   <li>Records {@code upgrade ok}; that savepoint is the pre-upgrade savepoint {@code job
 *       rollback} returns to.
 *   <li>On a failure or timeout (a jar Flink refuses, a job that fails even once after it started,
 *       one that completes no checkpoint in time): cancels the new job, records {@code upgrade
 *       failed}, takes back what the new job exported when its export version is newer ({@link
 *       JobOperations#undoExports}: at-least-once warehouse writes can land before the first
 *       checkpoint, and a row of a newer export version would shadow the previous jar's), starts
 *       the previous jar with its previous arguments from the same savepoint and records {@code
 *       rollback-auto}; exit status 1 either way.
 * </ol>
 */
final class JobUpgradeCommand implements Command {
  @Override
  public String name() {
    return "job upgrade";
  }

  @Override
  public String summary() {
    return "stop the current job with a savepoint and start a new jar from it (auto-rollback)";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job upgrade --rest <url> --jar <new job jar> --config <job.yaml>
                                         [--dir <dir>] [--<key>=<value> ...]

        Stops the export registry's current job with a savepoint (no drain), starts the new
        jar from it with '--config <job.yaml>' and the given settings (allowNonRestoredState
        false) and waits until it runs with a completed checkpoint (--timeout). Records an
        'upgrade' row. If the new job fails (even once, before that checkpoint) or times out,
        it is cancelled, its outputs are retracted when its export version is newer (as
        'job rollback' does), and the previous jar is started again from the same savepoint
        with its previous arguments, recorded as 'rollback-auto'; the exit status is then 1.

          --jar <file>          the new job jar
          --dir <uri>           where to write the savepoint (default: the cluster's
                                execution.checkpointing.savepoint-dir)
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(JobOperations.JAR).value(JobOperations.DIR);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Path jar = JobOperations.existingJar(JobOperations.JAR, args.value(JobOperations.JAR));
    JobOperations ops = JobOperations.open(args, io);
    ExportRegistry.Row previous = ops.current();
    String state = ops.stateOf(previous.jobId());
    if (!state.equals("RUNNING")) {
      throw new CommandFailedException(
          "the current job "
              + previous.jobId()
              + " (registry #"
              + previous.id()
              + ") is "
              + state
              + ", not RUNNING: nothing to upgrade from; use 'tenant-export job deploy'");
    }
    Path previousJar = JobOperations.recordedJar(previous);
    String label = JobOperations.jarLabel(jar);
    List<String> programArgs = JobOperations.programArgs(args);

    String savepoint;
    try {
      savepoint = ops.stop(previous.jobId(), args.value(JobOperations.DIR), false);
    } catch (CommandFailedException e) {
      ops.record(
          ops.row(
              "upgrade",
              previous.jobId(),
              jar,
              label,
              programArgs,
              null,
              "failed",
              "stop with savepoint of job "
                  + previous.jobId()
                  + " failed ("
                  + ops.stateOf(previous.jobId())
                  + " now): "
                  + e.getMessage()));
      throw e;
    }

    JobOperations.Start started = ops.startAndRecord("upgrade", jar, label, programArgs, savepoint);
    if (started.failure() != null) {
      CommandFailedException e = started.failure();
      io.err().println("upgrade to " + label + " failed: " + e.getMessage());
      rollBack(ops, previous, previousJar, savepoint, started, e);
      io.out()
          .println(
              "upgrade failed; rolled back automatically to "
                  + previous.jar()
                  + " from "
                  + savepoint);
      return TenantExportCli.FAILED;
    }
    io.out().println("upgraded to " + label + " as job " + started.jobId() + " from " + savepoint);
    return TenantExportCli.OK;
  }

  private static void rollBack(
      JobOperations ops,
      ExportRegistry.Row previous,
      Path previousJar,
      String savepoint,
      JobOperations.Start failed,
      CommandFailedException cause) {
    String retracted = null;
    if (failed.jobId() != null) {
      ExportRegistry.Row upgrade =
          ops.registry.all().stream()
              .filter(r -> r.id() == failed.rowId())
              .findFirst()
              .orElseThrow(
                  () ->
                      new CommandFailedException(
                          "registry row #" + failed.rowId() + " of the failed upgrade is gone"));
      try {
        retracted = ops.undoExports(upgrade, previous, "rollback-auto of upgrade #" + upgrade.id());
      } catch (CommandFailedException e) {
        ops.record(
            JobOperations.rowLike(
                previous,
                "rollback-auto",
                null,
                savepoint,
                "failed",
                "after failed upgrade #"
                    + upgrade.id()
                    + ": retraction failed, the previous jar was not started: "
                    + e.getMessage()));
        throw new CommandFailedException(
            "upgrade failed ("
                + cause.getMessage()
                + ") and retracting its outputs failed ("
                + e.getMessage()
                + "): no job runs; retract export version "
                + upgrade.exportVersion()
                + " by hand, then start "
                + previousJar
                + " with 'tenant-export job deploy --from-savepoint "
                + savepoint
                + "'",
            e);
      }
    }
    String detail =
        "after failed upgrade #"
            + failed.rowId()
            + ": "
            + cause.getMessage()
            + (retracted == null ? "" : "; " + retracted);
    JobOperations.Start started =
        ops.startAndRecord(
            previousJar,
            previous.programArgs(),
            savepoint,
            (jobId, e) ->
                JobOperations.rowLike(
                    previous,
                    "rollback-auto",
                    jobId,
                    savepoint,
                    e == null ? "ok" : "failed",
                    e == null ? detail : detail + "; " + e.getMessage()));
    if (started.failure() != null) {
      throw new CommandFailedException(
          "upgrade failed ("
              + cause.getMessage()
              + ") and the automatic rollback failed too ("
              + started.failure().getMessage()
              + "): no job runs; start "
              + previousJar
              + " with 'tenant-export job deploy --from-savepoint "
              + savepoint
              + "'");
    }
  }
}
