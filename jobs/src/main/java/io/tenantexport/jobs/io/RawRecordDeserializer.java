package io.tenantexport.jobs.io;

import io.tenantexport.common.cdc.RawRecord;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * Hands Kafka records to the pipeline untouched: decoding happens in an operator, where a record
 * that cannot be decoded can be quarantined with its origin instead of failing the source.
 */
public final class RawRecordDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RawRecord> out) {
    Header replay = r.headers().lastHeader(RawRecord.REPLAY_HEADER);
    out.collect(
        new RawRecord(
            r.topic(),
            r.partition(),
            r.offset(),
            r.timestamp(),
            r.key(),
            r.value(),
            replay == null || replay.value() == null
                ? null
                : new String(replay.value(), StandardCharsets.UTF_8)));
  }

  @Override
  public TypeInformation<RawRecord> getProducedType() {
    return TypeInformation.of(RawRecord.class);
  }
}
