package io.tenantexport.jobs.operators;

/**
 * When the current attempt of an operator (a start, or a restore after a failure) first ran, in the
 * timer service's processing-time clock.
 *
 * <p>Processing-time timers restored from a checkpoint fire at once, while the backlog that could
 * still reset them is being replayed. A timeout measured from {@link #since} instead of from the
 * key's own last activity gives every key a full timeout in the new attempt. Not state: each
 * attempt starts its own.
 */
final class AttemptStart {
  private long start = Long.MIN_VALUE;

  /** Call on every element and timer; the first call of the attempt fixes its start. */
  void observe(long now) {
    if (start == Long.MIN_VALUE) {
      start = now;
    }
  }

  /** The later of {@code lastActivity} and the attempt's start. */
  long since(long lastActivity) {
    return Math.max(lastActivity, start);
  }
}
