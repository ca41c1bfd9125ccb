package io.tenantexport.local.bench;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.local.TenantRouting;
import io.tenantexport.local.infra.LocalKafka;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The benchmark's input: {@code events} records of {@link TrafficGenerator} (its default traffic,
 * faults included) for {@code tenants} tenants, produced to {@code <prefix>.<topic>} partitioned by
 * tenant as {@link TenantRouting} does.
 *
 * <p>The generator accepts at most {@value #GENERATOR_MAX_TENANTS} tenants. Beyond that, each
 * generated tenant is spread over several benchmark tenants: a row (its table and key, taken from
 * the truth's identity) always goes to the same one, the first keeps the generated id and the
 * others get {@code <id>-s<n>}; the id is rewritten in the record's key and value. Malformed
 * records keep their bytes. Until the generator's limit is lifted, the skew at more than {@value
 * #GENERATOR_MAX_TENANTS} tenants is therefore Zipf over the generated tenants, uniform within one.
 *
 * @param tenantIds every tenant a record may name, sorted
 * @param tenantsWithInput tenants that valid records name (with a Zipf-skewed spread over many
 *     tenants, not all of {@code tenantIds})
 * @param events records produced
 * @param firstEventMillis smallest Kafka timestamp (= {@code source.ts_ms}) produced
 * @param lastEventMillis largest Kafka timestamp produced
 */
record BenchData(
    List<String> tenantIds,
    int tenantsWithInput,
    long events,
    long firstEventMillis,
    long lastEventMillis) {
  static final int GENERATOR_MAX_TENANTS = 1000;
  private static final int PRODUCE_BATCH = 20_000;

  /** Hours of event time the input spans (at least one millisecond's worth). */
  double eventHours() {
    return Math.max(1, lastEventMillis - firstEventMillis) / 3_600_000.0;
  }

  static List<String> topics(String prefix) {
    return TrafficGenerator.topics().stream().map(t -> prefix + "." + t).toList();
  }

  /** Creates the topics and produces the records; returns what was produced. */
  static BenchData produce(
      LocalKafka kafka, String prefix, int tenants, long events, Instant start) {
    createTopics(kafka, prefix);
    Feed feed = new Feed(prefix, tenants, TrafficGenerator.Config.builder(start));
    List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>(PRODUCE_BATCH);
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (long i = 0; i < events; i++) {
      ProducerRecord<byte[], byte[]> r = feed.next();
      first = Math.min(first, r.timestamp());
      last = Math.max(last, r.timestamp());
      batch.add(r);
      if (batch.size() == PRODUCE_BATCH) {
        kafka.produce(batch);
        batch.clear();
      }
    }
    kafka.produce(batch);
    return new BenchData(feed.tenantIds(), feed.tenantsWithInput(), events, first, last);
  }

  static void createTopics(LocalKafka kafka, String prefix) {
    TenantRouting.PARTITIONS.forEach((t, n) -> kafka.createTopic(prefix + "." + t, n));
  }

  /**
   * The generator's records for {@code tenants} tenants as Kafka records for the topics under
   * {@code prefix}, each to the partition of its tenant. The generator's knobs come from {@code
   * config}; its tenant count is set here.
   */
  static final class Feed {
    private final String prefix;
    private final TrafficGenerator gen;
    private final Spread spread;
    private final TenantRouting routing = new TenantRouting();
    private final Set<String> named = new HashSet<>();

    Feed(String prefix, int tenants, TrafficGenerator.Config.Builder config) {
      this.prefix = prefix;
      this.gen =
          new TrafficGenerator(config.tenants(Math.min(tenants, GENERATOR_MAX_TENANTS)).build());
      this.spread = new Spread(gen.tenantIds(), tenants);
    }

    List<String> tenantIds() {
      return spread.tenantIds();
    }

    /** Tenants the valid records so far name. */
    int tenantsWithInput() {
      return named.size();
    }

    ProducerRecord<byte[], byte[]> next() {
      GeneratedRecord r = spread.apply(gen.next());
      if (r.truth() instanceof Truth.Valid v) {
        named.add(v.tenantId());
      }
      ProducerRecord<byte[], byte[]> p = routing.route(r, TenantRouting.PARTITIONS.get(r.topic()));
      return new ProducerRecord<>(
          prefix + "." + r.topic(), p.partition(), p.timestamp(), p.key(), p.value());
    }
  }

  /** Spreads each generated tenant over {@code tenants / generated} benchmark tenants. */
  static final class Spread {
    private final List<String> generated;
    private final Map<String, Integer> indexOf = new HashMap<>();
    private final int[] shares;

    Spread(List<String> generated, int tenants) {
      this.generated = generated;
      this.shares = new int[generated.size()];
      for (int i = 0; i < shares.length; i++) {
        shares[i] = tenants / shares.length + (i < tenants % shares.length ? 1 : 0);
        indexOf.put(generated.get(i), i);
      }
    }

    List<String> tenantIds() {
      TreeSet<String> ids = new TreeSet<>();
      for (int i = 0; i < shares.length; i++) {
        for (int j = 0; j < shares[i]; j++) {
          ids.add(id(generated.get(i), j));
        }
      }
      return List.copyOf(ids);
    }

    private static String id(String generatedId, int share) {
      return share == 0 ? generatedId : generatedId + "-s" + share;
    }

    /** The record with its tenant replaced by the share its row belongs to. */
    GeneratedRecord apply(GeneratedRecord r) {
      if (shares[0] == 1) {
        // No more tenants than generated ones: nothing to spread.
        return r;
      }
      String tenant;
      String identity;
      if (r.truth() instanceof Truth.Valid v) {
        tenant = v.tenantId();
        identity = v.identity();
      } else if (r.truth() instanceof Truth.Duplicate d) {
        identity = d.identity();
        tenant = null;
      } else {
        return r;
      }
      // A duplicate is a byte copy of its original: it names the original's generated tenant.
      if (tenant == null) {
        tenant = tenantNamed(r);
        if (tenant == null) {
          return r;
        }
      }
      int index = indexOf.get(tenant);
      // The row, not the change: "<table>@<position>#<key>=<value>" without the position.
      String row =
          identity.substring(0, identity.indexOf('@')) + identity.substring(identity.indexOf('#'));
      int share = Math.floorMod(row.hashCode(), shares[index]);
      if (share == 0) {
        return r;
      }
      String to = id(tenant, share);
      Truth truth =
          r.truth() instanceof Truth.Valid v
              ? new Truth.Valid(
                  to,
                  v.table(),
                  v.op(),
                  v.eventTimeMillis(),
                  v.sourceTsMillis(),
                  v.before(),
                  v.after(),
                  v.identity(),
                  v.late())
              : r.truth();
      return new GeneratedRecord(
          r.topic(),
          rewrite(r.key(), tenant, to),
          rewrite(r.value(), tenant, to),
          r.timestamp(),
          truth);
    }

    /** The generated tenant whose quoted id (or plain key) the record carries. */
    private String tenantNamed(GeneratedRecord r) {
      String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
      String value = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
      for (String t : generated) {
        if (key.equals(t) || value.contains("\"" + t + "\"")) {
          return t;
        }
      }
      return null;
    }

    /** {@code bytes} with the plain id {@code from}, or every quoted {@code "from"}, replaced. */
    static byte[] rewrite(byte[] bytes, String from, String to) {
      if (bytes == null) {
        return null;
      }
      String s = new String(bytes, StandardCharsets.UTF_8);
      String out = s.equals(from) ? to : s.replace("\"" + from + "\"", "\"" + to + "\"");
      return out.getBytes(StandardCharsets.UTF_8);
    }
  }
}
