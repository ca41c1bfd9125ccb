package io.tenantexport.jobs.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.jobs.config.JobConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

class TenantExportPipelineTest {
  @Test
  void aCheckpointThatRunsTooLongFailsTheJobBeforeATransactionCanExpire() {
    JobConfig c =
        JobConfig.load(
            Path.of("../deploy/job.yaml"),
            new String[] {"--job.checkpoint_timeout=3m"},
            Map.of(JobConfig.PASSWORD_ENV, "unused"));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    // What a cluster's configuration may say: the job's own settings must win.
    env.getCheckpointConfig().setTolerableCheckpointFailureNumber(5);

    TenantExportPipeline.configure(env, c);

    CheckpointConfig checkpoints = env.getCheckpointConfig();
    assertThat(checkpoints.getCheckpointTimeout()).isEqualTo(180_000L);
    assertThat(checkpoints.getTolerableCheckpointFailureNumber()).isZero();
    assertThat(checkpoints.getCheckpointInterval()).isEqualTo(c.checkpointInterval().toMillis());
  }

  @Test
  void theWarehouseSinkRunsInATaskOfItsOwnNotBehindTheWindows() {
    JobConfig c =
        JobConfig.load(
            Path.of("../deploy/job.yaml"), new String[0], Map.of(JobConfig.PASSWORD_ENV, "unused"));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, c);
    TenantExportPipeline.build(env, c, ProductionIo.create(c));

    List<String> vertices = new ArrayList<>();
    env.getStreamGraph().getJobGraph().getVertices().forEach(v -> vertices.add(v.getName()));
    assertThat(vertices)
        .anySatisfy(v -> assertThat(v).startsWith("per-tenant windows"))
        .anySatisfy(
            v ->
                assertThat(v)
                    .startsWith("warehouse tenant guard")
                    .contains("warehouse (PostgreSQL): Writer")
                    .contains("warehouse (PostgreSQL): Committer"))
        .noneSatisfy(
            v -> assertThat(v).contains("per-tenant windows").contains("warehouse (PostgreSQL)"));
  }
}
