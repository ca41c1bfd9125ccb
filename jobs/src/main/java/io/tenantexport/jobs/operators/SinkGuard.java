package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.QuarantineRecord;
import java.io.Serializable;
import java.time.Instant;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The last check before a sink: a record leaves only if the tenant it names is a valid tenant id,
 * is the tenant of the key it was produced under, and is the tenant of the partition it will be
 * written to. Anything else fails closed: the record is not written, and it becomes a quarantine
 * record ({@code SINK_GUARD_MISMATCH}), a {@code SINK_GUARD_REJECTED} audit event and a count.
 *
 * <p>Runs chained behind the operator keyed by tenant, at its parallelism, so "the key it was
 * produced under" is checked as: the tenant's key group belongs to this subtask. The row's own
 * tenant column, when it has one, must name the same tenant. The partition is the one the sink will
 * derive from the record ({@link Partitioner}), which must name the same tenant. Stateless; such a
 * rejection is a bug upstream, never an input problem, so it carries no payload to replay: replay
 * the tenant's source data once the bug is fixed.
 *
 * @param <T> the sink's record type
 */
public final class SinkGuard<T> extends ProcessFunction<T, T> {
  private static final long serialVersionUID = 1L;

  /** The tenant a record names. */
  public interface TenantOf<T> extends Serializable {
    String tenant(T record);
  }

  /** The tenant of the partition (lake path, warehouse row) a record will be written to. */
  public interface Partitioner<T> extends Serializable {
    String partitionTenant(T record);
  }

  /** The tenant the exported row itself names (its tenant column), or null when it names none. */
  public interface RowTenant<T> extends Serializable {
    String rowTenant(T record);
  }

  /** An identity of the record for the audit trail (an event id, a rollup's key). */
  public interface Describer<T> extends Serializable {
    String describe(T record);
  }

  private final String sink;
  private final TenantOf<T> tenantOf;
  private final Partitioner<T> partitioner;
  private final RowTenant<T> rowTenant;
  private final Describer<T> describer;
  private final int exportVersion;
  private final String jobVersion;

  private transient int subtask;
  private transient int parallelism;
  private transient int maxParallelism;
  private transient Counter rejected;

  public SinkGuard(
      String sink,
      TenantOf<T> tenantOf,
      Partitioner<T> partitioner,
      RowTenant<T> rowTenant,
      Describer<T> describer,
      int exportVersion,
      String jobVersion) {
    this.sink = sink;
    this.tenantOf = tenantOf;
    this.partitioner = partitioner;
    this.rowTenant = rowTenant;
    this.describer = describer;
    this.exportVersion = exportVersion;
    this.jobVersion = jobVersion;
  }

  @Override
  public void open(OpenContext ctx) {
    var task = getRuntimeContext().getTaskInfo();
    subtask = task.getIndexOfThisSubtask();
    parallelism = task.getNumberOfParallelSubtasks();
    maxParallelism = task.getMaxNumberOfParallelSubtasks();
    rejected = getRuntimeContext().getMetricGroup().counter("sinkGuardRejected");
  }

  @Override
  public void processElement(T record, Context ctx, Collector<T> out) {
    String problem = problem(record);
    if (problem == null) {
      out.collect(record);
      return;
    }
    rejected.inc();
    String id = describer.describe(record);
    long now = ctx.timerService().currentProcessingTime();
    String tenant = tenantOf.tenant(record);
    String validTenant = TenantId.isValid(tenant) ? tenant : null;
    String reason = sink + " record " + id + " refused: " + problem;
    ctx.output(
        Tags.QUARANTINE,
        QuarantineRecord.newBuilder()
            .setQuarantineId(Ids.of("quarantine", "sink-guard", sink, id))
            .setReasonCode(QuarantineReason.SINK_GUARD_MISMATCH.name())
            .setReason(reason)
            .setTenantId(validTenant)
            .setOriginTopic("sink:" + sink)
            .setOriginPartition(subtask)
            .setOriginOffset(-1L)
            .setOriginTimestamp(Instant.ofEpochMilli(now))
            .setKey(null)
            .setValue(null)
            .setExportVersion(exportVersion)
            .setJobVersion(jobVersion)
            .build());
    ctx.output(
        Tags.AUDIT,
        AuditEvent.newBuilder()
            .setEventId(Ids.of("audit", "sink-guard", sink, id))
            .setType(AuditType.SINK_GUARD_REJECTED)
            .setTenantId(validTenant)
            .setExportVersion(exportVersion)
            .setJobVersion(jobVersion)
            .setEventTime(Instant.ofEpochMilli(now))
            .setEmittedAt(Instant.ofEpochMilli(now))
            .setReason(reason)
            .setOrigin("sink:" + sink)
            .build());
  }

  /** Why the record must not be written, or null. Names tenants, never field values. */
  private String problem(T record) {
    String tenant = tenantOf.tenant(record);
    if (!TenantId.isValid(tenant)) {
      return "tenant " + TenantId.describe(tenant) + " is not a valid tenant id";
    }
    int owner =
        KeyGroupRangeAssignment.assignKeyToParallelOperator(tenant, maxParallelism, parallelism);
    if (owner != subtask) {
      return "tenant "
          + tenant
          + " belongs to subtask "
          + owner
          + " but the record was produced on subtask "
          + subtask
          + ", under another tenant's key";
    }
    String partition;
    try {
      partition = partitioner.partitionTenant(record);
    } catch (RuntimeException e) {
      return "its partition cannot be derived (" + e.getClass().getSimpleName() + ")";
    }
    if (!tenant.equals(partition)) {
      return "it names tenant "
          + tenant
          + " but would be written to the partition of "
          + TenantId.describe(partition);
    }
    String row = rowTenant.rowTenant(record);
    if (row != null && !tenant.equals(row)) {
      return "it is filed under tenant "
          + tenant
          + " but its row's tenant column names "
          + TenantId.describe(row);
    }
    return null;
  }
}
