package io.tenantexport.common.cdc;

/** Why a record was refused. The code is stable: dashboards and replay tooling select on it. */
public enum QuarantineReason {
  /** The value is not JSON. */
  UNDECODABLE_JSON,
  /** JSON, but not a Debezium change envelope (no payload, op, or source). */
  INVALID_ENVELOPE,
  /** {@code op} is not one of c, u, d, r. */
  UNKNOWN_OP,
  /** {@code source.table} is not in the export spec: default deny. */
  UNKNOWN_TABLE,
  /** A tenant id in the key or the row image fails {@code TenantId.PATTERN}. */
  INVALID_TENANT_ID,
  /** An append-only table's change names no tenant at all. */
  MISSING_TENANT,
  /** The key's tenant differs from the row image's, or before and after name different tenants. */
  TENANT_MISMATCH,
  /** An update or delete arrived for a table declared append-only. */
  MUTATION_ON_APPEND_ONLY,
  /** A mutable table's change lacks a value of one of the spec's key columns. */
  MISSING_ROW_KEY,
  /**
   * A column value cannot be decoded as its declared or schema type, or a metric column is no
   * number.
   */
  UNDECODABLE_COLUMN,
  /**
   * The event time lies further after the change's source time than the spec's
   * max_event_time_ahead.
   */
  IMPLAUSIBLE_EVENT_TIME,
  /**
   * A change names no tenant and the job knows nothing of its row (e.g. older than the retention).
   */
  UNATTRIBUTABLE_CHANGE,
  /** A change claims a tenant other than the one that owns its row. */
  ROW_TENANT_MISMATCH,
  /** The change's tenant has no policy (yet): default deny. Replay it once the policy exists. */
  NO_POLICY,
  /** The tenant's policy does not list the change's table. */
  TABLE_NOT_ALLOWED,
  /**
   * The tenant's policy could not be applied to the change (a value its rule cannot take, or a key
   * no longer available): refused rather than exported unredacted.
   */
  UNREDACTABLE,
  /**
   * A record about to be written named a tenant other than the key or partition it was written
   * under: the sink guard refused it (a bug upstream, never an input problem).
   */
  SINK_GUARD_MISMATCH
}
