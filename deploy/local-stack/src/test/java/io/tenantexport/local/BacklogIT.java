package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.inspect.LakeFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backlog (a catch-up after downtime, a backfill) is read partition by partition: the Kafka
 * source fetches hundreds of records of one partition at a time, so one partition runs far ahead of
 * another in event time. Here a fetch of one partition spans about an hour of event time and the
 * spec's allowed lateness is its production value, two minutes: when tenants' clocks followed
 * whichever partition was read first, most changes of the partitions read later arrived for closed
 * windows (83 % of the benchmark's preloaded input). Windows now also wait for every partition to
 * pass them, so exactly the changes the generator made late (a day behind) are late, and the
 * warehouse equals the reference computed from the generator's ground truth.
 */
class BacklogIT {
  private static final int RECORDS = 6_000;

  @RegisterExtension static final MiniClusterExtension FLINK = ItStack.miniCluster();

  @TempDir static Path tmp;

  @Test
  void aBacklogReadPartitionByPartitionMakesOnlyTheLateChangesLate() throws Exception {
    ExportSpec spec = ItStack.spec("2m");
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(
                  TrafficGenerator.Config.builder(ItStack.inputStart())
                      .meanGap(Duration.ofSeconds(2))
                      .lateBy(Duration.ofDays(1))
                      .build())
              .take(RECORDS);
      stack.produce(Sources.AS_GENERATED, new TenantRouting(), input);
      Reference reference = ClusterRuns.reference(stack, spec, input);

      JobConfig c = stack.config("backlog", Sources.AS_GENERATED, true, "1h", stack.writer());
      StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
      TenantExportPipeline.build(env, c, ProductionIo.create(c));
      env.execute(c.jobName());
      RunOutputs out = stack.outputs(c);

      assertThat(reference.late).isNotEmpty();
      Map<String, Long> late = new TreeMap<>();
      Map<String, List<String>> lake = new TreeMap<>();
      for (LakeFiles.Row r : out.lakeRows()) {
        if ((Boolean) r.record().get("late")) {
          late.merge(r.pathTenant(), 1L, Long::sum);
        }
        lake.computeIfAbsent(r.pathTenant(), t -> new ArrayList<>())
            .add(RunOutputs.lakeLine(r.record(), false));
      }
      assertThat(late).isEqualTo(reference.late);
      lake.values().forEach(l -> l.sort(null));
      assertThat(lake).isEqualTo(reference.lake);
      assertThat(out.warehouse()).isEqualTo(reference.warehouse);
    }
  }
}
