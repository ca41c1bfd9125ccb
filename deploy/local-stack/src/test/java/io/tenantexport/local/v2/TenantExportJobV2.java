package io.tenantexport.local.v2;

import io.tenantexport.common.Ids;
import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.operators.SinkGuard;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.WarehouseRollup;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Entry point of the v2 job jar of the operations drill ({@code OperationsIT} assembles it from the
 * job jar and this package): the v1 pipeline, plus {@link ChangesPerWindow}, a keyed operator with
 * its own uid that exports the metric {@code <table>.changes_applied} through its own warehouse
 * guard and sink. Run it with {@code --job.version=v2 --job.export_version=<v1's + 1>}: every
 * output then carries the new export version, which is what a rollback retracts by.
 */
public final class TenantExportJobV2 {
  private TenantExportJobV2() {}

  public static void main(String[] args) throws Exception {
    JobConfig config = TenantExportJob.config(args);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, config);
    TenantExportPipeline.Built built =
        TenantExportPipeline.build(env, config, ProductionIo.create(config));
    AvroTypeInfo<WarehouseRollup> rollupType = new AvroTypeInfo<>(WarehouseRollup.class);
    built
        .changes()
        .keyBy(ChangeEvent::getTenantId)
        .process(new ChangesPerWindow(config.spec()), rollupType)
        .uid("v2-changes-per-window")
        .name("v2: changes applied per window")
        // Chained behind the tenant-keyed operator, as the pipeline's own guards. Its refusals
        // are counted by the guard's metric: this drill's v2 wires no quarantine for them.
        .process(
            new SinkGuard<WarehouseRollup>(
                "warehouse",
                WarehouseRollup::getTenantId,
                WarehouseRollup::getTenantId,
                r -> null,
                r ->
                    Ids.of(
                        r.getTenantId(),
                        r.getMetric(),
                        r.getDimensions(),
                        r.getWindowStart().toString()),
                config.spec().version(),
                config.jobVersion()),
            rollupType)
        .uid("v2-changes-guard")
        .name("v2: warehouse tenant guard")
        .sinkTo(ProductionIo.warehouse(config))
        .uid("v2-changes-sink")
        .name("v2: warehouse (PostgreSQL)");
    env.execute(config.jobName());
  }
}
