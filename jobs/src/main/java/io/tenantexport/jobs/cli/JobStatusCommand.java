package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Optional;

/**
 * {@code job status}: the cluster's jobs with their state and last completed checkpoint (from the
 * REST API), and the registry's current job. Read-only: records nothing.
 */
final class JobStatusCommand implements Command {
  @Override
  public String name() {
    return "job status";
  }

  @Override
  public String summary() {
    return "the jobs on the cluster, their last checkpoint, and the registry's current job";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export job status --rest <url> --config <job.yaml>

        Prints every job the cluster knows (id, name, state) with the last completed
        checkpoint of those not finished, then the export registry's current job and jar.
        Records nothing.
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
    io.out().println("Flink at " + ops.rest.url());
    for (JsonNode job : ops.rest.jobs()) {
      String id = job.path("jid").asText();
      String state = job.path("state").asText();
      io.out().println("job " + id + " " + state + " " + job.path("name").asText());
      if (!FlinkRest.TERMINAL.contains(state)) {
        JsonNode latest = ops.rest.checkpoints(id).path("latest");
        JsonNode done = latest.path("completed");
        io.out()
            .println(
                done.isObject()
                    ? "  last completed checkpoint "
                        + done.path("id").asText()
                        + " at "
                        + Instant.ofEpochMilli(done.path("latest_ack_timestamp").asLong())
                        + " "
                        + done.path("external_path").asText()
                    : "  no completed checkpoint yet");
        if (latest.path("restored").isObject()) {
          io.out()
              .println("  restored from " + latest.path("restored").path("external_path").asText());
        }
      }
    }
    Optional<ExportRegistry.Row> current = ops.registry.current();
    if (current.isEmpty()) {
      io.out().println("registry: no job recorded");
    } else {
      ExportRegistry.Row r = current.get();
      io.out()
          .println(
              "registry: current job "
                  + r.jobId()
                  + " ("
                  + ops.stateOf(r.jobId())
                  + "), "
                  + r.action()
                  + " #"
                  + r.id()
                  + " at "
                  + r.at()
                  + ", jar "
                  + r.jar()
                  + ", job version "
                  + r.jobVersion());
    }
    return TenantExportCli.OK;
  }
}
