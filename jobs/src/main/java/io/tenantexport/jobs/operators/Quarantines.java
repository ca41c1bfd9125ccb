package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.QuarantineRecord;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/**
 * Builds quarantine records, their audit events and the markers that let a tenant's receipt count
 * them. The quarantine id derives from the record's origin (topic, partition, offset), so
 * re-reading the same offset after a failure yields the same id.
 */
final class Quarantines {
  private Quarantines() {}

  static String id(String topic, int partition, long offset) {
    return Ids.of("quarantine", topic, Integer.toString(partition), Long.toString(offset));
  }

  static QuarantineRecord fromRaw(
      RawRecord r,
      QuarantineReason code,
      String reason,
      String tenantId,
      int exportVersion,
      String jobVersion) {
    return builder(r.topic(), r.partition(), r.offset(), r.timestamp(), code, reason, tenantId)
        .setKey(r.key() == null ? null : ByteBuffer.wrap(r.key()))
        .setValue(r.value() == null ? null : ByteBuffer.wrap(r.value()))
        .setExportVersion(exportVersion)
        .setJobVersion(jobVersion)
        .build();
  }

  /**
   * For a decoded change refused downstream; its raw bytes were kept for exactly this. Its origin
   * time is the change's source time (the Kafka timestamp when the source named none).
   */
  static QuarantineRecord fromChange(
      ChangeEvent e,
      QuarantineReason code,
      String reason,
      String tenantId,
      int exportVersion,
      String jobVersion) {
    return builder(
            e.getOriginTopic(),
            e.getOriginPartition(),
            e.getOriginOffset(),
            e.getSourceTs(),
            code,
            reason,
            tenantId)
        .setKey(e.getRawKey())
        .setValue(e.getRawValue())
        .setExportVersion(exportVersion)
        .setJobVersion(jobVersion)
        .build();
  }

  private static QuarantineRecord.Builder builder(
      String topic,
      int partition,
      long offset,
      long timestamp,
      QuarantineReason code,
      String reason,
      String tenantId) {
    return QuarantineRecord.newBuilder()
        .setQuarantineId(id(topic, partition, offset))
        .setReasonCode(code.name())
        .setReason(reason)
        .setTenantId(tenantId)
        .setOriginTopic(topic)
        .setOriginPartition(partition)
        .setOriginOffset(offset)
        .setOriginTimestamp(Instant.ofEpochMilli(timestamp));
  }

  /** A marker carried to the tenant's window so its receipt counts the quarantined record. */
  static ChangeEvent marker(String tenantId, String table, long eventTime, QuarantineRecord q) {
    return ChangeEvent.newBuilder()
        .setTenantId(tenantId)
        .setSourceTable(table == null ? "" : table)
        .setScopeKey(tenantId)
        .setOp("")
        .setDisposition(Disposition.QUARANTINED)
        .setEventTime(eventTime)
        .setSourceTs(eventTime)
        .setPosition(List.of())
        .setPositionKind("kafka")
        .setEventId(q.getQuarantineId())
        .setOriginTopic(q.getOriginTopic())
        .setOriginPartition(q.getOriginPartition())
        .setOriginOffset(q.getOriginOffset())
        .setQuarantineReason(q.getReasonCode())
        .build();
  }

  static AuditEvent audit(QuarantineRecord q, long emittedAt) {
    return AuditEvent.newBuilder()
        .setEventId(Ids.of("audit", "quarantine", q.getQuarantineId()))
        .setType(AuditType.QUARANTINE)
        .setTenantId(q.getTenantId())
        .setExportVersion(q.getExportVersion())
        .setJobVersion(q.getJobVersion())
        .setEventTime(q.getOriginTimestamp())
        .setEmittedAt(Instant.ofEpochMilli(emittedAt))
        .setReason(q.getReasonCode())
        .setOrigin(q.getOriginTopic() + "/" + q.getOriginPartition() + "@" + q.getOriginOffset())
        .build();
  }
}
