package io.tenantexport.local;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.ItStack.Sources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Writes a savepoint fixture: a savepoint of the real job (the production pipeline on the embedded
 * Kafka broker and PostgreSQL of {@link ItStack}) under {@code
 * src/test/resources/savepoints/<version>/}, which {@link SavepointCompatibilityTest} restores with
 * the current state types, so that an incompatible change of the state layout fails the build.
 *
 * <p>The job runs unbounded over a small generated input (four tenants, a few hundred records:
 * append-only page views, mutable orders and invoices with updates and deletes, duplicates,
 * malformed records to quarantine) plus one policy update on the control topic, waits until every
 * input offset is committed, and stops with a canonical savepoint <em>without</em> draining: open
 * windows, tenant clocks, dedupe scopes and ties, parked changes and the broadcast policies are all
 * in it. Canonical savepoints are relocatable, so the directory is copied as it is.
 *
 * <p><b>When to run it.</b> Only deliberately: to add a fixture for a new release whose state
 * layout changed compatibly by design (new fields with defaults, a new state), under a new version
 * name. A fixture is never regenerated or overwritten: an old fixture is the proof that savepoints
 * of that version still restore, and this refuses to write into an existing folder. If a change
 * makes an old fixture fail, the change is incompatible; remove an old fixture only when the
 * release notes say that restoring from that version is no longer supported.
 *
 * <p><b>How.</b> From the repository root, {@code mvn -o -q -ntp install -DskipTests}; then in
 * {@code deploy/local-stack} (paths are relative to it):
 *
 * <pre>
 * mvn -o -q -ntp dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test.cp
 * mvn -o -q -ntp test-compile
 * java --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
 *   -cp target/test-classes:target/classes:$(cat target/test.cp) \
 *   io.tenantexport.local.SavepointFixture v2
 * </pre>
 *
 * It takes about half a minute, prints the savepoint's size (keep a fixture well under 1 MB), and
 * leaves nothing running. Commit the new folder with the change that needs it.
 */
public final class SavepointFixture {
  /** Where the fixtures live, relative to {@code deploy/local-stack}. */
  static final Path FIXTURES = Path.of("src/test/resources/savepoints");

  private static final String RUN = "fixture";

  private SavepointFixture() {}

  /**
   * @param args the fixture's version name ({@code v1}, {@code v2}, …), a folder that must not
   *     exist yet
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 1 || !args[0].matches("v[0-9]+")) {
      System.err.println("usage: SavepointFixture <version: v1, v2, ...>");
      System.exit(2);
    }
    Path target = FIXTURES.resolve(args[0]);
    if (Files.exists(target)) {
      throw new IllegalStateException(
          target.toAbsolutePath() + " exists: fixtures are never overwritten, pick a new version");
    }
    Path tmp = Files.createTempDirectory("savepoint-fixture");
    Path savepoint;
    try (ItStack stack = ItStack.start(tmp, ItStack.spec("60m"), Path.of("../policies"))) {
      savepoint = takeSavepoint(stack, tmp.resolve("savepoints"));
    }
    copy(savepoint, target);
    System.out.println(
        "fixture " + target.toAbsolutePath() + ": " + size(target) + " bytes, from " + savepoint);
  }

  private static Path takeSavepoint(ItStack stack, Path savepoints) throws Exception {
    Sources sources = Sources.of(RUN);
    stack.createTopics(sources);
    List<GeneratedRecord> input =
        new TrafficGenerator(
                TrafficGenerator.Config.builder(ItStack.inputStart())
                    .seed(20261126L)
                    .tenants(4)
                    .quietTenants(0)
                    .malformedRate(0.03)
                    .duplicateRate(0.05)
                    .build())
            .take(400);
    Map<String, Integer> kinds = new TreeMap<>();
    input.forEach(r -> kinds.merge(r.truth().getClass().getSimpleName(), 1, Integer::sum));
    System.out.println("input: " + kinds);
    stack.produce(sources, new TenantRouting(), input);

    JobConfig c =
        stack.config(
            RUN,
            sources,
            false,
            "1h",
            stack.writer(),
            // Lake rows stay buffered in state, so that the fixture holds them too.
            Map.of("lake.max_file_age", "1h"));
    stack.kafka().createTopic(c.auditTopic(), 1);
    stack.kafka().createTopic(c.quarantineTopic(), 1);
    // One policy update, so the broadcast state of decode and dedupe holds a document.
    String tenant = "t00-acme";
    String v1 = Files.readString(Path.of("../policies", tenant + ".yaml"));
    String v2 =
        v1.replaceFirst("(?m)^version: 1$", "version: 2")
            .replace("ip: {action: mask, keep_last: 3}", "ip: {action: mask, keep_last: 2}");
    if (v2.equals(v1) || !v2.contains("version: 2")) {
      throw new IllegalStateException("could not derive version 2 of " + tenant + "'s policy");
    }
    stack
        .kafka()
        .produce(
            List.of(
                new ProducerRecord<>(
                    c.policyControlTopic(),
                    0,
                    tenant.getBytes(StandardCharsets.UTF_8),
                    v2.getBytes(StandardCharsets.UTF_8))));
    if (input.stream().noneMatch(r -> r.truth() instanceof Truth.Malformed)) {
      throw new IllegalStateException("the input has nothing to quarantine");
    }

    StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    JobClient job = env.executeAsync(c.jobName());
    stack.awaitCommitted(c);
    awaitCommitted(stack, c.groupId() + "-policies", c.policyControlTopic());
    // No drain: open windows, clocks, scopes and parked changes stay in the savepoint.
    String path =
        job.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get(2, TimeUnit.MINUTES);
    job.getJobExecutionResult().get(2, TimeUnit.MINUTES);
    return Path.of(java.net.URI.create(path));
  }

  /** Waits until {@code group} has committed the end of every partition of {@code topic}. */
  private static void awaitCommitted(ItStack stack, String group, String topic) throws Exception {
    Map<TopicPartition, Long> end = stack.kafka().endOffsets(topic);
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka().bootstrapServers()))) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (true) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        if (end.entrySet().stream()
            .allMatch(
                e ->
                    committed.get(e.getKey()) != null
                        && committed.get(e.getKey()).offset() >= e.getValue())) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(group + " did not commit " + end + ": " + committed);
        }
        Thread.sleep(200);
      }
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path dest = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(p, dest);
        }
      }
    }
  }

  static long size(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      return all.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
