package io.tenantexport.jobs.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code job deploy --jar <job jar> --config <job.yaml> [--from-savepoint <path>]}: uploads the jar
 * and runs it (from the savepoint, never dropping state it cannot map), waits until it runs with a
 * completed checkpoint, and records a {@code deploy} row. Refuses while the registry's current job
 * still runs: that is what {@code job upgrade} is for.
 */
final class JobDeployCommand implements Command {
  private static final String FROM_SAVEPOINT = "--from-savepoint";

  @Override
  public String name() {
    return "job deploy";
  }

  @Override
  public String summary() {
    return "upload a job jar and start it, optionally from a savepoint";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job deploy --rest <url> --jar <job jar> --config <job.yaml>
                                        [--from-savepoint <path>] [--<key>=<value> ...]

        Uploads the jar to Flink and runs it with '--config <job.yaml>' and the given
        settings (allowNonRestoredState false), waits until it runs with a completed
        checkpoint, and records a 'deploy' row in the export registry and an OPERATION
        audit event. Refuses while the registry's current job still runs (use 'job upgrade').

          --jar <file>          the job jar (tenant-export-jobs-<version>-job.jar)
          --from-savepoint <p>  start from this savepoint
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(JobOperations.JAR).value(FROM_SAVEPOINT);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Path jar = JobOperations.existingJar(JobOperations.JAR, args.value(JobOperations.JAR));
    String savepoint = args.value(FROM_SAVEPOINT);
    JobOperations ops = JobOperations.open(args, io);
    Optional<ExportRegistry.Row> current = ops.registry.current();
    if (current.isPresent() && current.get().jobId() != null) {
      String state = ops.stateOf(current.get().jobId());
      if (!FlinkRest.TERMINAL.contains(state) && !state.equals("UNKNOWN")) {
        throw new CommandFailedException(
            "job "
                + current.get().jobId()
                + " (registry #"
                + current.get().id()
                + ") is "
                + state
                + " at "
                + ops.rest.url()
                + ": use 'tenant-export job upgrade' to replace it");
      }
    }
    String label = JobOperations.jarLabel(jar);
    List<String> programArgs = JobOperations.programArgs(args);
    JobOperations.Start started = ops.startAndRecord("deploy", jar, label, programArgs, savepoint);
    if (started.failure() != null) {
      throw started.failure();
    }
    String jobId = started.jobId();
    io.out().println("deployed " + label + " as job " + jobId);
    return TenantExportCli.OK;
  }
}
