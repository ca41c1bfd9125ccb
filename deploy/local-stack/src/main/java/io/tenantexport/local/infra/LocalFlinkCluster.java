package io.tenantexport.local.infra;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.jobs.cli.CommandFailedException;
import io.tenantexport.jobs.cli.FlinkRest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.GlobalConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Flink session cluster on this machine: one JobManager and N TaskManagers, each its own JVM
 * (children of this one), started from the Maven-resolved Flink jars the way Flink's own {@code
 * jobmanager.sh}/{@code taskmanager.sh} start them, and driven through the REST API.
 *
 * <p>Its configuration is the production file, {@code deploy/config.yaml}, loaded by Flink and
 * written to {@code <workDir>/conf/config.yaml} with {@linkplain #localOverrides only what must
 * differ when the whole cluster shares one machine}; the generated file's header lists them.
 * TaskManager {@code k} (1-based) has resource id {@code tm<k>}; logs go to {@code
 * <workDir>/log/<jobmanager|tmK>.log} (appended across restarts) and the JVM's own output to {@code
 * .out} beside them.
 *
 * <p>Invariant: no child outlives this object or this JVM. {@link #close()} stops every child
 * (SIGTERM, then SIGKILL after 15 s), and a shutdown hook kills whatever is still alive when the
 * JVM exits without {@code close()}. Only a SIGKILL of this JVM itself can orphan them ({@code
 * cluster.sh stop} covers that case with the pid files in {@code <workDir>/pids}).
 */
public final class LocalFlinkCluster implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalFlinkCluster.class);

  /** System property: the file holding the cluster's classpath (see this module's pom). */
  public static final String CLASSPATH_FILE_PROPERTY = "tenant-export.flink.classpath-file";

  /** System property: the production Flink configuration file. */
  public static final String CONFIG_FILE_PROPERTY = "tenant-export.flink.config-file";

  /** Defaults, relative to this module's folder, where the tests and {@code cluster.sh} run. */
  private static final Path DEFAULT_CLASSPATH_FILE = Path.of("target/flink-cluster.classpath");

  private static final Path DEFAULT_CONFIG_FILE = Path.of("../config.yaml");

  private static final String LOOPBACK = "127.0.0.1";
  private static final String JOBMANAGER_MAIN =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  private static final String TASKMANAGER_MAIN =
      "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  private static final String BASH_JAVA_UTILS = "org.apache.flink.runtime.util.bash.BashJavaUtils";
  private static final String BASH_JAVA_UTILS_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration SAVEPOINT_POLL = Duration.ofMillis(200);
  private static final int START_ATTEMPTS = 3;
  private static final int LOG_LINES_SHOWN = 20;

  /** Lines of a JobManager log that say why it failed. */
  private static final Pattern ERROR_LINE = Pattern.compile(" ERROR |Caused by:|Exception: ");

  /**
   * How the JobManager's start-up failure says a port it was given was taken (REST: Netty's bind;
   * RPC: Pekko's), and only that: another failure that happens to log a bind error is not retried.
   */
  private static final Pattern PORT_TAKEN =
      Pattern.compile("Could not start (rest endpoint|actor system) on any port in port range");

  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

  /** Chosen ports start here: above the well-known and most registered services' ports. */
  private static final int FIRST_CHOSEN_PORT = 20000;

  /**
   * The JVM options a Flink distribution's config.yaml sets as {@code env.java.default-opts.all}
   * (Flink reflects into the JDK on Java 17); used when the production file sets none.
   */
  static final String FLINK_DEFAULT_JVM_OPTS =
      "--add-exports=java.base/sun.net.util=ALL-UNNAMED"
          + " --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"
          + " --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED"
          + " --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED"
          + " --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED"
          + " --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED"
          + " --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED"
          + " --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED"
          + " --add-opens=java.base/java.lang=ALL-UNNAMED"
          + " --add-opens=java.base/java.net=ALL-UNNAMED"
          + " --add-opens=java.base/java.io=ALL-UNNAMED"
          + " --add-opens=java.base/java.nio=ALL-UNNAMED"
          + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED"
          + " --add-opens=java.base/java.lang.reflect=ALL-UNNAMED"
          + " --add-opens=java.base/java.text=ALL-UNNAMED"
          + " --add-opens=java.base/java.time=ALL-UNNAMED"
          + " --add-opens=java.base/java.util=ALL-UNNAMED"
          + " --add-opens=java.base/java.util.concurrent=ALL-UNNAMED"
          + " --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED"
          + " --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED";

  private final Path workDir;
  private final Path confDir;
  private final String classpath;
  private final Map<String, String> environment;
  private final int slotsPerTm;
  private final String restUrl;
  private final FlinkRest rest;
  private final Map<String, Process> children = new TreeMap<>();

  /** The RPC address the JobManager last reported for each TaskManager: a restart changes it. */
  private final Map<String, String> taskManagerPaths = new TreeMap<>();

  /** Where this JobManager's lines start in its (appended) log and output files. */
  private final Map<Path, Long> jobManagerLogStart = new TreeMap<>();

  private final Thread shutdownHook;
  private boolean closed;

  private LocalFlinkCluster(
      Path workDir, String classpath, Map<String, String> environment, int slots, int restPort) {
    this.workDir = workDir;
    this.confDir = workDir.resolve("conf");
    this.classpath = classpath;
    this.environment = environment;
    this.slotsPerTm = slots;
    this.restUrl = "http://" + LOOPBACK + ":" + restPort;
    this.rest = new FlinkRest(restUrl);
    this.shutdownHook = new Thread(this::killAll, "local-flink-cluster-cleanup");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts a JobManager and {@code taskManagers} TaskManagers with {@code slotsPerTm} slots each,
   * under {@code workDir}, and waits until all of them are registered.
   */
  public static LocalFlinkCluster start(Path workDir, int taskManagers, int slotsPerTm) {
    return start(workDir, taskManagers, slotsPerTm, Map.of());
  }

  /**
   * As {@link #start(Path, int, int)}, with {@code environment} added to every child's environment
   * (the job's main runs in the JobManager, its operators in the TaskManagers: for example the
   * warehouse password, which the job reads from its environment only).
   */
  public static LocalFlinkCluster start(
      Path workDir, int taskManagers, int slotsPerTm, Map<String, String> environment) {
    return start(workDir, taskManagers, slotsPerTm, environment, LocalFlinkCluster::freePort);
  }

  /**
   * As {@link #start(Path, int, int, Map)}, with the JobManager's REST and RPC ports taken from
   * {@code ports}. A port is free when chosen and bound by the JobManager's JVM seconds later;
   * anything may take it in between. When the JobManager exits because a port was taken, the
   * cluster is started again on new ports, at most {@value #START_ATTEMPTS} times; any other exit
   * fails at once with the end of the JobManager's log.
   */
  static LocalFlinkCluster start(
      Path workDir,
      int taskManagers,
      int slotsPerTm,
      Map<String, String> environment,
      IntSupplier ports) {
    if (taskManagers < 1 || slotsPerTm < 1) {
      throw new IllegalArgumentException(
          "need at least one TaskManager with one slot, got "
              + taskManagers
              + " TaskManager(s) with "
              + slotsPerTm
              + " slot(s)");
    }
    long t0 = System.nanoTime();
    Path dir = workDir.toAbsolutePath().normalize();
    String classpath = classpath();
    for (int attempt = 1; ; attempt++) {
      int restPort = ports.getAsInt();
      int rpcPort = ports.getAsInt();
      LocalFlinkCluster cluster =
          new LocalFlinkCluster(dir, classpath, Map.copyOf(environment), slotsPerTm, restPort);
      try {
        cluster.writeConfig(productionConfigFile(), restPort, rpcPort);
        cluster.launch("jobmanager", JOBMANAGER_MAIN, "GET_JM_RESOURCE_PARAMS", List.of());
        for (int k = 1; k <= taskManagers; k++) {
          cluster.startTaskManagerProcess(k);
        }
        cluster.awaitTaskManagers(taskManagers);
      } catch (PortTaken e) {
        cluster.close();
        if (attempt == START_ATTEMPTS) {
          throw new IllegalStateException(
              "the JobManager found a port taken " + attempt + " times in a row", e);
        }
        LOG.warn(
            "Flink: the JobManager could not bind REST port {} or RPC port {} ({}); starting"
                + " again on other ports",
            restPort,
            rpcPort,
            e.getMessage());
        continue;
      } catch (RuntimeException | Error e) {
        cluster.close();
        throw e;
      }
      LOG.info(
          "Flink: session cluster (1 JobManager, {} TaskManager(s) x {} slot(s)) up at {} in {} ms;"
              + " config and logs under {}",
          taskManagers,
          slotsPerTm,
          cluster.restUrl,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
          dir);
      return cluster;
    }
  }

  /** The REST API and web UI, on 127.0.0.1. */
  public String restUrl() {
    return restUrl;
  }

  /** The generated configuration directory ({@code config.yaml}, {@code log4j.properties}). */
  public Path configDir() {
    return confDir;
  }

  /** TaskManager {@code k}'s resource id, as the REST API names it. */
  public static String taskManagerId(int k) {
    return "tm" + k;
  }

  /**
   * Kills TaskManager {@code k} with SIGKILL (no shutdown of any kind, like a lost machine) and
   * waits until the process is gone. The JobManager notices by heartbeat timeout.
   */
  public synchronized void killTaskManager(int k) {
    Process p = children.get(taskManagerId(k));
    if (p == null || !p.isAlive()) {
      throw new IllegalStateException("TaskManager " + taskManagerId(k) + " is not running");
    }
    p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing " + taskManagerId(k), e);
    }
    LOG.info("Flink: killed TaskManager {} (pid {}) with SIGKILL", taskManagerId(k), p.pid());
  }

  /**
   * Starts TaskManager {@code k} (again, after {@link #killTaskManager}) and waits until the
   * JobManager has registered this new process.
   */
  public synchronized void startTaskManager(int k) {
    Process old = children.get(taskManagerId(k));
    if (old != null && old.isAlive()) {
      throw new IllegalStateException("TaskManager " + taskManagerId(k) + " is already running");
    }
    String previousPath = taskManagerPaths.get(taskManagerId(k));
    startTaskManagerProcess(k);
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (true) {
      Map<String, String> paths = registeredTaskManagers();
      String path = paths.get(taskManagerId(k));
      if (path != null && !path.equals(previousPath)) {
        taskManagerPaths.putAll(paths);
        LOG.info("Flink: TaskManager {} registered at {}", taskManagerId(k), path);
        return;
      }
      checkAlive(false);
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "TaskManager "
                + taskManagerId(k)
                + " did not register within "
                + READY_TIMEOUT
                + "; see "
                + workDir.resolve("log"));
      }
      sleep(200);
    }
  }

  /** GET {@code path} of the REST API as JSON. */
  public JsonNode get(String path) {
    return rest.get(path);
  }

  /** POST {@code body} (JSON) to {@code path} of the REST API; returns the JSON answer. */
  public JsonNode post(String path, Object body) {
    return rest.post(path, body);
  }

  /**
   * Takes a savepoint of the running job into {@code dir} and leaves the job running; waits up to
   * {@code timeout} and returns its location.
   */
  public String savepoint(String jobId, Path dir, Duration timeout) {
    return rest.awaitSavepoint(
        jobId, rest.triggerSavepoint(jobId, dir.toUri().toString()), timeout, SAVEPOINT_POLL);
  }

  /** Uploads a job jar ({@code POST /jars/upload}); returns its jar id for {@link #runJar}. */
  public String uploadJar(Path jar) {
    return rest.uploadJar(jar);
  }

  /**
   * Runs an uploaded jar ({@code POST /jars/:id/run}): its main runs in the JobManager with {@code
   * args}; {@code jobConfiguration} is added to the job's Flink configuration. Returns the job id.
   */
  public String runJar(
      String jarId, String entryClass, List<String> args, Map<String, String> jobConfiguration) {
    return rest.runJar(jarId, entryClass, args, null, jobConfiguration);
  }

  /** The job's status ({@code RUNNING}, {@code FINISHED}, ...). */
  public String jobState(String jobId) {
    return get("/jobs/" + jobId).path("state").asText();
  }

  /** The resource ids of the TaskManagers that run at least one task of the job. */
  public Set<String> taskManagersOf(String jobId) {
    Set<String> ids = new HashSet<>();
    for (JsonNode v : get("/jobs/" + jobId).path("vertices")) {
      for (JsonNode tm :
          get("/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers")
              .path("taskmanagers")) {
        ids.add(tm.path("taskmanager-id").asText());
      }
    }
    return ids;
  }

  /** Stops every child: SIGTERM, SIGKILL for whatever still runs after 15 s. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Process p : children.values()) {
      p.toHandle().descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    for (Process p : children.values()) {
      try {
        p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException jvmIsExiting) {
      // The hook itself runs now or has run.
    }
    LOG.info("Flink: session cluster at {} stopped", restUrl);
  }

  /** Generates {@code <workDir>/conf}: production settings plus {@link #localOverrides}. */
  private void writeConfig(Path productionFile, int restPort, int rpcPort) {
    if (!Files.isRegularFile(productionFile)) {
      throw new IllegalStateException(
          "Flink configuration "
              + productionFile.toAbsolutePath()
              + " not found (set -D"
              + CONFIG_FILE_PROPERTY
              + "=<deploy/config.yaml>)");
    }
    Configuration production =
        GlobalConfiguration.loadConfiguration(
            productionFile.toAbsolutePath().getParent().toString());
    Map<String, String> overrides = localOverrides(workDir, restPort, rpcPort, slotsPerTm);
    Configuration conf = new Configuration(production);
    overrides.forEach(conf::setString);
    List<String> lines = new ArrayList<>();
    lines.add(
        "# Generated by LocalFlinkCluster from " + productionFile.toAbsolutePath().normalize());
    lines.add(
        "# (the production file) with these local overrides, one machine for the whole cluster:");
    overrides.forEach(
        (k, v) ->
            lines.add(
                "#   " + k + " = " + v + "   (production: " + production.toMap().get(k) + ")"));
    lines.addAll(ConfigurationUtils.convertConfigToWritableLines(conf, true));
    try {
      for (String sub : List.of("log", "pids", "tmp", "upload", "checkpoints", "savepoints")) {
        Files.createDirectories(workDir.resolve(sub));
      }
      Files.createDirectories(confDir);
      Files.write(confDir.resolve("config.yaml"), lines);
      Files.writeString(confDir.resolve("log4j.properties"), LOG4J_PROPERTIES);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the cluster configuration to " + confDir, e);
    }
  }

  /**
   * The only settings in which the local cluster differs from {@code deploy/config.yaml}, and why:
   *
   * <ul>
   *   <li>bind and advertised hosts: 127.0.0.1, so nothing listens beyond this machine (production
   *       names loopback today too; pinned here in case production names real hosts);
   *   <li>{@code rest.port}, {@code jobmanager.rpc.port}: free ports, as production's fixed 8081
   *       and 6123 may be taken on a developer's machine (the local run's web UI is on 8081);
   *   <li>{@code taskmanager.numberOfTaskSlots}: the caller's choice, for example enough slots on
   *       one TaskManager to run the whole job after the other is killed;
   *   <li>{@code heartbeat.*}: 2 s / 10 s, so a killed TaskManager is detected within seconds (the
   *       production values today; pinned for the failover drill);
   *   <li>checkpoint, savepoint, temporary and upload directories: under the work dir, instead of
   *       {@code /var/lib/tenant-export} and {@code /tmp}, so a run leaves nothing elsewhere.
   * </ul>
   */
  static Map<String, String> localOverrides(Path workDir, int restPort, int rpcPort, int slots) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("jobmanager.bind-host", LOOPBACK);
    m.put("jobmanager.rpc.address", LOOPBACK);
    m.put("jobmanager.rpc.port", Integer.toString(rpcPort));
    m.put("taskmanager.bind-host", LOOPBACK);
    m.put("taskmanager.host", LOOPBACK);
    m.put("rest.address", LOOPBACK);
    m.put("rest.bind-address", LOOPBACK);
    m.put("rest.port", Integer.toString(restPort));
    m.put("taskmanager.numberOfTaskSlots", Integer.toString(slots));
    m.put("heartbeat.interval", "2000");
    m.put("heartbeat.timeout", "10000");
    m.put("execution.checkpointing.dir", workDir.resolve("checkpoints").toUri().toString());
    m.put(
        "execution.checkpointing.savepoint-dir", workDir.resolve("savepoints").toUri().toString());
    m.put("io.tmp.dirs", workDir.resolve("tmp").toString());
    m.put("web.upload.dir", workDir.resolve("upload").toString());
    return m;
  }

  /** Cluster logs: a file per process, appended to (a truncating appender empties it at exit). */
  private static final String LOG4J_PROPERTIES =
      String.join(
          "\n",
          "# Generated by LocalFlinkCluster: one log file per process (-Dlog.file), appended to.",
          "monitorInterval = 30",
          "rootLogger.level = INFO",
          "rootLogger.appenderRef.file.ref = MainAppender",
          "logger.pekko.name = org.apache.pekko",
          "logger.pekko.level = WARN",
          "logger.kafka.name = org.apache.kafka",
          "logger.kafka.level = WARN",
          "logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline",
          "logger.netty.level = ERROR",
          "appender.main.name = MainAppender",
          "appender.main.type = File",
          "appender.main.append = true",
          "appender.main.fileName = ${sys:log.file}",
          "appender.main.layout.type = PatternLayout",
          "appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
          "");

  private void startTaskManagerProcess(int k) {
    String id = taskManagerId(k);
    launch(
        id,
        TASKMANAGER_MAIN,
        "GET_TM_RESOURCE_PARAMS",
        List.of("-D", "taskmanager.resource-id=" + id));
  }

  /**
   * Starts {@code main} as Flink's scripts do: BashJavaUtils first computes the memory settings
   * from the configuration (line 1: JVM options, line 2: {@code -D key=value} dynamic settings);
   * then {@code java <those JVM options> <env.java opts> <logging> -cp <cluster classpath> main
   * --configDir conf <dynamic settings> <args>}.
   */
  private synchronized void launch(
      String name, String main, String resourceCommand, List<String> args) {
    if (closed) {
      throw new IllegalStateException("cluster is closed");
    }
    List<String> params = resourceParams(name, resourceCommand, args);
    Configuration conf = GlobalConfiguration.loadConfiguration(confDir.toString());
    boolean jm = main.equals(JOBMANAGER_MAIN);
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBinary());
    cmd.addAll(split(params.get(0)));
    cmd.addAll(split(conf.getString("env.java.default-opts.all", FLINK_DEFAULT_JVM_OPTS)));
    cmd.addAll(split(conf.getString("env.java.opts.all", "")));
    cmd.addAll(
        split(conf.getString(jm ? "env.java.opts.jobmanager" : "env.java.opts.taskmanager", "")));
    Path log = workDir.resolve("log").resolve(name + ".log");
    Path out = workDir.resolve("log").resolve(name + ".out");
    if (jm) {
      for (Path file : List.of(log, out)) {
        jobManagerLogStart.put(file, file.toFile().length());
      }
    }
    cmd.add("-Dlog.file=" + log);
    cmd.add("-Dlog4j.configurationFile=" + confDir.resolve("log4j.properties").toUri());
    cmd.add("-classpath");
    cmd.add(classpath);
    cmd.add(main);
    cmd.add("--configDir");
    cmd.add(confDir.toString());
    cmd.addAll(split(params.get(1)));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
    pb.environment().putAll(environment);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
    try {
      Process p = pb.start();
      children.put(name, p);
      Files.writeString(workDir.resolve("pids").resolve(name + ".pid"), p.pid() + "\n");
      LOG.info("Flink: started {} (pid {}), log {}", name, p.pid(), log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", cmd), e);
    }
  }

  /** The two result lines of {@code BashJavaUtils <command>}, as Flink's scripts read them. */
  private List<String> resourceParams(String name, String command, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBinary());
    cmd.add("-classpath");
    cmd.add(classpath);
    cmd.add("-Dlog4j2.level=WARN");
    cmd.add(BASH_JAVA_UTILS);
    cmd.add(command);
    cmd.add("--configDir");
    cmd.add(confDir.toString());
    cmd.addAll(args);
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int rc = p.waitFor();
      List<String> results =
          out.lines()
              .filter(l -> l.startsWith(BASH_JAVA_UTILS_PREFIX))
              .map(l -> l.substring(BASH_JAVA_UTILS_PREFIX.length()))
              .toList();
      if (rc != 0 || results.size() < 2) {
        throw new IllegalStateException(
            "BashJavaUtils "
                + command
                + " for "
                + name
                + " failed (exit "
                + rc
                + "; expects the configuration in "
                + confDir
                + "):\n"
                + out);
      }
      return results.subList(results.size() - 2, results.size());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run BashJavaUtils", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Waits until {@code count} TaskManagers are registered with all their slots. */
  private void awaitTaskManagers(int count) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (true) {
      checkAlive(true);
      try {
        JsonNode overview = get("/overview");
        last = overview.toString();
        if (overview.path("taskmanagers").asInt() == count
            && overview.path("slots-total").asInt() == count * slotsPerTm) {
          taskManagerPaths.putAll(registeredTaskManagers());
          return;
        }
      } catch (CommandFailedException | UncheckedIOException | IllegalStateException notYet) {
        last = notYet.getMessage();
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "Flink cluster not ready within "
                + READY_TIMEOUT
                + " (last /overview: "
                + last
                + "); see "
                + workDir.resolve("log"));
      }
      sleep(200);
    }
  }

  /** Resource id → RPC path of every TaskManager the JobManager has registered. */
  private Map<String, String> registeredTaskManagers() {
    Map<String, String> paths = new TreeMap<>();
    try {
      for (JsonNode tm : get("/taskmanagers").path("taskmanagers")) {
        paths.put(tm.path("id").asText(), tm.path("path").asText());
      }
    } catch (CommandFailedException | UncheckedIOException | IllegalStateException notYet) {
      // The REST endpoint is not up yet.
    }
    return paths;
  }

  /**
   * Fails if the JobManager has exited: while {@code starting}, with {@link PortTaken} when its log
   * says a port it was given was taken; else with its errors and the end of its log, so the cause
   * shows wherever the failure is read (a CI report, not the deleted work dir).
   */
  private void checkAlive(boolean starting) {
    Process jm = children.get("jobmanager");
    if (jm == null || jm.isAlive()) {
      return;
    }
    Path log = workDir.resolve("log").resolve("jobmanager.log");
    Path out = workDir.resolve("log").resolve("jobmanager.out");
    List<String> lines = new ArrayList<>();
    for (Path file : List.of(log, out)) {
      lines.addAll(linesSince(file, jobManagerLogStart.getOrDefault(file, 0L)));
    }
    if (starting) {
      lines.stream()
          .filter(l -> PORT_TAKEN.matcher(l).find())
          .findFirst()
          .ifPresent(
              l -> {
                throw new PortTaken(l.strip());
              });
    }
    List<String> shown = new ArrayList<>();
    lines.stream()
        .filter(l -> ERROR_LINE.matcher(l).find())
        .limit(LOG_LINES_SHOWN)
        .forEach(shown::add);
    shown.add("...");
    shown.addAll(lines.subList(Math.max(0, lines.size() - LOG_LINES_SHOWN), lines.size()));
    throw new IllegalStateException(
        "the JobManager exited with "
            + jm.exitValue()
            + "; its errors and last lines in "
            + log
            + " and jobmanager.out:\n"
            + String.join("\n", shown));
  }

  /**
   * The lines of {@code file} after byte {@code from} (logs are appended across starts in one work
   * dir); none if it does not exist or cannot be read.
   */
  private static List<String> linesSince(Path file, long from) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      int start = (int) Math.min(from, bytes.length);
      return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8)
          .lines()
          .toList();
    } catch (IOException | UncheckedIOException unreadable) {
      return List.of();
    }
  }

  /** The JobManager exited because a port it was given was taken (the line that says so). */
  private static final class PortTaken extends RuntimeException {
    PortTaken(String line) {
      super(line);
    }
  }

  private synchronized void killAll() {
    for (Process p : children.values()) {
      p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** The cluster's classpath, from the file {@value #CLASSPATH_FILE_PROPERTY} names. */
  public static String classpath() {
    Path file =
        Path.of(System.getProperty(CLASSPATH_FILE_PROPERTY, DEFAULT_CLASSPATH_FILE.toString()));
    try {
      String cp = Files.readString(file).trim();
      if (cp.isEmpty()) {
        throw new IOException("empty");
      }
      return cp;
    } catch (IOException e) {
      throw new IllegalStateException(
          "The Flink cluster's classpath file "
              + file.toAbsolutePath()
              + " is missing or empty ("
              + e.getMessage()
              + "): build deploy/local-stack first (mvn -ntp package), or set -D"
              + CLASSPATH_FILE_PROPERTY,
          e);
    }
  }

  private static Path productionConfigFile() {
    return Path.of(System.getProperty(CONFIG_FILE_PROPERTY, DEFAULT_CONFIG_FILE.toString()));
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static List<String> split(String s) {
    return s == null || s.isBlank() ? List.of() : Arrays.asList(s.trim().split("\\s+"));
  }

  /**
   * A port free on 127.0.0.1 now, below the kernel's ephemeral range where possible: ports in that
   * range are also handed out to every outgoing connection (Kafka and JDBC clients of this JVM),
   * which can take the port between this choice and the JobManager's bind; ports below it are only
   * taken by an explicit bind.
   */
  static int freePort() {
    int below = ephemeralLow();
    if (below > FIRST_CHOSEN_PORT + 100) {
      for (int i = 0; i < 50; i++) {
        int candidate = ThreadLocalRandom.current().nextInt(FIRST_CHOSEN_PORT, below);
        try (ServerSocket s = new ServerSocket(candidate, 1, InetAddress.getByName(LOOPBACK))) {
          return s.getLocalPort();
        } catch (IOException taken) {
          // Try another.
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + LOOPBACK, e);
    }
  }

  /** The first port of Linux's ephemeral range; 0 where that cannot be read. */
  private static int ephemeralLow() {
    try {
      // Not Files.readString: /proc files report size 0, and it returns their first byte only.
      String range = Files.readAllLines(EPHEMERAL_RANGE).get(0).trim();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException notLinux) {
      return 0;
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
