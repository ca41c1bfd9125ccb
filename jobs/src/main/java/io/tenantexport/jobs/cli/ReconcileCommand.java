package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code reconcile [--tenants a,b] [--from <instant>] [--to <instant>]}: compares the last canary's
 * shadow rollups with the live ones, per tenant and window, prints the report and records a {@code
 * reconcile} row; exit status 0 when they are equal, {@value TenantExportCli#FAILED} on any
 * difference, so that a rollout pipeline can gate on it.
 *
 * <p>Order of work, which is what makes the verdict sound while both jobs keep running: read the
 * warehouse's clock ({@code started}), then the input's end offsets; wait until the live and the
 * canary consumer groups have committed them (each commit follows a checkpoint that flushed the
 * rows); wait {@code --settle} more (default: the canary's {@code job.idle_timeout} and {@code
 * kafka.idle_partition_timeout} plus two checkpoint intervals: a quiet tenant's last windows close
 * once its idle timeout has passed and the quiet partitions no longer hold them), in which the
 * canary flushes tenants gone quiet, as the live job did; then read both tables and decide with
 * {@link ReconcileComparison}.
 */
final class ReconcileCommand implements Command {
  private static final String FROM = "--from";
  private static final String TO = "--to";
  private static final String SETTLE = "--settle";

  @Override
  public String name() {
    return "reconcile";
  }

  @Override
  public String summary() {
    return "compare the canary's shadow rollups with the live ones; exit 1 on a mismatch";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export reconcile --rest <url> --config <job.yaml> [--tenants <t1,t2>]
                                       [--from <instant>] [--to <instant>] [--settle <d>]

        Compares tenant_export_shadow.metric_rollup (the last canary's) with
        tenant_export.metric_rollup per tenant and window: number of rows, per-metric sums of
        value and row_count, the SHA-256 checksum of the window receipts (tenant, table,
        metric, dimensions, window, value, row_count) and row by row. First waits (up to
        --timeout) until the live and the canary consumer groups have committed the input's
        end offsets of the moment reconcile started, then --settle more. Compared: every
        window on both sides; a window on one side only if it lies before the other side's
        latest window of the tenant or was exported before reconcile started (then it is a
        mismatch). Later one-sided windows were closed by newer input and are listed as not
        compared. Prints a report, records a 'reconcile' row (ok or failed) and an OPERATION
        audit event. Exit status 0 when every compared window is equal, 1 otherwise or when
        the jobs did not catch up in time.

          --tenants <list>      tenants to compare (default: the last canary's; a subset of them)
          --from <instant>      only windows starting at or after this ISO-8601 instant
          --to <instant>        only windows starting before this ISO-8601 instant
          --settle <duration>   wait after catching up (default: the canary's
                                job.idle_timeout and kafka.idle_partition_timeout
                                plus two checkpoint intervals)
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments()
        .value(CanaryStartCommand.TENANTS)
        .value(FROM)
        .value(TO)
        .value(SETTLE);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    List<String> asked =
        CanaryStartCommand.tenants(
            CanaryStartCommand.TENANTS, args.value(CanaryStartCommand.TENANTS));
    Instant from = instant(FROM, args.value(FROM));
    Instant to = instant(TO, args.value(TO));
    if (from != null && to != null && !from.isBefore(to)) {
      throw new UsageException(TO + " " + to + " must be after " + FROM + " " + from);
    }
    Duration settleOption =
        args.value(SETTLE) == null ? null : JobOperations.duration(SETTLE, args.value(SETTLE));
    JobOperations ops = JobOperations.open(args, io);
    ExportRegistry.Row row =
        CanaryRun.lastStarted(ops.registry.all())
            .orElseThrow(
                () ->
                    new CommandFailedException(
                        "no canary recorded in "
                            + ops.registry.describe()
                            + ": start one with 'tenant-export canary start'"));
    CanaryRun canary = CanaryRun.of(row);
    List<String> tenants = asked == null ? canary.tenants() : asked;
    if (!canary.tenants().containsAll(tenants)) {
      throw new CommandFailedException(
          CanaryStartCommand.TENANTS
              + " "
              + tenants
              + " names tenants canary "
              + canary.id()
              + " (registry #"
              + row.id()
              + ") does not run: it runs "
              + canary.tenants());
    }
    JobConfig canaryConfig =
        CanaryStartCommand.load(
            row.programArgs(), io, "the canary's arguments (registry #" + row.id() + ")");
    Duration settle =
        settleOption != null
            ? settleOption
            : canaryConfig
                .idleTimeout()
                .plus(canaryConfig.idlePartitionTimeout())
                .plus(canaryConfig.checkpointInterval().multipliedBy(2));
    io.out()
        .println(
            "reconcile: canary "
                + canary.id()
                + " (registry #"
                + row.id()
                + ", job "
                + row.jobId()
                + ", "
                + row.jar()
                + ") against the live job, tenants "
                + String.join(",", tenants)
                + (from == null ? "" : ", windows from " + from)
                + (to == null ? "" : ", windows before " + to));

    CanaryWarehouse warehouse = CanaryStartCommand.warehouse(args, ops, io);
    Instant started = warehouse.now();
    try {
      catchUp(ops, canary, settle);
    } catch (CommandFailedException e) {
      ops.record(
          JobOperations.rowLike(row, "reconcile", row.jobId(), null, "failed", e.getMessage()));
      throw e;
    }
    List<ReconcileRow> live = warehouse.rows(CanaryRun.LIVE_SCHEMA, tenants, from, to);
    List<ReconcileRow> shadow = warehouse.rows(CanaryRun.SHADOW_SCHEMA, tenants, from, to);
    ReconcileComparison.Result result = ReconcileComparison.compare(tenants, live, shadow, started);
    io.out().print(ReconcileReport.render(result));
    String detail =
        "tenants "
            + String.join(",", tenants)
            + "; "
            + result.compared()
            + " windows compared, "
            + result.differing()
            + " differing";
    ops.record(
        JobOperations.rowLike(
            row, "reconcile", row.jobId(), null, result.clean() ? "ok" : "failed", detail));
    return result.clean() ? TenantExportCli.OK : TenantExportCli.FAILED;
  }

  private static void catchUp(JobOperations ops, CanaryRun canary, Duration settle) {
    KafkaClients.requireSlf4j();
    try (Admin admin = KafkaClients.admin(ops.config, "tenant-export-cli-reconcile")) {
      ReconcileCatchUp catchUp = new ReconcileCatchUp(admin, ops.config);
      Map<TopicPartition, Long> end = catchUp.endOffsets();
      ops.say(
          "waiting until groups "
              + ops.config.groupId()
              + " (live) and "
              + canary.groupId()
              + " (canary) have committed the end offsets of "
              + end.size()
              + " input partition(s)");
      catchUp.await(
          end, Map.of("live", ops.config.groupId(), "canary", canary.groupId()), ops.timeout);
    }
    ops.say("both caught up; settling " + settle.toMillis() + "ms for idle tenants to flush");
    try {
      Thread.sleep(settle.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }

  private static Instant instant(String option, String value) throws UsageException {
    if (value == null) {
      return null;
    }
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new UsageException(
          option + " '" + value + "' is not an ISO-8601 instant like 2026-11-26T10:00:00Z");
    }
  }
}
