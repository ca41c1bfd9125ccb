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
 */
public record RawRecord(
    String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {

  /** {@code topic/partition@offset}: how messages name where a record came from. */
  public String origin() {
    return topic + "/" + partition + "@" + offset;
  }
}
