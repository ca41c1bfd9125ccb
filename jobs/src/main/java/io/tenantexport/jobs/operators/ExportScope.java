package io.tenantexport.jobs.operators;

import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.WarehouseRollup;
import java.io.Serializable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

/**
 * What a job that exports less than everything lets through: a canary names the tenants it runs for
 * ({@code job.tenants}); a single-tenant replay also names an event-time range of whole windows
 * ({@code replay.from}, {@code replay.to}) and stamps its id on its audit events. The live job has
 * no scope and none of these operators.
 *
 * <p>Invariants, for a scoped job:
 *
 * <ul>
 *   <li>No output names a tenant outside the list: changes of other tenants stop before the window
 *       operator (no window state is kept for them); lake rows, rollups, audit events and
 *       quarantined records are checked again on the way out.
 *   <li>A replay writes only lake rows whose event time is in the range and only rollups and
 *       receipts of windows that lie wholly in it: a window at the edge of the range was read in
 *       part, and its partial value must never replace the live one.
 *   <li>A replay writes no quarantined record and no policy, quarantine or late-event audit event:
 *       it re-reads records the live job has already quarantined, audited or reported late and
 *       re-reads the policy control topic the live job has already applied; writing them again
 *       would duplicate them. They are counted ({@code skippedOutOfScope}).
 * </ul>
 */
public final class ExportScope implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Set<String> tenants;
  private final long from;
  private final long to;
  private final String replayId;

  private ExportScope(List<String> tenants, long from, long to, String replayId) {
    this.tenants = new TreeSet<>(tenants);
    this.from = from;
    this.to = to;
    this.replayId = replayId;
  }

  /** The scope of {@code c}'s job; {@link #everything()} for the live job. */
  public static ExportScope of(JobConfig c) {
    return new ExportScope(
        c.tenants(),
        c.replayFrom() == null ? Long.MIN_VALUE : c.replayFrom().toEpochMilli(),
        c.replayTo() == null ? Long.MAX_VALUE : c.replayTo().toEpochMilli(),
        c.replayId());
  }

  /** True when nothing is left out: the pipeline then adds none of these operators. */
  public boolean everything() {
    return tenants.isEmpty() && replayId.isEmpty();
  }

  boolean isReplay() {
    return !replayId.isEmpty();
  }

  boolean admitsTenant(String tenant) {
    return tenants.isEmpty() || (tenant != null && tenants.contains(tenant));
  }

  boolean admitsTime(long eventTime) {
    return eventTime >= from && eventTime < to;
  }

  boolean admitsWindow(long start, long end) {
    return start >= from && end <= to;
  }

  /** Keeps the listed tenants' changes (and markers) out of the window operator's input. */
  public Changes changes() {
    return new Changes(this);
  }

  public LakeRows lakeRows() {
    return new LakeRows(this);
  }

  public Rollups rollups() {
    return new Rollups(this);
  }

  public Audit audit() {
    return new Audit(this);
  }

  public Quarantine quarantine() {
    return new Quarantine(this);
  }

  /** Base of the filters: the scope and a counter of what it kept out. */
  abstract static class ScopeFilter<T> extends RichFilterFunction<T> {
    private static final long serialVersionUID = 1L;
    final ExportScope scope;
    private transient Counter skipped;

    ScopeFilter(ExportScope scope) {
      this.scope = scope;
    }

    @Override
    public void open(OpenContext openContext) {
      skipped = getRuntimeContext().getMetricGroup().counter("skippedOutOfScope");
    }

    abstract boolean admits(T value);

    @Override
    public boolean filter(T value) {
      boolean admitted = admits(value);
      if (!admitted) {
        skipped.inc();
      }
      return admitted;
    }
  }

  /** Changes and markers of listed tenants only (every change has a tenant after dedupe). */
  public static final class Changes extends ScopeFilter<ChangeEvent> {
    private static final long serialVersionUID = 1L;

    Changes(ExportScope scope) {
      super(scope);
    }

    @Override
    boolean admits(ChangeEvent e) {
      return scope.admitsTenant(e.getTenantId());
    }
  }

  /** Lake rows of listed tenants, with an event time in the replayed range. */
  public static final class LakeRows extends ScopeFilter<LakeRecord> {
    private static final long serialVersionUID = 1L;

    LakeRows(ExportScope scope) {
      super(scope);
    }

    @Override
    boolean admits(LakeRecord r) {
      return scope.admitsTenant(r.getTenantId())
          && scope.admitsTime(r.getEventTime().toEpochMilli());
    }
  }

  /** Rollups of listed tenants, of windows wholly inside the replayed range. */
  public static final class Rollups extends ScopeFilter<WarehouseRollup> {
    private static final long serialVersionUID = 1L;

    Rollups(ExportScope scope) {
      super(scope);
    }

    @Override
    boolean admits(WarehouseRollup r) {
      return scope.admitsTenant(r.getTenantId())
          && scope.admitsWindow(r.getWindowStart().toEpochMilli(), r.getWindowEnd().toEpochMilli());
    }
  }

  /** Quarantined records of listed tenants; none for a replay (the live job wrote them). */
  public static final class Quarantine extends ScopeFilter<QuarantineRecord> {
    private static final long serialVersionUID = 1L;

    Quarantine(ExportScope scope) {
      super(scope);
    }

    @Override
    boolean admits(QuarantineRecord r) {
      return !scope.isReplay() && r.getTenantId() != null && scope.admitsTenant(r.getTenantId());
    }
  }

  /**
   * Audit events of listed tenants and the job start. A replay keeps only its job start and the
   * receipts of windows inside its range, and stamps each with its id.
   */
  public static final class Audit extends RichFlatMapFunction<AuditEvent, AuditEvent> {
    private static final long serialVersionUID = 1L;
    private final ExportScope scope;
    private transient Counter skipped;

    Audit(ExportScope scope) {
      this.scope = scope;
    }

    @Override
    public void open(OpenContext openContext) {
      skipped = getRuntimeContext().getMetricGroup().counter("skippedOutOfScope");
    }

    @Override
    public void flatMap(AuditEvent e, Collector<AuditEvent> out) {
      if (!admits(e)) {
        skipped.inc();
        return;
      }
      if (scope.isReplay()) {
        e = AuditEvent.newBuilder(e).setReplayId(scope.replayId).build();
      }
      out.collect(e);
    }

    private boolean admits(AuditEvent e) {
      if (e.getType() == AuditType.JOB_START) {
        return true;
      }
      if (!scope.admitsTenant(e.getTenantId()) || e.getTenantId() == null) {
        return false;
      }
      if (!scope.isReplay()) {
        return true;
      }
      return switch (e.getType()) {
        case WINDOW_RECEIPT ->
            scope.admitsWindow(e.getWindowStart().toEpochMilli(), e.getWindowEnd().toEpochMilli());
        // A late event's id names the change, not the export version: the live job wrote it.
        default -> false;
      };
    }
  }
}
