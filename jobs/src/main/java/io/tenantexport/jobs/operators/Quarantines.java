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
public final class Quarantines {
  private Quarantines() {}

  /**
   * What a quarantined payload part is sealed to (the cipher's associated data): its record's
   * origin {@code topic/partition@offset} and the part, {@code key} or {@code value}, so that a
   * sealed payload cannot be moved to another record or swapped with its own key.
   */
  public static String sealedAs(String origin, String part) {
    return origin + "#" + part;
  }

  static String id(String topic, int partition, long offset) {
    return Ids.of("quarantine", topic, Integer.toString(partition), Long.toString(offset));
  }

  /**
   * For a record refused while decoding; {@code sealedKey} and {@code sealedValue} are its bytes
   * sealed with the quarantine key (the quarantine never holds plaintext).
   */
  static QuarantineRecord fromRaw(
      RawRecord r,
      byte[] sealedKey,
      byte[] sealedValue,
      QuarantineReason code,
      String reason,
      String tenantId,
      int exportVersion,
      String jobVersion) {
    return builder(r.topic(), r.partition(), r.offset(), r.timestamp(), code, reason, tenantId)
        .setKey(sealedKey == null ? null : ByteBuffer.wrap(sealedKey))
        .setValue(sealedValue == null ? null : ByteBuffer.wrap(sealedValue))
        .setExportVersion(exportVersion)
        .setJobVersion(jobVersion)
        .build();
  }

  /**
   * For a decoded change refused downstream; its raw bytes were kept (sealed) for exactly this. Its
   * origin time is the change's source time (the Kafka timestamp when the source named none).
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

  /**
   * A marker for a change of a paused tenant: it reaches the tenant's receipt ({@code
   * paused_skipped}) and nothing else.
   */
  static ChangeEvent pausedMarker(
      String tenantId, String table, long eventTime, ChangeEvent change, long policyVersion) {
    return ChangeEvent.newBuilder()
        .setTenantId(tenantId)
        .setSourceTable(table)
        .setScopeKey(tenantId)
        .setOp("")
        .setDisposition(Disposition.PAUSED)
        .setEventTime(eventTime)
        .setSourceTs(eventTime)
        .setPosition(List.of())
        .setPositionKind("kafka")
        .setEventId(change.getEventId())
        .setOriginTopic(change.getOriginTopic())
        .setOriginPartition(change.getOriginPartition())
        .setOriginOffset(change.getOriginOffset())
        .setPolicyVersion(policyVersion)
        .build();
  }

  /** Tells the tenant's window operator to drop everything it holds of an offboarded tenant. */
  static ChangeEvent offboardedMarker(String tenantId, long policyVersion) {
    return ChangeEvent.newBuilder()
        .setTenantId(tenantId)
        .setSourceTable("")
        .setScopeKey(tenantId)
        .setOp("")
        .setDisposition(Disposition.OFFBOARDED)
        .setEventTime(Long.MIN_VALUE)
        .setSourceTs(Long.MIN_VALUE)
        .setPosition(List.of())
        .setPositionKind("kafka")
        .setEventId(Ids.of("offboarded", tenantId, Long.toString(policyVersion)))
        .setOriginTopic("")
        .setOriginPartition(-1)
        .setOriginOffset(-1L)
        .setPolicyVersion(policyVersion)
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
