package io.tenantexport.common.cdc;

import io.tenantexport.schemas.ChangeEvent;

/**
 * What {@link CdcDecoder#decode} made of one record: a change to export, a tombstone, or a refusal.
 */
public sealed interface DecodeResult
    permits DecodeResult.Decoded, DecodeResult.Tombstone, DecodeResult.Rejected {

  /** A valid change, projected to the export spec's columns, with disposition APPLY. */
  record Decoded(ChangeEvent event) implements DecodeResult {}

  /**
   * A Kafka tombstone (null value): Debezium's compaction marker after a delete; nothing to export.
   */
  record Tombstone() implements DecodeResult {}

  /**
   * A record to quarantine.
   *
   * @param code stable machine-readable cause
   * @param reason human-readable cause naming table, column or field and the record's origin; it
   *     never contains a column value (the only value it may show is an invalid tenant id, escaped)
   * @param tenantId the record's tenant if a valid one was found before the failure, else null
   * @param eventTime best known event time (epoch ms): the Kafka timestamp if nothing better was
   *     found
   */
  record Rejected(QuarantineReason code, String reason, String tenantId, long eventTime)
      implements DecodeResult {}
}
