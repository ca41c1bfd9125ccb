package io.tenantexport.jobs.io;

import io.tenantexport.schemas.PolicyDocument;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads the policy control topic: key = the tenant id the policy is published for, value = the
 * policy document (YAML, UTF-8). Nothing is validated here: the operators that apply policies
 * decide, and report a rejected document as an audit event instead of failing the source. A record
 * without a value (a compaction tombstone) is skipped: a policy is retired by publishing a newer
 * version with status {@code offboarded}, never by deleting it.
 */
public final class PolicyDocumentDeserializer
    implements KafkaRecordDeserializationSchema<PolicyDocument> {
  private static final long serialVersionUID = 1L;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<PolicyDocument> out) {
    if (r.value() == null) {
      return;
    }
    out.collect(
        PolicyDocument.newBuilder()
            .setTenantId(r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8))
            .setText(new String(r.value(), StandardCharsets.UTF_8))
            .setOrigin(r.topic() + "/" + r.partition() + "@" + r.offset())
            .setPublishedAt(Math.max(0L, r.timestamp()))
            .build());
  }

  @Override
  public TypeInformation<PolicyDocument> getProducedType() {
    return new AvroTypeInfo<>(PolicyDocument.class);
  }
}
