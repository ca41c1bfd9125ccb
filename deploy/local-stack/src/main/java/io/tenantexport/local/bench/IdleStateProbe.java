package io.tenantexport.local.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an idle tenant costs in state (the benchmark's figure 3). The full pipeline reads a tenant
 * count's preloaded input unbounded; once it has read every record no tenant has anything left to
 * do: its windows close after {@code job.idle_timeout}, its buffered lake rows are written after
 * {@code lake.max_file_age} (the caller sets both to {@link #EMPTIES_AFTER}), and what remains is
 * the state kept between a tenant's changes. Then a savepoint is taken (Flink's canonical format,
 * as an upgrade or a rollback takes it: live entries only, unlike an incremental checkpoint's
 * RocksDB files, which still hold overwritten and deleted values until compaction) and its size per
 * operator is read from the job's checkpoint statistics.
 *
 * <p>Per operator, because the kinds of state scale with different things: the window operator
 * keeps a tenant's clock (per tenant); dedupe keeps a high-water mark per append-only table of a
 * tenant and the last image of every row of a mutable table for the table's retention (per row, not
 * per tenant); decode and dedupe each keep every tenant's policy document in broadcast state (per
 * tenant, on every subtask); the lake buffer should hold nothing by now.
 */
final class IdleStateProbe {
  private static final Logger LOG = LoggerFactory.getLogger(IdleStateProbe.class);

  /** {@code job.idle_timeout} and {@code lake.max_file_age} of the run. */
  static final Duration EMPTIES_AFTER = Duration.ofSeconds(20);

  private static final Duration SAVEPOINT_TIMEOUT = Duration.ofMinutes(5);

  /**
   * @param status FINISHED when the savepoint was taken, else what went wrong
   * @param bytesByOperator the savepoint's state size per job vertex (chained operators share one),
   *     by vertex name, in the job graph's order
   */
  record IdleState(String status, Map<String, Long> bytesByOperator) {
    long totalBytes() {
      return bytesByOperator.values().stream().mapToLong(Long::longValue).sum();
    }

    boolean finished() {
      return status.equals("FINISHED");
    }
  }

  private IdleStateProbe() {}

  /**
   * Runs the full pipeline ({@code jobFlags}: unbounded, over an input of {@code events} records)
   * until it has read every record, waits until its tenants' state has settled, takes a savepoint
   * into {@code savepointDir}, reads its size per operator and cancels the job.
   */
  static IdleState measure(
      LocalFlinkCluster cluster,
      RunProbe probe,
      String jarId,
      String entryClass,
      List<String> jobFlags,
      long events,
      Duration readTimeout,
      Duration checkpointInterval,
      Path savepointDir)
      throws InterruptedException {
    String jobId = probe.submit(jarId, entryClass, jobFlags);
    try {
      long deadline = System.nanoTime() + readTimeout.toNanos();
      long read;
      while ((read = probe.recordsRead(jobId)) < events) {
        String state = cluster.jobState(jobId);
        if (!state.matches("RUNNING|CREATED|INITIALIZING")) {
          return new IdleState(state + " after " + Math.max(read, 0) + " records", Map.of());
        }
        if (System.nanoTime() > deadline) {
          return new IdleState(
              "timeout " + readTimeout + " after " + Math.max(read, 0) + " records", Map.of());
        }
        Thread.sleep(RunProbe.SAMPLE_MILLIS);
      }
      // Quiet partitions let the watermark follow the wall clock after kafka.idle_partition_timeout
      // (10 s); then the idle flush closes windows, and the lake buffer writes what they left.
      Thread.sleep(
          Duration.ofSeconds(10)
              .plus(EMPTIES_AFTER.multipliedBy(2))
              .plus(checkpointInterval.multipliedBy(2))
              .toMillis());
      String location = cluster.savepoint(jobId, savepointDir, SAVEPOINT_TIMEOUT);
      Map<String, Long> bytes = bytesByOperator(cluster, jobId, location);
      LOG.info("Bench: idle state of job {}: savepoint {} holds {}", jobId, location, bytes);
      return new IdleState("FINISHED", bytes);
    } catch (RuntimeException e) {
      LOG.warn("Bench: idle state of job {} not measured", jobId, e);
      return new IdleState("FAILED: " + e.getMessage(), Map.of());
    } finally {
      probe.cancel(jobId);
    }
  }

  /**
   * The state size per vertex of the savepoint at {@code location}, from {@code GET
   * /jobs/:id/checkpoints/details/:id}; the statistics can lag the savepoint's completion by their
   * cache time, so this waits for them.
   */
  private static Map<String, Long> bytesByOperator(
      LocalFlinkCluster cluster, String jobId, String location) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      JsonNode savepoint =
          cluster.get("/jobs/" + jobId + "/checkpoints").path("latest").path("savepoint");
      // The same directory, whichever way the URI is spelled (file:/x or file:///x).
      if (lastSegment(savepoint.path("external_path").asText()).equals(lastSegment(location))) {
        JsonNode tasks =
            cluster
                .get("/jobs/" + jobId + "/checkpoints/details/" + savepoint.path("id").asLong())
                .path("tasks");
        Map<String, Long> bytes = new LinkedHashMap<>();
        for (JsonNode v : cluster.get("/jobs/" + jobId).path("vertices")) {
          JsonNode task = tasks.path(v.path("id").asText());
          bytes.put(v.path("name").asText(), task.path("state_size").asLong(0));
        }
        return bytes;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the checkpoint statistics of job " + jobId + " do not show savepoint " + location);
      }
      Thread.sleep(500);
    }
  }

  private static String lastSegment(String uri) {
    String u = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
    return u.substring(u.lastIndexOf('/') + 1);
  }
}
