package io.tenantexport.local.infra;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.PreboundSocketFactoryManager;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.ServerSocketFactory;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * One KRaft node, broker and controller combined, running inside this JVM through Kafka's own
 * {@link KafkaClusterTestKit}. Its data lives in a fresh temporary directory that is deleted on
 * {@link #close()}.
 *
 * <p>Invariants: both listeners accept connections on 127.0.0.1 only, and the cluster is formatted
 * at the newest <em>production</em> metadata version with the production feature levels (the test
 * kit's default is the unreleased "testing" version), so clients see what a real 4.2 broker offers.
 */
final class EmbeddedKraftBroker implements AutoCloseable {
  /** Literal, not "localhost" or {@code getLoopbackAddress()}, which may both mean ::1. */
  private static final String LOOPBACK = "127.0.0.1";

  private final KafkaClusterTestKit cluster;
  private final String bootstrapServers;

  private EmbeddedKraftBroker(KafkaClusterTestKit cluster, String bootstrapServers) {
    this.cluster = cluster;
    this.bootstrapServers = bootstrapServers;
  }

  /** Formats and starts the node with {@code settings} on top of the kit's defaults. */
  static EmbeddedKraftBroker start(Map<String, String> settings) throws Exception {
    TestKitNodes nodes =
        new TestKitNodes.Builder(productionBootstrapMetadata())
            .setCombined(true)
            .setNumBrokerNodes(1)
            .setNumControllerNodes(1)
            .build();
    ListenerName brokerListener = nodes.brokerListenerName();
    ListenerName controllerListener = nodes.controllerListenerName();

    KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
    settings.forEach(builder::setConfigProp);
    // The kit's default is "localhost:0"; naming the address the reserved sockets are bound to
    // makes the broker advertise exactly where it listens.
    builder.setConfigProp(
        "listeners",
        String.format(
            "%s://%s:0,%s://%s:0",
            brokerListener.value(), LOOPBACK, controllerListener.value(), LOOPBACK));
    builder.setConfigProp("unstable.api.versions.enable", "false");
    builder.setConfigProp("unstable.feature.versions.enable", "false");
    reservePortsOnLoopback(builder, nodes);

    KafkaClusterTestKit cluster = builder.build();
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      int port = cluster.brokers().values().iterator().next().boundPort(brokerListener);
      return new EmbeddedKraftBroker(cluster, LOOPBACK + ":" + port);
    } catch (Exception e) {
      try {
        cluster.close();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  String bootstrapServers() {
    return bootstrapServers;
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }

  private static BootstrapMetadata productionBootstrapMetadata() {
    MetadataVersion version = MetadataVersion.latestProduction();
    Map<String, Short> features = new TreeMap<>();
    for (Feature feature : Feature.PRODUCTION_FEATURES) {
      features.put(feature.featureName(), feature.defaultLevel(version));
    }
    return BootstrapMetadata.fromVersions(version, features, "tenant-export-local-stack");
  }

  /**
   * The kit reserves every node's ports before start-up by binding server sockets on the wildcard
   * address (all interfaces), whatever the {@code listeners} setting says, and hands those very
   * sockets to the broker and controller. It offers no hook for the address, so this registers
   * loopback-bound sockets under the same node and listener keys first; the kit then finds and uses
   * them. This reaches two private fields; a kit version without them fails here, loudly.
   */
  private static void reservePortsOnLoopback(
      KafkaClusterTestKit.Builder builder, TestKitNodes nodes) throws IOException {
    PreboundSocketFactoryManager manager =
        (PreboundSocketFactoryManager)
            privateField(KafkaClusterTestKit.Builder.class, "socketFactoryManager", builder);
    @SuppressWarnings("unchecked")
    Map<Integer, Map<String, ServerSocketChannel>> reserved =
        (Map<Integer, Map<String, ServerSocketChannel>>)
            privateField(PreboundSocketFactoryManager.class, "sockets", manager);
    synchronized (manager) {
      for (int nodeId : nodes.controllerNodes().keySet()) {
        reserve(reserved, nodeId, nodes.controllerListenerName().value());
      }
      for (int nodeId : nodes.brokerNodes().keySet()) {
        reserve(reserved, nodeId, nodes.brokerListenerName().value());
      }
    }
  }

  private static void reserve(
      Map<Integer, Map<String, ServerSocketChannel>> reserved, int nodeId, String listener)
      throws IOException {
    ServerSocketChannel socket =
        ServerSocketFactory.INSTANCE.openServerSocket(
            listener, new InetSocketAddress(LOOPBACK, 0), -1, -1);
    reserved.computeIfAbsent(nodeId, id -> new HashMap<>()).put(listener, socket);
  }

  private static Object privateField(Class<?> owner, String name, Object target) {
    try {
      Field field = owner.getDeclaredField(name);
      field.setAccessible(true);
      return field.get(target);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException(
          "Cannot bind the embedded Kafka broker to "
              + LOOPBACK
              + ": "
              + owner.getName()
              + " has no accessible field '"
              + name
              + "' (written against kafka-test-common-runtime 4.2.0; check that version)",
          e);
    }
  }
}
