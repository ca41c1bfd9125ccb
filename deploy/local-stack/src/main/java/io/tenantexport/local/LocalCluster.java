package io.tenantexport.local;

import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A real Flink session cluster (a JobManager and TaskManagers as separate JVMs, see {@link
 * LocalFlinkCluster}) next to the local Kafka broker and PostgreSQL, started by hand with {@code
 * deploy/local-stack/cluster.sh start} and stopped with {@code cluster.sh stop} (SIGTERM to this
 * JVM, which stops everything it started).
 *
 * <p>Usage: {@code LocalCluster [--dir local-cluster] [--task-managers 2] [--slots 2]}. When
 * everything is up it writes {@code <dir>/cluster.env} (REST URL, Kafka bootstrap servers,
 * warehouse URL and the job's writer login) and prints it; the TaskManagers and the JobManager have
 * the writer's password in {@value JobConfig#PASSWORD_ENV}, so the job jar can be submitted as is.
 */
public final class LocalCluster {
  private LocalCluster() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of("local-cluster");
    int taskManagers = 2;
    int slots = 2;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--dir" -> dir = Path.of(required(args[i], value));
        case "--task-managers" -> taskManagers = Integer.parseInt(required(args[i], value));
        case "--slots" -> slots = Integer.parseInt(required(args[i], value));
        default ->
            throw new IllegalArgumentException(
                "unknown option '" + args[i] + "'; options: --dir D --task-managers N --slots N");
      }
      i++;
    }
    dir = dir.toAbsolutePath().normalize();
    Files.createDirectories(dir);
    List<AutoCloseable> started = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  closeAll(started);
                  stopped.countDown();
                },
                "local-cluster-stop"));
    LocalKafka kafka = LocalKafka.start();
    started.add(kafka);
    LocalWarehouse warehouse = LocalWarehouse.start();
    started.add(warehouse);
    warehouse.migrate();
    LocalWarehouse.Login writer = warehouse.writerLogin("export_job");
    LocalFlinkCluster flink =
        LocalFlinkCluster.start(
            dir.resolve("flink"),
            taskManagers,
            slots,
            Map.of(JobConfig.PASSWORD_ENV, writer.password()));
    started.add(flink);
    String env =
        String.join(
            "\n",
            "FLINK_REST_URL=" + flink.restUrl(),
            "FLINK_CONF_DIR=" + flink.configDir(),
            "FLINK_LOG_DIR=" + dir.resolve("flink").resolve("log"),
            "KAFKA_BOOTSTRAP_SERVERS=" + kafka.bootstrapServers(),
            "WAREHOUSE_URL=" + warehouse.jdbcUrl(),
            "WAREHOUSE_USER=" + writer.user(),
            "");
    Files.writeString(dir.resolve("cluster.env"), env);
    System.out.print(env);
    System.out.flush();
    stopped.await();
  }

  private static String required(String option, String value) {
    if (value == null) {
      throw new IllegalArgumentException("option " + option + " needs a value");
    }
    return value;
  }

  /** Stops in reverse order of start: Flink before the systems its job writes to. */
  private static void closeAll(List<AutoCloseable> started) {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        System.err.println("stopping " + started.get(i) + " failed: " + e);
      }
    }
  }
}
