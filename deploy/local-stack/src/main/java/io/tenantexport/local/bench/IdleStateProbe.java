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
 * do: its windows close after {@code job.idle_timeout} and changes waiting for their row's tenant
 * are quarantined after {@code job.orphan_timeout} (the caller sets both to {@link
 * #EMPTIES_AFTER}); what remains is the state kept between a tenant's changes, and the lake rows
 * still waiting for their file, which {@link IdleState#keptBytes} leaves out (a shorter {@code
 * lake.max_file_age} would empty the buffer too, but at 100,000 tenants it made the run write a
 * file per tenant every few seconds, and the lake buffer the run's bottleneck). When the windows
 * have settled, a savepoint is taken (Flink's canonical format, as an upgrade or a rollback takes
 * it: live entries only, unlike an incremental checkpoint's RocksDB files, which still hold
 * overwritten and deleted values until compaction) and its size per job vertex is read from the
 * job's checkpoint statistics.
 *
 * <p>Per vertex, because the kinds of state scale with different things: the window operator keeps
 * a tenant's clock (per tenant); dedupe keeps a high-water mark per append-only table of a tenant
 * and the last image of every row of a mutable table for the table's retention (per row, not per
 * tenant); the lake buffer holds rows waiting for their file. Each vertex also has a fixed part
 * (serializer snapshots with their Avro schemas, key-group offsets, Kafka offsets, sink state) that
 * dominates at small tenant counts. Policies read from the policy folder, as here, are not in
 * state; each one published on the control topic adds its document to the broadcast state of decode
 * and dedupe, on every subtask.
 */
final class IdleStateProbe {
  private static final Logger LOG = LoggerFactory.getLogger(IdleStateProbe.class);

  /** {@code job.idle_timeout} and {@code job.orphan_timeout} of the run. */
  static final Duration EMPTIES_AFTER = Duration.ofSeconds(20);

  private static final Duration SAVEPOINT_TIMEOUT = Duration.ofMinutes(5);
  private static final long POLL_MILLIS = 1_000;
  private static final String WINDOWS = "per-tenant windows";

  /** The start of the name of the vertex that buffers lake rows. */
  static final String LAKE_BUFFER = "lake file buffer";

  /**
   * @param status FINISHED when the savepoint was taken, else what went wrong
   * @param bytesByOperator the savepoint's state size per job vertex (chained operators share one),
   *     by vertex name, in the job graph's order
   * @param tenantsWithInput tenants that the input's valid records name (with a Zipf-skewed input
   *     spread over 100,000 tenants, not all of them)
   */
  record IdleState(String status, Map<String, Long> bytesByOperator, int tenantsWithInput) {
    long totalBytes() {
      return bytesByOperator.values().stream().mapToLong(Long::longValue).sum();
    }

    /** All but the lake buffer's vertex: the state kept between changes, buffered rows left out. */
    long keptBytes() {
      return bytesByOperator.entrySet().stream()
          .filter(e -> !e.getKey().startsWith(LAKE_BUFFER))
          .mapToLong(Map.Entry::getValue)
          .sum();
    }

    boolean finished() {
      return status.equals("FINISHED");
    }
  }

  private IdleStateProbe() {}

  /**
   * Runs the full pipeline ({@code jobFlags}: unbounded, over an input of {@code events} records of
   * {@code tenantsWithInput} tenants) until it has read every record and its state has settled,
   * takes a savepoint into {@code savepointDir}, reads its size per vertex and cancels the job.
   */
  static IdleState measure(
      LocalFlinkCluster cluster,
      RunProbe probe,
      String jarId,
      String entryClass,
      List<String> jobFlags,
      long events,
      int tenantsWithInput,
      Duration timeout,
      Duration idlePartitionTimeout,
      Path savepointDir)
      throws InterruptedException {
    String jobId;
    try {
      jobId = probe.submit(jarId, entryClass, jobFlags);
    } catch (RuntimeException e) {
      LOG.warn("Bench: idle-state job could not be submitted", e);
      return new IdleState("FAILED: submission: " + e.getMessage(), Map.of(), 0);
    }
    try {
      long deadline = System.nanoTime() + timeout.toNanos();
      long read;
      while ((read = probe.recordsRead(jobId)) < events) {
        String state = cluster.jobState(jobId);
        if (RunProbe.TERMINAL.contains(state) || System.nanoTime() > deadline) {
          return new IdleState(
              state
                  + " after "
                  + Math.max(read, 0)
                  + " of "
                  + events
                  + " records ("
                  + timeout
                  + ")",
              Map.of(),
              0);
        }
        Thread.sleep(RunProbe.SAMPLE_MILLIS);
      }
      String unsettled = awaitSettled(probe, jobId, idlePartitionTimeout, deadline);
      if (unsettled != null) {
        return new IdleState("UNSETTLED: " + unsettled + " (" + timeout + ")", Map.of(), 0);
      }
      String location = cluster.savepoint(jobId, savepointDir, SAVEPOINT_TIMEOUT);
      Map<String, Long> bytes = bytesByOperator(cluster, jobId, location);
      LOG.info("Bench: idle state of job {}: savepoint {} holds {}", jobId, location, bytes);
      return new IdleState("FINISHED", bytes, tenantsWithInput);
    } catch (RuntimeException e) {
      LOG.warn("Bench: idle state of job {} not measured", jobId, e);
      return new IdleState("FAILED: " + e.getMessage(), Map.of(), 0);
    } finally {
      try {
        probe.cancel(jobId);
      } catch (RuntimeException e) {
        LOG.warn("Bench: could not cancel idle-state job {}", jobId, e);
      }
    }
  }

  /**
   * Waits until the job's tenants are idle: the count of closed windows has not moved for a quiet
   * partition's timeout plus {@link #EMPTIES_AFTER} (quiet partitions let the watermark follow the
   * wall clock after {@code kafka.idle_partition_timeout}; then the idle flush closes the last
   * windows). Null when settled, else what had not by {@code deadline}.
   */
  private static String awaitSettled(
      RunProbe probe, String jobId, Duration idlePartitionTimeout, long deadline)
      throws InterruptedException {
    long quietNanos = idlePartitionTimeout.plus(EMPTIES_AFTER).toNanos();
    long start = System.nanoTime();
    long lastChange = start;
    long closed = -1;
    while (true) {
      long c = probe.metric(jobId, WINDOWS, metricOf(WINDOWS, "windowsClosed"));
      long now = System.nanoTime();
      if (c != closed) {
        lastChange = now;
        closed = c;
      }
      if (closed >= 0 && now - lastChange >= quietNanos && now - start >= 2 * quietNanos) {
        return null;
      }
      if (now > deadline) {
        return "windows still closing (" + closed + " closed)";
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  /** An operator's metric as the REST API names it: blanks in the operator's name become _. */
  private static String metricOf(String operator, String metric) {
    return operator.replace(' ', '_') + "." + metric;
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
