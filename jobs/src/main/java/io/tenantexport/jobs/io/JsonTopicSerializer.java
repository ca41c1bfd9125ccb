package io.tenantexport.jobs.io;

import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.functions.Function;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a record as JSON to one topic, keyed by its tenant id (so one tenant's events stay in
 * order in one partition); records without a tenant get a null key. The record's own deterministic
 * times are in its JSON; the Kafka timestamp is the time of writing.
 */
public final class JsonTopicSerializer<T extends SpecificRecordBase>
    implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;

  /** Extracts the tenant id, or null. */
  public interface TenantOf<T> extends Function {
    String tenant(T record);
  }

  private final String topic;
  private final TenantOf<T> tenantOf;

  public JsonTopicSerializer(String topic, TenantOf<T> tenantOf) {
    this.topic = topic;
    this.tenantOf = tenantOf;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      T record, KafkaSinkContext context, Long timestamp) {
    String tenant = tenantOf.tenant(record);
    byte[] key = tenant == null ? null : tenant.getBytes(StandardCharsets.UTF_8);
    // No record timestamp from the stream: timer output carries Long.MAX_VALUE at the end of input,
    // and
    // brokers refuse timestamps far in the future; the producer's clock is what consumers expect
    // here.
    return new ProducerRecord<>(topic, null, null, key, AvroJson.toJson(record));
  }
}
