package io.tenantexport.local.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster's start survives a port taken between its choice and the JobManager's bind (CI saw a
 * JobManager exit with 1 at start once, in a suite where every other start succeeded).
 */
class LocalFlinkClusterIT {
  @TempDir Path tmp;

  @Test
  void aTakenRestOrRpcPortMakesTheClusterStartAgainOnOtherPorts() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int takenPort = taken.getLocalPort();
      // First attempt: the REST port is taken; second: the RPC port; then free ports only.
      Deque<Integer> ports =
          new ArrayDeque<>(
              List.of(
                  takenPort,
                  LocalFlinkCluster.freePort(),
                  LocalFlinkCluster.freePort(),
                  takenPort));
      try (LocalFlinkCluster flink =
          LocalFlinkCluster.start(
              tmp.resolve("flink"),
              1,
              1,
              Map.of(),
              () -> ports.isEmpty() ? LocalFlinkCluster.freePort() : ports.pop())) {
        assertThat(flink.restUrl()).doesNotEndWith(":" + takenPort);
        assertThat(flink.get("/overview").path("taskmanagers").asInt()).isEqualTo(1);
        assertThat(ports).isEmpty();
        String log = Files.readString(flink.configDir().resolveSibling("log/jobmanager.log"));
        assertThat(log)
            .contains("Could not start rest endpoint on any port in port range " + takenPort)
            .contains("Could not start actor system on any port in port range " + takenPort);
      }
    }
  }

  @Test
  void chosenPortsAreBelowTheEphemeralRangeWhereThereIsOne() throws Exception {
    Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    int low =
        Files.isReadable(range)
            ? Integer.parseInt(Files.readAllLines(range).get(0).trim().split("\\s+")[0])
            : Integer.MAX_VALUE;
    for (int i = 0; i < 20; i++) {
      int port = LocalFlinkCluster.freePort();
      assertThat(port).isPositive();
      if (low > 20_100 && low != Integer.MAX_VALUE) {
        assertThat(port).isBetween(20_000, low - 1);
      }
    }
  }
}
