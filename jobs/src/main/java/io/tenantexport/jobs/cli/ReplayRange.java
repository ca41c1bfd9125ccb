package io.tenantexport.jobs.cli;

import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a single-tenant replay re-exports: tenant {@code tenant}'s event times [{@code from}, {@code
 * to}), both window boundaries of the export spec, and which Kafka record times that takes reading.
 *
 * <p>Invariants: {@code from < to}; both are window boundaries (the job refuses anything else, and
 * a window cut by the range would replace a complete live window with part of it); and {@code to}
 * is at least {@link #settle} before the time the replay was asked for. A change of the range that
 * is on time reaches Kafka at most {@link #margin} after {@code to} (max_event_time_ahead plus the
 * allowed lateness, as the job's {@code ProductionIo.ReplayReach} reads); one more checkpoint
 * interval lets the live job commit what it read by then. A later {@code to} would let the replay
 * close windows whose changes are still arriving, and its higher export version would then keep the
 * live job's complete rollups out of the warehouse.
 */
record ReplayRange(String tenant, Instant from, Instant to) {

  /** Checks {@code tenant} (a tenant id, {@code --tenant}); nothing else is needed for that. */
  static String tenant(String option, String value) throws UsageException {
    if (value == null) {
      throw new UsageException("missing " + option + " <tenant id>");
    }
    String problem = TenantId.problem(value);
    if (problem != null) {
      throw new UsageException(option + " " + TenantId.describe(value) + ": " + problem);
    }
    return value;
  }

  /** {@code value} of {@code option} as an ISO-8601 instant. */
  static Instant instant(String option, String value) throws UsageException {
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new UsageException(
          option + " '" + value + "' is not an ISO-8601 instant like 2026-11-26T10:00:00Z");
    }
  }

  /**
   * The range {@code tenant}, [{@code from}, {@code to}) under {@code spec}; without {@code to},
   * the latest window boundary at least {@link #settle} before {@code now}.
   *
   * @param checkpointInterval the live job's ({@code job.checkpoint_interval})
   * @throws UsageException naming the option, its value and the nearest window boundaries
   */
  static ReplayRange of(
      ExportSpec spec,
      Duration checkpointInterval,
      String tenant,
      Instant from,
      Instant to,
      Instant now)
      throws UsageException {
    requireBoundary(spec, "--from", from);
    Instant latest = latestTo(spec, checkpointInterval, now);
    if (to == null) {
      if (!latest.isAfter(from)) {
        throw new UsageException(
            "--from "
                + from
                + " leaves no complete window before the default --to "
                + latest
                + " (the latest window boundary "
                + settle(spec, checkpointInterval)
                + " before now, when every on-time change of the range is in Kafka and"
                + " committed by the live job)");
      }
      to = latest;
    }
    requireBoundary(spec, "--to", to);
    if (!from.isBefore(to)) {
      throw new UsageException("--to " + to + " must be after --from " + from);
    }
    if (to.isAfter(latest)) {
      throw new UsageException(
          "--to "
              + to
              + " is too recent: on-time changes of the range may reach Kafka until "
              + to.plus(margin(spec))
              + " (allowed_lateness + max_event_time_ahead after it), and the live job commits"
              + " them a checkpoint interval later; the latest --to now is "
              + latest);
    }
    return new ReplayRange(tenant, from, to);
  }

  /**
   * How far after its event time an on-time change can reach Kafka, and before it an earlier change
   * the range needs for state: the spec's max_event_time_ahead plus its allowed lateness. Equal to
   * the job's {@code ProductionIo.ReplayReach} margin (the CLI loads no Flink classes, so it does
   * not call it; {@code ReplayCommandTest} checks the two agree).
   */
  static Duration margin(ExportSpec spec) {
    return spec.maxEventTimeAhead().plus(spec.allowedLateness());
  }

  /** How long before now a range must end: {@link #margin} and one checkpoint interval. */
  static Duration settle(ExportSpec spec, Duration checkpointInterval) {
    return margin(spec).plus(checkpointInterval);
  }

  /** The latest window boundary at least {@link #settle} before {@code now}. */
  static Instant latestTo(ExportSpec spec, Duration checkpointInterval, Instant now) {
    return Instant.ofEpochMilli(
        spec.windowStart(now.minus(settle(spec, checkpointInterval)).toEpochMilli()));
  }

  /**
   * The Kafka record time the replay job stops before ({@code ProductionIo.ReplayReach}): the live
   * job must have committed everything before it.
   */
  Instant readEnd(ExportSpec spec) {
    return to.plus(margin(spec));
  }

  /** UTC dates of the range: the {@code dt=} partitions its lake rows lie in. */
  List<LocalDate> days() {
    List<LocalDate> days = new ArrayList<>();
    LocalDate last = to.minusMillis(1).atZone(ZoneOffset.UTC).toLocalDate();
    for (LocalDate d = from.atZone(ZoneOffset.UTC).toLocalDate();
        !d.isAfter(last);
        d = d.plusDays(1)) {
      days.add(d);
    }
    return days;
  }

  boolean contains(long eventTime) {
    return eventTime >= from.toEpochMilli() && eventTime < to.toEpochMilli();
  }

  @Override
  public String toString() {
    return tenant + " [" + from + ", " + to + ")";
  }

  private static void requireBoundary(ExportSpec spec, String option, Instant t)
      throws UsageException {
    long start = spec.windowStart(t.toEpochMilli());
    if (start != t.toEpochMilli()) {
      throw new UsageException(
          option
              + " "
              + t
              + " is not a window boundary: a replay re-exports whole windows ("
              + spec.window()
              + ", aligned to midnight UTC), and a cut window would replace the complete live"
              + " rollup with part of it; the nearest boundaries are "
              + Instant.ofEpochMilli(start)
              + " and "
              + Instant.ofEpochMilli(start + spec.window().toMillis()));
    }
  }
}
