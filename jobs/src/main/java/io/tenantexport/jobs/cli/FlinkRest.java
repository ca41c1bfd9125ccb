package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The few calls of Flink's REST API (the JobManager's web port) that the operations commands need.
 * Every request is bounded by {@link #REQUEST_TIMEOUT} (an upload by {@link #UPLOAD_TIMEOUT}); a
 * failure is a {@link CommandFailedException} naming the method, the endpoint and the HTTP status
 * with Flink's own error text.
 */
public final class FlinkRest {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  static final Duration UPLOAD_TIMEOUT = Duration.ofMinutes(5);

  /** Job states after which a job never runs again. */
  static final List<String> TERMINAL = List.of("FINISHED", "CANCELED", "FAILED");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String base;
  private final HttpClient http;

  public FlinkRest(String restUrl) {
    this.base = restUrl.endsWith("/") ? restUrl.substring(0, restUrl.length() - 1) : restUrl;
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
  }

  String url() {
    return base;
  }

  /** A savepoint's progress: done with its location, or failed with Flink's cause. */
  record SavepointStatus(boolean done, String location, String failure) {}

  /** Uploads a jar ({@code POST /jars/upload}); returns Flink's jar id. */
  public String uploadJar(Path jar) {
    String boundary = "----tenant-export-" + UUID.randomUUID();
    byte[] head =
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName()
                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
            .getBytes(StandardCharsets.UTF_8);
    byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
    byte[] content;
    try {
      content = Files.readAllBytes(jar);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read jar " + jar, e);
    }
    JsonNode answer =
        send(
            "POST",
            "/jars/upload",
            HttpRequest.newBuilder(uri("/jars/upload"))
                .timeout(UPLOAD_TIMEOUT)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArrays(List.of(head, content, tail))));
    String stored = answer.path("filename").asText();
    if (stored.isEmpty()) {
      throw new CommandFailedException(
          "POST " + base + "/jars/upload answered without a file name: " + answer);
    }
    return Path.of(stored).getFileName().toString();
  }

  /**
   * Runs an uploaded jar ({@code POST /jars/:id/run}) with the entry class of its manifest; returns
   * the job id.
   */
  String runJar(String jarId, List<String> programArgs, String savepoint) {
    return runJar(jarId, null, programArgs, savepoint, Map.of());
  }

  /**
   * Runs an uploaded jar ({@code POST /jars/:id/run}): its main, {@code entryClass} or else the
   * manifest's, runs in the JobManager with {@code programArgs}, from {@code savepoint} when not
   * null; {@code flinkConfiguration} is added to the job's Flink configuration. Returns the job id.
   */
  public String runJar(
      String jarId,
      String entryClass,
      List<String> programArgs,
      String savepoint,
      Map<String, String> flinkConfiguration) {
    Map<String, Object> body = new LinkedHashMap<>();
    if (entryClass != null) {
      body.put("entryClass", entryClass);
    }
    body.put("programArgsList", programArgs);
    if (!flinkConfiguration.isEmpty()) {
      body.put("flinkConfiguration", flinkConfiguration);
    }
    if (savepoint != null) {
      body.put("savepointPath", savepoint);
      body.put("allowNonRestoredState", false);
    }
    String jobId = post("/jars/" + jarId + "/run", body).path("jobid").asText();
    if (jobId.isEmpty()) {
      throw new CommandFailedException("POST " + base + "/jars/" + jarId + "/run named no job id");
    }
    return jobId;
  }

  void deleteJar(String jarId) {
    send("DELETE", "/jars/" + jarId, HttpRequest.newBuilder(uri("/jars/" + jarId)).DELETE());
  }

  /** {@code GET /jobs/:id}: state, vertices. */
  JsonNode job(String jobId) {
    return get("/jobs/" + jobId);
  }

  String jobState(String jobId) {
    return job(jobId).path("state").asText();
  }

  /**
   * True when the job runs and each of its tasks runs or has finished (a bounded source, such as
   * the job's start marker, finishes while the job runs on).
   */
  boolean allRunning(String jobId) {
    JsonNode detail = job(jobId);
    if (!detail.path("state").asText().equals("RUNNING")) {
      return false;
    }
    for (JsonNode v : detail.path("vertices")) {
      String s = v.path("status").asText();
      if (!s.equals("RUNNING") && !s.equals("FINISHED")) {
        return false;
      }
    }
    return true;
  }

  /** {@code GET /jobs/:id/checkpoints}: counts, latest completed and restored. */
  JsonNode checkpoints(String jobId) {
    return get("/jobs/" + jobId + "/checkpoints");
  }

  /**
   * The job's failures since it was submitted, newest first ({@code GET /jobs/:id/exceptions}, its
   * exception history), each as the exception's first line and its causes ({@code Caused by:})
   * joined by {@code " | "}; empty when it never failed or the cluster cannot say.
   */
  List<String> failures(String jobId) {
    JsonNode entries;
    try {
      entries = get("/jobs/" + jobId + "/exceptions").path("exceptionHistory").path("entries");
    } catch (CommandFailedException e) {
      return List.of();
    }
    List<String> failures = new ArrayList<>();
    for (JsonNode entry : entries) {
      String trace = entry.path("stacktrace").asText("");
      List<String> parts = new ArrayList<>();
      trace.lines().filter(l -> parts.isEmpty() || l.startsWith("Caused by: ")).forEach(parts::add);
      String text =
          parts.isEmpty() ? entry.path("exceptionName").asText() : String.join(" | ", parts);
      failures.add(text.length() > 600 ? text.substring(0, 600) + "..." : text);
    }
    return failures;
  }

  /** The job's latest failure as {@link #failures} describes it, or "" when it has none. */
  String rootException(String jobId) {
    List<String> failures = failures(jobId);
    return failures.isEmpty() ? "" : failures.get(0);
  }

  /** Ids of the jobs the cluster knows with their state, from {@code GET /jobs/overview}. */
  List<JsonNode> jobs() {
    List<JsonNode> jobs = new ArrayList<>();
    get("/jobs/overview").path("jobs").forEach(jobs::add);
    return jobs;
  }

  /** Triggers a savepoint and leaves the job running; returns the trigger id. */
  public String triggerSavepoint(String jobId, String targetDirectory) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("cancel-job", false);
    if (targetDirectory != null) {
      body.put("target-directory", targetDirectory);
    }
    return requestId(
        post("/jobs/" + jobId + "/savepoints", body), "/jobs/" + jobId + "/savepoints");
  }

  /** Stops the job with a savepoint ({@code drain} flushes event time first); the trigger id. */
  String stopWithSavepoint(String jobId, String targetDirectory, boolean drain) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("drain", drain);
    if (targetDirectory != null) {
      body.put("targetDirectory", targetDirectory);
    }
    return requestId(post("/jobs/" + jobId + "/stop", body), "/jobs/" + jobId + "/stop");
  }

  SavepointStatus savepointStatus(String jobId, String triggerId) {
    JsonNode s = get("/jobs/" + jobId + "/savepoints/" + triggerId);
    if (!s.path("status").path("id").asText().equals("COMPLETED")) {
      return new SavepointStatus(false, null, null);
    }
    JsonNode op = s.path("operation");
    if (op.hasNonNull("location")) {
      return new SavepointStatus(true, op.path("location").asText(), null);
    }
    JsonNode cause = op.path("failure-cause");
    String failure =
        cause.path("serialized-throwable").isMissingNode()
            ? cause.toString()
            : cause.path("class").asText("") + ": " + cause.path("stack-trace").asText("");
    return new SavepointStatus(
        true, null, failure.lines().findFirst().orElse("savepoint failed without a cause"));
  }

  /**
   * Waits for the savepoint {@code trigger} of {@code jobId}, polling every {@code poll}; its
   * location.
   *
   * @throws CommandFailedException when it failed or was not done within {@code timeout}
   */
  public String awaitSavepoint(String jobId, String trigger, Duration timeout, Duration poll) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      SavepointStatus s = savepointStatus(jobId, trigger);
      if (s.done()) {
        if (s.failure() != null) {
          throw new CommandFailedException("savepoint of job " + jobId + " failed: " + s.failure());
        }
        return s.location();
      }
      if (System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "savepoint "
                + trigger
                + " of job "
                + jobId
                + " not completed within "
                + timeout.toSeconds()
                + "s");
      }
      try {
        Thread.sleep(poll.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CommandFailedException("interrupted", e);
      }
    }
  }

  /** Cancels the job ({@code PATCH /jobs/:id?mode=cancel}). */
  void cancel(String jobId) {
    send(
        "PATCH",
        "/jobs/" + jobId + "?mode=cancel",
        HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()));
  }

  /** GET {@code path} of the REST API as JSON. */
  public JsonNode get(String path) {
    return send("GET", path, HttpRequest.newBuilder(uri(path)).GET());
  }

  /** POST {@code body} (JSON) to {@code path} of the REST API; returns the JSON answer. */
  public JsonNode post(String path, Object body) {
    String json;
    try {
      json = JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return send(
        "POST",
        path,
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  private String requestId(JsonNode answer, String path) {
    String id = answer.path("request-id").asText();
    if (id.isEmpty()) {
      throw new CommandFailedException("POST " + base + path + " answered without a request id");
    }
    return id;
  }

  private URI uri(String path) {
    try {
      return URI.create(base + path);
    } catch (IllegalArgumentException e) {
      throw new CommandFailedException("not a Flink REST URL: " + base + path, e);
    }
  }

  private JsonNode send(String method, String path, HttpRequest.Builder request) {
    String endpoint = method + " " + base + path;
    HttpRequest r = request.build();
    if (r.timeout().isEmpty()) {
      r = request.timeout(REQUEST_TIMEOUT).build();
    }
    HttpResponse<String> response;
    try {
      response = http.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new CommandFailedException(endpoint + ": no answer (" + e + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException(endpoint + ": interrupted", e);
    }
    int status = response.statusCode();
    String body = response.body() == null ? "" : response.body();
    if (status / 100 != 2) {
      throw new CommandFailedException(endpoint + ": HTTP " + status + ": " + flinkErrors(body));
    }
    if (body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new CommandFailedException(
          endpoint + ": HTTP " + status + " with a body that is no JSON", e);
    }
  }

  /** Flink's {"errors": [...]} as one line, cut short: its stack traces are long. */
  private static String flinkErrors(String body) {
    String text = body;
    try {
      JsonNode errors = JSON.readTree(body).path("errors");
      if (errors.isArray()) {
        List<String> parts = new ArrayList<>();
        errors.forEach(e -> parts.add(e.asText()));
        text = String.join(" | ", parts);
      }
    } catch (IOException ignored) {
      // not JSON: the body as it is
    }
    text = text.replaceAll("\\s+", " ").trim();
    return text.length() > 600 ? text.substring(0, 600) + "..." : text;
  }
}
