package io.tenantexport.jobs.pipeline;

import io.tenantexport.common.Ids;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.io.TenantDateBucketAssigner;
import io.tenantexport.jobs.operators.DecodeFunction;
import io.tenantexport.jobs.operators.ExportScope;
import io.tenantexport.jobs.operators.LakeFileBuffer;
import io.tenantexport.jobs.operators.Policies;
import io.tenantexport.jobs.operators.QuarantineAuditor;
import io.tenantexport.jobs.operators.ScopeDeduplicator;
import io.tenantexport.jobs.operators.SinkGuard;
import io.tenantexport.jobs.operators.Tags;
import io.tenantexport.jobs.operators.TenantWindowAggregator;
import io.tenantexport.jobs.operators.TenantWindowOperator;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.WarehouseRollup;
import java.time.Instant;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The whole dataflow of the export job, in one place:
 *
 * <pre>
 * policy control topic ─► broadcast ────────────┬──────────────┐ (policy audit events)
 *                                               ▼              │
 * Kafka CDC topics ─► decode + validate + redact (tenant policy) ──► quarantine topic, sealed (+ audit)
 *                          │ redacted changes and markers      │
 *                          ▼ keyBy(scope: row of a mutable table | tenant's append-only table)
 *                     dedupe (high-water mark) + row images / tenant attribution ─► quarantine
 *                          │                   (offboarding clears a tenant's scopes)
 *                          ▼ keyBy(tenant)
 *                     per-tenant clock + tumbling windows ─► guard ─► keyBy(bucket) file buffer
 *                          │                                   ─► Parquet lake tenant_id=…/dt=…/
 *                          ├─ rollups ─────────────────────► guard ─► PostgreSQL (guarded upsert, RLS)
 *                          └─ receipts, late events ─┐        (refusals ─► quarantine + audit)
 *                     job start ─────────────────────┴──────► audit topic (exactly-once)
 * </pre>
 *
 * Sources and sinks come in through {@link PipelineIo}; every operator has a stable uid, because
 * the uids are what savepoints map state by.
 */
public final class TenantExportPipeline {
  private TenantExportPipeline() {}

  /** Environment settings the pipeline's guarantees rely on. */
  public static void configure(StreamExecutionEnvironment env, JobConfig c) {
    env.setParallelism(c.parallelism());
    env.setMaxParallelism(c.maxParallelism());
    env.enableCheckpointing(c.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
    Configuration conf = new Configuration();
    // A checkpoint that takes too long must fail the job, never run on: the Kafka sinks'
    // transactions stay open until it completes, and one that outlives kafka.transaction_timeout
    // is aborted by the broker and its records lost (JobConfig checks the two fit together). A
    // failed checkpoint must not be tolerated either: the transactions would run on into the next.
    conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, c.checkpointTimeout());
    conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, 0);
    // Every type is Avro or a POJO: a Kryo fallback would make savepoints impossible to evolve.
    conf.set(PipelineOptions.GENERIC_TYPES, false);
    // Unaligned checkpoints would persist in-flight records, and records in flight before the
    // decoding operator are raw, unredacted CDC payloads: they must never reach a checkpoint.
    conf.set(CheckpointingOptions.ENABLE_UNALIGNED, false);
    env.configure(conf);
  }

  /**
   * Attaches the warehouse sink as the pipeline does: its uid is savepoint identity and its name
   * metric identity, and the benchmark's sink-alone job ({@code WarehouseSinkJob}) attaches the
   * same sink through here.
   */
  public static void writeWarehouse(
      DataStream<WarehouseRollup> rollups, Sink<WarehouseRollup> sink) {
    rollups.sinkTo(sink).uid("warehouse-sink").name("warehouse (PostgreSQL)");
  }

  /**
   * Streams of a built graph that a later jar version may tap to add an operator (a savepoint of
   * this version restores into it: the new operator starts empty).
   *
   * @param changes deduplicated, redacted changes (and markers) as the window operator gets them
   * @param rollups guarded rollups as the warehouse sink gets them
   */
  public record Built(DataStream<ChangeEvent> changes, DataStream<WarehouseRollup> rollups) {}

  /** Wires the graph onto {@code env}; call {@link #configure} first. */
  public static Built build(StreamExecutionEnvironment env, JobConfig c, PipelineIo io) {
    var spec = c.spec();
    // A canary or a replay exports less than everything; the live job has no scope operators.
    ExportScope scope = ExportScope.of(c);
    AvroTypeInfo<ChangeEvent> changeType = new AvroTypeInfo<>(ChangeEvent.class);
    AvroTypeInfo<AuditEvent> auditType = new AvroTypeInfo<>(AuditEvent.class);

    DataStream<RawRecord> raw =
        env.fromSource(
                io.cdcSource(),
                InputProgress.cdc(c.idlePartitionTimeout()),
                "cdc-source",
                TypeInformation.of(RawRecord.class))
            .uid("cdc-source");
    BroadcastStream<PolicyDocument> policies =
        env.fromSource(
                io.policySource(),
                InputProgress.<PolicyDocument>never(),
                "policy-source",
                new AvroTypeInfo<>(PolicyDocument.class))
            .uid("policy-source")
            .broadcast(Policies.STATE);

    SingleOutputStreamOperator<ChangeEvent> decoded =
        raw.connect(policies)
            .process(
                new DecodeFunction(
                    spec,
                    c.jobVersion(),
                    c.policyDocuments(),
                    c.policyFolder(),
                    c.keyOptions(),
                    c.quarantineKeyId(),
                    c.eventIdKeyId()),
                changeType)
            .uid("decode")
            .name("decode + validate + redact");

    SingleOutputStreamOperator<ChangeEvent> deduped =
        decoded
            .keyBy(ChangeEvent::getScopeKey)
            .connect(policies)
            .process(
                new ScopeDeduplicator(
                    spec,
                    c.jobVersion(),
                    c.orphanTimeout().toMillis(),
                    c.policyDocuments(),
                    c.policyFolder()),
                changeType)
            .uid("dedupe")
            .name("dedupe + row images");

    DataStream<ChangeEvent> windowInput =
        scope.everything()
            ? deduped
            : deduped.filter(scope.changes()).uid("scope-changes").name("export scope: tenants");
    SingleOutputStreamOperator<LakeRecord> exported =
        windowInput
            .keyBy(ChangeEvent::getTenantId)
            .transform(
                "per-tenant windows",
                new AvroTypeInfo<>(LakeRecord.class),
                new TenantWindowOperator(
                    new TenantWindowAggregator(
                        spec, c.jobVersion(), c.idleTimeout().toMillis(), c.cachedWindows())))
            .uid("tenant-windows");

    // Guards are the last check before anything is written. The lake guard runs chained behind the
    // tenant-keyed operator; the warehouse guard starts a task of its own with the sink. Why: the
    // JDBC writer executes each full batch on the calling thread and waits for PostgreSQL's answer,
    // so chained behind the windows it stopped them for every batch (at 100,000 tenants, two
    // rollups
    // per change, the window thread spent a quarter of its time in PostgreSQL's socket reads, and
    // every operator before it waited too). In its own task the sink waits while the windows go on.
    String tenantColumn = spec.tenantColumn();
    DataStream<LakeRecord> lakeInput =
        scope.everything()
            ? exported
            : exported.filter(scope.lakeRows()).uid("scope-lake").name("export scope: lake rows");
    SingleOutputStreamOperator<LakeRecord> lakeRows =
        lakeInput
            .process(
                new SinkGuard<LakeRecord>(
                    "lake",
                    LakeRecord::getTenantId,
                    r ->
                        TenantDateBucketAssigner.tenantOfBucket(
                            TenantDateBucketAssigner.bucketId(r)),
                    r -> r.getColumns().get(tenantColumn),
                    LakeRecord::getEventId,
                    spec.version(),
                    c.jobVersion()),
                new AvroTypeInfo<>(LakeRecord.class))
            .uid("lake-guard")
            .name("lake tenant guard");
    // Rows wait per bucket in state until a file is worth writing; the sink then has one file
    // open at a time, whatever the number of tenants.
    lakeRows
        .keyBy(TenantDateBucketAssigner::bucketId)
        .process(
            new LakeFileBuffer(c.lakeTargetFileSize(), c.lakeMaxFileAge().toMillis()),
            new AvroTypeInfo<>(LakeRecord.class))
        .uid("lake-buffer")
        .name("lake file buffer")
        .sinkTo(io.lake())
        // Not "lake-sink": that uid held Flink FileSink's writer and committer state, which this
        // sink cannot read; a savepoint with it must fail to restore rather than be misread.
        .uid("lake-files")
        .name("lake (Parquet)");
    DataStream<WarehouseRollup> rollupInput = exported.getSideOutput(Tags.ROLLUPS);
    if (!scope.everything()) {
      rollupInput =
          rollupInput.filter(scope.rollups()).uid("scope-rollups").name("export scope: rollups");
    }
    SingleOutputStreamOperator<WarehouseRollup> rollups =
        rollupInput
            .process(
                new SinkGuard<WarehouseRollup>(
                    "warehouse",
                    WarehouseRollup::getTenantId,
                    WarehouseRollup::getTenantId,
                    r -> null, // a rollup's only tenant is its key column
                    r ->
                        Ids.of(
                            r.getTenantId(),
                            r.getMetric(),
                            r.getDimensions(),
                            r.getWindowStart().toString()),
                    spec.version(),
                    c.jobVersion()),
                new AvroTypeInfo<>(WarehouseRollup.class))
            .uid("warehouse-guard")
            .name("warehouse tenant guard")
            .startNewChain();
    writeWarehouse(rollups, io.warehouse());

    DataStream<QuarantineRecord> quarantined =
        decoded
            .getSideOutput(Tags.QUARANTINE)
            .union(
                deduped.getSideOutput(Tags.QUARANTINE),
                lakeRows.getSideOutput(Tags.QUARANTINE),
                rollups.getSideOutput(Tags.QUARANTINE));
    if (!scope.everything()) {
      quarantined =
          quarantined
              .filter(scope.quarantine())
              .uid("scope-quarantine")
              .name("export scope: quarantine");
    }
    quarantined.sinkTo(io.quarantine()).uid("quarantine-sink").name("quarantine topic");

    DataStream<AuditEvent> quarantineAudit =
        quarantined
            .map(new QuarantineAuditor(), auditType)
            .uid("quarantine-audit")
            .name("quarantine audit");
    DataStream<AuditEvent> jobStart =
        env.fromData(auditType, jobStart(c, Instant.now())).uid("job-start").name("job start");
    DataStream<AuditEvent> audit =
        exported
            .getSideOutput(Tags.AUDIT)
            .union(
                quarantineAudit,
                jobStart,
                decoded.getSideOutput(Tags.AUDIT),
                lakeRows.getSideOutput(Tags.AUDIT),
                rollups.getSideOutput(Tags.AUDIT));
    if (!scope.everything()) {
      audit =
          audit.flatMap(scope.audit(), auditType).uid("scope-audit").name("export scope: audit");
    }
    audit.sinkTo(io.audit()).uid("audit-sink").name("audit topic");
    return new Built(windowInput, rollups);
  }

  /**
   * The job-start audit event. It is built when the graph is built, and emitted by a source whose
   * position is checkpointed: a failover restores that position instead of starting the job again.
   */
  static AuditEvent jobStart(JobConfig c, Instant submittedAt) {
    return AuditEvent.newBuilder()
        .setEventId(
            Ids.of(
                "audit",
                "job-start",
                c.jobName(),
                c.jobVersion(),
                Integer.toString(c.spec().version()),
                Long.toString(submittedAt.toEpochMilli())))
        .setType(AuditType.JOB_START)
        .setTenantId(null)
        .setExportVersion(c.spec().version())
        .setJobVersion(c.jobVersion())
        .setEventTime(submittedAt)
        .setEmittedAt(submittedAt)
        .setReason(
            c.jobName()
                + (c.isReplay()
                    ? " replay "
                        + c.replayId()
                        + " of "
                        + c.tenants()
                        + " ["
                        + c.replayFrom()
                        + ", "
                        + c.replayTo()
                        + ")"
                    : c.tenants().isEmpty() ? "" : " for tenants " + c.tenants())
                + " started with export spec "
                + c.spec().source())
        .build();
  }
}
