package io.tenantexport.common.gen;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One Kafka record produced by {@link TrafficGenerator}, with the ground truth of what the job must
 * do with it.
 *
 * <p>Invariants: {@code topic} is one of {@link TrafficGenerator#topics()}; {@code timestamp} is
 * the Kafka record timestamp (epoch ms), equal to the envelope's {@code source.ts_ms} whenever the
 * value is an envelope; {@code value} is null exactly for tombstones; {@code key} is null only for
 * records whose truth is {@link Truth.Malformed}. The arrays are shared with the generator's replay
 * buffer (a duplicate re-sends the very same arrays), so callers must not modify them.
 *
 * @param topic the topic to produce to
 * @param key the Kafka key bytes
 * @param value the Kafka value bytes, or null for a tombstone
 * @param timestamp the Kafka record timestamp, epoch milliseconds
 * @param truth what the job must do with this record, decided by the generator, not by any decoder
 */
public record GeneratedRecord(String topic, byte[] key, byte[] value, long timestamp, Truth truth) {

  public GeneratedRecord {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(truth, "truth");
  }

  /** The key as UTF-8 text (for logs and tests), or null. */
  public String keyText() {
    return key == null ? null : new String(key, StandardCharsets.UTF_8);
  }

  /** The value as UTF-8 text (for logs and tests), or null for a tombstone. */
  public String valueText() {
    return value == null ? null : new String(value, StandardCharsets.UTF_8);
  }

  /** Equal when topic, timestamp, truth and the key and value bytes are equal. */
  @Override
  public boolean equals(Object o) {
    return o instanceof GeneratedRecord
        && ((GeneratedRecord) o).topic.equals(topic)
        && ((GeneratedRecord) o).timestamp == timestamp
        && Arrays.equals(((GeneratedRecord) o).key, key)
        && Arrays.equals(((GeneratedRecord) o).value, value)
        && ((GeneratedRecord) o).truth.equals(truth);
  }

  @Override
  public int hashCode() {
    return Objects.hash(topic, timestamp, Arrays.hashCode(key), Arrays.hashCode(value), truth);
  }

  @Override
  public String toString() {
    String v = valueText();
    if (v != null && v.length() > 200) {
      v = v.substring(0, 200) + "...(" + value.length + " bytes)";
    }
    return "GeneratedRecord["
        + topic
        + " @"
        + timestamp
        + " key="
        + keyText()
        + " value="
        + v
        + " truth="
        + truth
        + "]";
  }
}
