package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The CLI's Kafka clients, configured from the job configuration's bootstrap servers like the job's
 * own: byte-array keys and values, every call bounded by {@link #TIMEOUT}, no consumer group (the
 * CLI assigns partitions itself and commits nothing), producers idempotent with acks=all.
 */
final class KafkaClients {
  /** Bounds each metadata or admin call, and a producer's wait for acknowledgements. */
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  private KafkaClients() {}

  /**
   * The Kafka client logs through SLF4J, which the job jar leaves to Flink's {@code lib/}: fail
   * with directions instead of a NoClassDefFoundError halfway.
   */
  static void requireSlf4j() {
    try {
      Class.forName("org.slf4j.LoggerFactory", false, KafkaClients.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new CommandFailedException(
          "the Kafka client needs the SLF4J API on the classpath, which the job jar leaves to"
              + " Flink: set FLINK_HOME (deploy/bin/tenant-export then adds $FLINK_HOME/lib) or"
              + " TENANT_EXPORT_CLASSPATH to a folder/jar holding slf4j-api");
    }
  }

  static KafkaProducer<byte[], byte[]> producer(JobConfig config, String clientId) {
    Properties p = base(config, clientId);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    // With idempotence, up to 5 requests in flight keep their order per partition.
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) TIMEOUT.toMillis());
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis() * 2);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(p);
  }

  /** A consumer that only sees committed records, for partitions assigned by the caller. */
  static KafkaConsumer<byte[], byte[]> readCommittedConsumer(JobConfig config, String clientId) {
    Properties p = base(config, clientId);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return new KafkaConsumer<>(p);
  }

  static Admin admin(JobConfig config, String clientId) {
    Properties p = base(config, clientId);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    return Admin.create(p);
  }

  /**
   * The partition count of each of {@code topics} that exists; missing topics are absent from the
   * result.
   */
  static Map<String, Integer> partitionCounts(
      Admin admin, Collection<String> topics, JobConfig config) {
    Map<String, KafkaFuture<TopicDescription>> futures =
        admin.describeTopics(topics).topicNameValues();
    Map<String, Integer> counts = new TreeMap<>();
    for (Map.Entry<String, KafkaFuture<TopicDescription>> e : futures.entrySet()) {
      try {
        counts.put(
            e.getKey(),
            e.getValue().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).partitions().size());
      } catch (ExecutionException x) {
        if (!(x.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw new CommandFailedException(
              "cannot describe topic '" + e.getKey() + "' at " + config.bootstrapServers(),
              x.getCause());
        }
      } catch (TimeoutException x) {
        throw new CommandFailedException(
            "Kafka at "
                + config.bootstrapServers()
                + " did not describe topic '"
                + e.getKey()
                + "' within "
                + TIMEOUT.toSeconds()
                + "s (kafka.bootstrap_servers)",
            x);
      } catch (InterruptedException x) {
        Thread.currentThread().interrupt();
        throw new CommandFailedException("interrupted", x);
      }
    }
    return counts;
  }

  /** Fails naming the topic and cluster unless {@code topic} exists. */
  static void requireTopic(Admin admin, String topic, String setting, JobConfig config) {
    if (!partitionCounts(admin, List.of(topic), config).containsKey(topic)) {
      throw new CommandFailedException(
          "topic '"
              + topic
              + "' ("
              + setting
              + ") does not exist at "
              + config.bootstrapServers()
              + "; create it as the deployment does");
    }
  }

  private static Properties base(JobConfig config, String clientId) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
    return p;
  }
}
