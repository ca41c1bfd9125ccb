package io.tenantexport.common.cdc;

/**
 * One Kafka record as the source read it, before any decoding: the decoder's only input.
 *
 * @param topic the topic it was read from
 * @param partition its partition
 * @param offset its offset in that partition
 * @param timestamp the Kafka record timestamp (epoch ms); the last fallback for event time
 * @param key the key bytes, or null
 * @param value the value bytes, or null for a tombstone
 * @param replayOf null, or the origin ({@code topic/partition@offset}) of the quarantined record
 *     this one re-injects (Kafka header {@value #REPLAY_HEADER}, set by {@code quarantine replay})
 */
public record RawRecord(
    String topic,
    int partition,
    long offset,
    long timestamp,
    byte[] key,
    byte[] value,
    String replayOf) {

  /** Kafka header naming the quarantined record a re-injected record replays. */
  public static final String REPLAY_HEADER = "tenant-export.replay-of";

  /** A record as read from a source topic, not a replay. */
  public RawRecord(
      String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
    this(topic, partition, offset, timestamp, key, value, null);
  }

  /** {@code topic/partition@offset}: how messages name where a record came from. */
  public String origin() {
    return topic + "/" + partition + "@" + offset;
  }
}
