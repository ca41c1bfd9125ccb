package io.tenantexport.jobs.bench;

import io.tenantexport.schemas.ChangeEvent;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Benchmark job (a), the ceiling: Kafka → decode → keyBy(tenant) → discard. What the machine can do
 * with the input before any export work: reading, decoding and one network shuffle by tenant.
 * Arguments: see {@link BenchJobArgs}.
 */
public final class DiscardCeilingJob {
  private DiscardCeilingJob() {}

  public static void main(String[] args) throws Exception {
    BenchJobArgs a = BenchJobArgs.parse("DiscardCeilingJob", args, false);
    StreamExecutionEnvironment env = a.environment();
    a.source(env)
        .flatMap(new DecodeChanges(a.spec()), new AvroTypeInfo<>(ChangeEvent.class))
        .uid("decode")
        .name("decode")
        .keyBy(ChangeEvent::getTenantId)
        .sinkTo(new DiscardingSink<>())
        .uid("discard")
        .name("discard");
    env.execute("bench-discard-ceiling");
  }
}
