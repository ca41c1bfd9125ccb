package io.tenantexport.local.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.jobs.cli.CommandFailedException;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one bounded job on the cluster and measures it from outside: the job's start and end as the
 * JobManager reports them ({@code GET /jobs/:id}), CPU time of the TaskManager processes ({@link
 * ProcStat} before and after), their heap ({@code Status.JVM.Memory.Heap.Used}, sampled every
 * {@value #SAMPLE_MILLIS} ms) and the state size of the last completed checkpoint.
 *
 * <p>A job that fails, does not end within the timeout (it is cancelled then), or loses a
 * TaskManager is a result, not an error: {@link Outcome#status} says what happened, and a lost
 * TaskManager is started again so that the next run has the whole cluster.
 */
final class RunProbe {
  private static final Logger LOG = LoggerFactory.getLogger(RunProbe.class);
  static final long SAMPLE_MILLIS = 250;

  /** The source's records read, an operator metric of the vertex that holds it. */
  static final String SOURCE_METRIC = "Source__cdc-source.numRecordsIn";

  /** The name of the vertex that holds the Kafka source (uid and name cdc-source). */
  static final String SOURCE_VERTEX = "Source: cdc-source";

  static final Set<String> TERMINAL = Set.of("FINISHED", "FAILED", "CANCELED");
  private static final Duration SUBMIT_TIMEOUT = Duration.ofMinutes(15);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_CAUSE = 160;

  private final LocalFlinkCluster cluster;
  private final Path clusterDir;
  private final int taskManagers;
  private final long ticksPerSecond;
  private final HttpClient http = HttpClient.newHttpClient();

  RunProbe(LocalFlinkCluster cluster, Path clusterDir, int taskManagers) {
    this.cluster = cluster;
    this.clusterDir = clusterDir;
    this.taskManagers = taskManagers;
    this.ticksPerSecond = ProcStat.clockTicksPerSecond();
  }

  /**
   * What a run measured.
   *
   * @param status FINISHED, or what went wrong
   * @param wallMillis end-time − start-time of the job (NaN if it did not finish)
   * @param cpuSeconds CPU seconds all TaskManager processes used during the run
   * @param jitSeconds of those, what their JIT compiler threads used (a lower bound, see {@link
   *     ProcStat#grown})
   * @param peakHeapBytes the highest heap use sampled on any one TaskManager
   * @param checkpointStateBytes full state size of the last completed checkpoint (NaN: none)
   * @param readSamples the source's records read so far ({@value #SOURCE_METRIC}, summed over
   *     subtasks), sampled while the job ran
   */
  record Outcome(
      String status,
      double wallMillis,
      double cpuSeconds,
      double jitSeconds,
      double peakHeapBytes,
      double checkpointStateBytes,
      List<ReadSample> readSamples) {
    boolean finished() {
      return status.equals("FINISHED");
    }
  }

  Outcome run(String jarId, String entryClass, List<String> args, Duration timeout) {
    long[] pids = taskManagerPids();
    long cpuBefore = cpuTicks(pids);
    Map<String, Long> jitBefore = jitTicks(pids);
    HeapSampler heap = new HeapSampler();
    Thread sampler = new Thread(heap, "bench-heap-sampler");
    sampler.setDaemon(true);
    sampler.start();
    String jobId;
    String state;
    List<ReadSample> reads = new ArrayList<>();
    try {
      jobId = submit(jarId, entryClass, args);
      state = awaitEnd(jobId, timeout, reads);
    } catch (CommandFailedException | UncheckedIOException | IllegalStateException e) {
      // The job's main failed in the JobManager (for example, out of memory building the graph).
      LOG.warn("Bench: {} could not be submitted", entryClass, e);
      return new Outcome(
          "FAILED: submission: " + e.getMessage().lines().findFirst().orElse(""),
          Double.NaN,
          Double.NaN,
          Double.NaN,
          heap.stopAndGetPeak(sampler),
          Double.NaN,
          List.of());
    }
    double peakHeap = heap.stopAndGetPeak(sampler);
    boolean tmLost = !allAlive(pids);
    double cpuSeconds =
        tmLost ? Double.NaN : (double) (cpuTicks(pids) - cpuBefore) / ticksPerSecond;
    double jitSeconds =
        tmLost ? Double.NaN : (double) ProcStat.grown(jitBefore, jitTicks(pids)) / ticksPerSecond;
    JsonNode job = cluster.get("/jobs/" + jobId);
    double wall =
        state.equals("FINISHED")
            ? job.path("end-time").asLong() - job.path("start-time").asLong()
            : Double.NaN;
    JsonNode completed =
        cluster.get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
    double stateBytes = completed.isObject() ? completed.path("state_size").asDouble() : Double.NaN;
    String status = state;
    if (tmLost) {
      status = "FAILED: a TaskManager died (" + lastLines(clusterDir) + ")";
      restartLost(pids);
    } else if (state.equals("FAILED")) {
      status = "FAILED: " + rootCause(jobId);
    } else if (!state.equals("FINISHED")) {
      status = state + " (timeout " + timeout + ")";
    }
    LOG.info("Bench: {} {} -> {} in {} ms", entryClass, jobId, status, wall);
    return new Outcome(
        status, wall, cpuSeconds, jitSeconds, peakHeap, stateBytes, List.copyOf(reads));
  }

  /**
   * {@code POST /jars/:id/run}, waiting as long as the job's main takes in the JobManager: loading
   * 100,000 policy files takes longer than the operations client's 30 s request timeout, after
   * which the job would still start, unobserved, beside the next run.
   */
  String submit(String jarId, String entryClass, List<String> args) {
    String body;
    try {
      body = JSON.writeValueAsString(Map.of("entryClass", entryClass, "programArgsList", args));
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(cluster.restUrl() + "/jars/" + jarId + "/run"))
                  .timeout(SUBMIT_TIMEOUT)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      String jobId = r.statusCode() == 200 ? JSON.readTree(r.body()).path("jobid").asText() : "";
      if (jobId.isEmpty()) {
        throw new IllegalStateException(
            "POST /jars/"
                + jarId
                + "/run ("
                + entryClass
                + "): HTTP "
                + r.statusCode()
                + ": "
                + innermostCause(errorText(r.body())));
      }
      return jobId;
    } catch (IOException e) {
      throw new UncheckedIOException("POST /jars/" + jarId + "/run (" + entryClass + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Waits for the job to end; samples the source's records read meanwhile into {@code reads}. */
  private String awaitEnd(String jobId, Duration timeout, List<ReadSample> reads) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String sourceVertex = null;
    while (true) {
      String state = cluster.jobState(jobId);
      if (TERMINAL.contains(state)) {
        return state;
      }
      try {
        if (sourceVertex == null) {
          sourceVertex = vertex(jobId, SOURCE_VERTEX);
        }
        if (sourceVertex != null) {
          long read = metricSum(jobId, sourceVertex, SOURCE_METRIC);
          if (read >= 0) {
            reads.add(new ReadSample(System.nanoTime(), read));
          }
        }
      } catch (RuntimeException notYetOrGone) {
        // Before its tasks run a job has no metrics, and a failing one may lose them: no sample.
      }
      if (System.nanoTime() > deadline) {
        cancel(jobId);
        return "TIMEOUT";
      }
      sleep(200);
    }
  }

  /**
   * The records the job's CDC source has read so far (summed over its subtasks), or -1 when the job
   * has no such metric (yet, or any more).
   */
  long recordsRead(String jobId) {
    return metric(jobId, SOURCE_VERTEX, SOURCE_METRIC);
  }

  /**
   * {@code metric} summed over the subtasks of the job's vertex whose name starts with {@code
   * vertexName} (an operator's metric is named {@code <operator name, blanks as _>.<metric>}), or
   * -1 when the job has no such vertex or metric (yet, or any more).
   */
  long metric(String jobId, String vertexName, String metric) {
    try {
      String vertex = vertex(jobId, vertexName);
      return vertex == null ? -1 : metricSum(jobId, vertex, metric);
    } catch (RuntimeException notYetOrGone) {
      return -1;
    }
  }

  private long metricSum(String jobId, String vertexId, String metric) {
    JsonNode m =
        cluster.get(
            "/jobs/"
                + jobId
                + "/vertices/"
                + vertexId
                + "/subtasks/metrics?get="
                + metric
                + "&agg=sum");
    double sum = m.path(0).path("sum").asDouble(Double.NaN);
    return Double.isNaN(sum) ? -1 : (long) sum;
  }

  /** The id of the job's vertex whose name starts with {@code name}, or null. */
  private String vertex(String jobId, String name) {
    for (JsonNode v : cluster.get("/jobs/" + jobId).path("vertices")) {
      if (v.path("name").asText().startsWith(name)) {
        return v.path("id").asText();
      }
    }
    return null;
  }

  /** Records the source had read ({@code count}) at {@code nanos} ({@link System#nanoTime}). */
  record ReadSample(long nanos, long count) {}

  /**
   * The rate at which the source read its input while the job was in full flow: records read
   * between the first sample at or above {@code from} of {@code events} and the first at or above
   * {@code to}, divided by the time between them. Back-pressure keeps the source within a few
   * network buffers of the slowest operator, so this is the job's throughput. NaN with fewer than
   * two such samples.
   *
   * <p>Why not events ÷ the job's wall time: that also counts deployment and, for a bounded job,
   * the wait for a final checkpoint after the input ends (up to one checkpoint interval, 10 s
   * here), which a streaming job never pays; on a job that reads 200,000 events in 5 s they were
   * most of the figure.
   */
  static double steadyRate(List<ReadSample> samples, long events, double from, double to) {
    ReadSample first = null;
    ReadSample last = null;
    for (ReadSample s : samples) {
      if (first == null && s.count() >= from * events) {
        first = s;
      }
      if (first != null && s.count() >= to * events) {
        last = s;
        break;
      }
    }
    if (first == null || last == null || last.nanos() <= first.nanos()) {
      return Double.NaN;
    }
    return (last.count() - first.count()) / ((last.nanos() - first.nanos()) / 1e9);
  }

  /** Cancels the job ({@code PATCH /jobs/:id?mode=cancel}) and waits up to a minute for it. */
  void cancel(String jobId) {
    try {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create(cluster.restUrl() + "/jobs/" + jobId + "?mode=cancel"))
              .method("PATCH", HttpRequest.BodyPublishers.noBody())
              .build();
      http.send(req, HttpResponse.BodyHandlers.discarding());
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      while (!TERMINAL.contains(cluster.jobState(jobId)) && System.nanoTime() < deadline) {
        sleep(200);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot cancel job " + jobId, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The innermost cause of the job's failure, without Flink's serialization wrapper. */
  private String rootCause(String jobId) {
    JsonNode ex = cluster.get("/jobs/" + jobId + "/exceptions");
    String text = ex.path("root-exception").asText("");
    if (text.isEmpty()) {
      text = ex.path("exceptionHistory").path("entries").path(0).path("stacktrace").asText("");
    }
    return innermostCause(text);
  }

  /** The first error of a REST error answer ({@code {"errors": [...]}}), else the whole body. */
  private static String errorText(String body) {
    try {
      JsonNode errors = JSON.readTree(body).path("errors");
      return errors.isArray() && errors.size() > 0 ? errors.get(0).asText() : body;
    } catch (IOException notJson) {
      return body;
    }
  }

  /**
   * The last {@code Caused by:} line of a stack trace (else its first line), without {@code Caused
   * by:} and Flink's {@code SerializedThrowable:} wrapper.
   */
  static String innermostCause(String stackTrace) {
    String cause = stackTrace.lines().findFirst().orElse("no exception reported");
    for (String line : stackTrace.lines().toList()) {
      if (line.startsWith("Caused by: ")) {
        cause = line.substring("Caused by: ".length());
      }
    }
    cause = cause.replace("org.apache.flink.util.SerializedThrowable: ", "");
    // Flink appends a paragraph of advice to some causes (an OutOfMemoryError): the table needs
    // only what failed.
    return cause.length() <= MAX_CAUSE ? cause : cause.substring(0, MAX_CAUSE) + "…";
  }

  private long[] taskManagerPids() {
    long[] pids = new long[taskManagers];
    for (int k = 1; k <= taskManagers; k++) {
      Path f = clusterDir.resolve("pids").resolve(LocalFlinkCluster.taskManagerId(k) + ".pid");
      try {
        pids[k - 1] = Long.parseLong(Files.readString(f).trim());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read TaskManager pid file " + f, e);
      }
    }
    return pids;
  }

  private long cpuTicks(long[] pids) {
    long sum = 0;
    for (long pid : pids) {
      sum += ProcStat.cpuTicks(pid);
    }
    return sum;
  }

  /** The JIT compiler threads' ticks of all TaskManagers (thread ids are unique across them). */
  private static Map<String, Long> jitTicks(long[] pids) {
    Map<String, Long> ticks = new HashMap<>();
    for (long pid : pids) {
      ticks.putAll(ProcStat.jitTicks(pid));
    }
    return ticks;
  }

  private static boolean allAlive(long[] pids) {
    for (long pid : pids) {
      if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        return false;
      }
    }
    return true;
  }

  private void restartLost(long[] pids) {
    for (int k = 1; k <= pids.length; k++) {
      if (!ProcessHandle.of(pids[k - 1]).map(ProcessHandle::isAlive).orElse(false)) {
        LOG.warn("Bench: TaskManager {} died during the run; starting it again", k);
        cluster.startTaskManager(k);
      }
    }
  }

  /** The last line of each TaskManager's JVM output, where an OutOfMemoryError shows. */
  private String lastLines(Path dir) {
    List<String> out = new ArrayList<>();
    for (int k = 1; k <= taskManagers; k++) {
      Path f = dir.resolve("log").resolve(LocalFlinkCluster.taskManagerId(k) + ".out");
      try {
        List<String> lines = Files.exists(f) ? Files.readAllLines(f) : List.of();
        if (!lines.isEmpty()) {
          out.add("tm" + k + ": " + lines.get(lines.size() - 1));
        }
      } catch (IOException e) {
        out.add("tm" + k + ": " + e.getMessage());
      }
    }
    return String.join("; ", out);
  }

  /** Samples every TaskManager's heap use until stopped; keeps the highest value seen. */
  private final class HeapSampler implements Runnable {
    private volatile boolean running = true;
    private volatile double peak = Double.NaN;

    @Override
    public void run() {
      while (running) {
        for (int k = 1; k <= taskManagers; k++) {
          try {
            JsonNode m =
                cluster.get(
                    "/taskmanagers/"
                        + LocalFlinkCluster.taskManagerId(k)
                        + "/metrics?get=Status.JVM.Memory.Heap.Used");
            double used = m.path(0).path("value").asDouble(Double.NaN);
            if (!Double.isNaN(used) && (Double.isNaN(peak) || used > peak)) {
              peak = used;
            }
          } catch (RuntimeException lostOrRestarting) {
            // A TaskManager that is gone has no heap to sample; the run records its loss.
          }
        }
        sleep(SAMPLE_MILLIS);
      }
    }

    /** Stops sampling, waits for {@code thread} (the one running this) and returns the peak. */
    double stopAndGetPeak(Thread thread) {
      running = false;
      try {
        thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return peak;
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
