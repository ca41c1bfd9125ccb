package io.tenantexport.common.gen;

import io.tenantexport.common.cdc.QuarantineReason;
import java.util.Map;
import java.util.Objects;

/**
 * What the job must do with one generated record, known to the generator independently of any
 * decoder.
 *
 * <p>Row images are projected to the export spec's declared columns (never an undeclared one such
 * as {@code user_email}), in declaration order, and rendered canonically: decimals as {@code
 * BigDecimal.toPlainString()} keeping the column's scale ("12.50"), timestamps as {@code
 * Instant.toString()} (UTC), dates as {@code LocalDate.toString()}, longs as {@code Long.toString},
 * JSON columns as the exact text sent, strings as is, SQL NULL as a null map value.
 */
public sealed interface Truth
    permits Truth.Valid, Truth.Duplicate, Truth.Malformed, Truth.Tombstone {

  /**
   * A change the job must apply (or, when {@code late}, export to the lake only).
   *
   * @param tenantId the row's true owner, also when neither the key nor the envelope names it (a
   *     PostgreSQL default-replica-identity delete): the job must attribute it from its row state
   * @param table the spec table name
   * @param op c, u, d or r
   * @param eventTimeMillis the event-time column of the after image floored to the millisecond for
   *     c, u and r; {@code source.ts_ms} for d
   * @param sourceTsMillis {@code source.ts_ms}, which is also the record's Kafka timestamp
   * @param before the complete before image for u and d, even when the envelope omits it or carries
   *     only the key; null for c and r
   * @param after the after image for c, u and r; null for d
   * @param identity the generator's unique id of this change (table, source position, row key); a
   *     {@link Duplicate} of it carries the same identity
   * @param late deliberately late: a page view whose event time is at least {@code Config.lateBy()}
   *     behind an earlier page view of the same tenant with the same (plain) Kafka key, so it is
   *     late for the tenant's clock whatever the partitioning; no other record is deliberately late
   */
  record Valid(
      String tenantId,
      String table,
      String op,
      long eventTimeMillis,
      long sourceTsMillis,
      Map<String, String> before,
      Map<String, String> after,
      String identity,
      boolean late)
      implements Truth {
    public Valid {
      Objects.requireNonNull(tenantId, "tenantId");
      Objects.requireNonNull(identity, "identity");
    }
  }

  /**
   * The exact bytes (key, value, timestamp) of an earlier {@link Valid} record with this identity.
   */
  record Duplicate(String identity) implements Truth {}

  /**
   * A record the job must quarantine.
   *
   * @param expected the reason it must be quarantined with
   * @param tenantIdOrNull the tenant the quarantine is attributed to: the valid tenant the record
   *     names (its Kafka key, which for these records always agrees with any tenant in the value);
   *     null when the record names no valid tenant or names two different ones ({@code
   *     TENANT_MISMATCH})
   */
  record Malformed(QuarantineReason expected, String tenantIdOrNull) implements Truth {
    public Malformed {
      Objects.requireNonNull(expected, "expected");
    }
  }

  /** A Debezium tombstone (null value) following a delete; keyed by the deleted row's tenant. */
  record Tombstone(String tenantId) implements Truth {
    public Tombstone {
      Objects.requireNonNull(tenantId, "tenantId");
    }
  }
}
