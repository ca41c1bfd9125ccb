package io.tenantexport.local.v2;

import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.schemas.ChangeEvent;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Entry point of the broken v2 jar of the operations drill: the v1 pipeline plus {@link
 * RefusesCheckpoints} on its change stream. Flink accepts and starts it (it restores a v1
 * savepoint, the new operator starting empty) and it runs, but it fails on every checkpoint: the
 * case an upgrade must detect and roll back by itself.
 */
public final class CheckpointFailingJob {
  private CheckpointFailingJob() {}

  public static void main(String[] args) throws Exception {
    JobConfig config = TenantExportJob.config(args);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, config);
    DataStream<ChangeEvent> changes =
        TenantExportPipeline.build(env, config, ProductionIo.create(config)).changes();
    changes
        .map(new RefusesCheckpoints<>(), changes.getType())
        .uid("v2-refuses-checkpoints")
        .name("v2: refuses checkpoints")
        .sinkTo(new DiscardingSink<>())
        .uid("v2-discard")
        .name("v2: discard");
    env.execute(config.jobName());
  }
}
