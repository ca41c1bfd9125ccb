package io.tenantexport.local;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.utils.Utils;

/**
 * Chooses the Kafka partition of a generated record from its tenant, as a CDC pipeline that
 * partitions by tenant does (for example Debezium's partition-routing transform on {@code
 * tenant_id}). Kafka's default partitioner hashes the key bytes instead, and the generator writes
 * one tenant's keys in several forms ({@code acme}, {@code {"tenant_id":"acme"}}): by bytes they
 * would scatter one tenant's changes over partitions, out of source order, which the job's
 * append-only dedupe does not allow (see the README's ordering assumptions).
 */
public final class TenantRouting {
  /**
   * Partitions per generated topic, as the local run and the integration tests create them.
   * Debezium's auto-created topics have one partition, which keeps a row's changes, keyless deletes
   * included, in source order: orders (with such deletes) has one; the others are partitioned by
   * tenant (see the README).
   */
  public static final Map<String, Integer> PARTITIONS =
      Map.of(
          TrafficGenerator.PAGE_VIEWS_TOPIC,
          2,
          TrafficGenerator.ORDERS_TOPIC,
          1,
          TrafficGenerator.INVOICES_TOPIC,
          2);

  /** Recent valid changes' tenants by identity, so a duplicate follows its original. */
  private final Map<String, String> tenantOfIdentity =
      new LinkedHashMap<>(1 << 12, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > 100_000;
        }
      };

  /** The record for topic {@code r.topic()} with {@code partitions} partitions. */
  public ProducerRecord<byte[], byte[]> route(GeneratedRecord r, int partitions) {
    Truth t = r.truth();
    String tenant;
    if (t instanceof Truth.Valid v) {
      tenantOfIdentity.put(v.identity(), v.tenantId());
      tenant = v.tenantId();
    } else if (t instanceof Truth.Duplicate d) {
      tenant = tenantOfIdentity.get(d.identity());
    } else if (t instanceof Truth.Malformed m) {
      tenant = m.tenantIdOrNull();
    } else {
      tenant = ((Truth.Tombstone) t).tenantId();
    }
    int partition =
        tenant == null
            ? 0
            : Utils.toPositive(Utils.murmur2(tenant.getBytes(StandardCharsets.UTF_8))) % partitions;
    return new ProducerRecord<>(r.topic(), partition, r.timestamp(), r.key(), r.value());
  }
}
