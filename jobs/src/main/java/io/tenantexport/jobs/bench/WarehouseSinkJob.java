package io.tenantexport.jobs.bench;

import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.schemas.WarehouseRollup;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.formats.avro.AvroDeserializationSchema;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Benchmark job (w): the full pipeline's warehouse sink alone, fed with rollups the pipeline
 * computed, so that its rate can be set against a standalone batched upsert of the same rows into
 * the same PostgreSQL. In the full pipeline the sink only ever sees rows at the pace the windows
 * close, which says nothing about how fast it is.
 *
 * <p>Takes the full pipeline's arguments ({@code [--config file] --key=value ...}, as {@link
 * io.tenantexport.jobs.TenantExportJob}): the same checkpointing and parallelism ({@link
 * TenantExportPipeline#configure}) and the same sink ({@link ProductionIo#warehouse}: statement,
 * batch size and interval, retries, login). {@code kafka.topics} names the topic holding the
 * rollups as Avro binary values, always read from the earliest offsets to the end offsets seen at
 * start ({@code kafka.starting_offsets} and {@code kafka.bounded} do not apply). The source is
 * named {@code cdc-source} like every benchmark job's Kafka source, which is what the benchmark
 * samples for the read rate.
 */
public final class WarehouseSinkJob {
  private WarehouseSinkJob() {}

  public static void main(String[] args) throws Exception {
    JobConfig c = TenantExportJob.config(args);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, c);
    KafkaSource<WarehouseRollup> source =
        KafkaSource.<WarehouseRollup>builder()
            .setBootstrapServers(c.bootstrapServers())
            .setGroupId(c.groupId())
            .setTopics(c.topics())
            .setValueOnlyDeserializer(AvroDeserializationSchema.forSpecific(WarehouseRollup.class))
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .build();
    TenantExportPipeline.writeWarehouse(
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "cdc-source").uid("cdc-source"),
        ProductionIo.warehouse(c));
    env.execute(c.jobName());
  }
}
