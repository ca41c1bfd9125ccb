package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class RunProbeTest {
  @Test
  void aFailureIsReportedByItsInnermostCause() {
    String trace =
        String.join(
            "\n",
            "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy",
            "\tat org.apache.flink.runtime.Foo.bar(Foo.java:1)",
            "Caused by: org.apache.flink.util.SerializedThrowable: java.io.IOException: wrapped",
            "\tat x.Y.z(Y.java:2)",
            "Caused by: java.util.concurrent.TimeoutException: Heartbeat of TaskManager with id tm1 timed out.",
            "\t... 5 more");
    assertThat(RunProbe.innermostCause(trace))
        .isEqualTo(
            "java.util.concurrent.TimeoutException: Heartbeat of TaskManager with id tm1 timed out.");
  }

  @Test
  void aTraceWithoutCausesIsReportedByItsFirstLine() {
    assertThat(
            RunProbe.innermostCause("java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:3)"))
        .isEqualTo("java.lang.IllegalStateException: boom");
    assertThat(RunProbe.innermostCause("")).isEqualTo("no exception reported");
  }

  private static RunProbe.ReadSample at(double seconds, long count) {
    return new RunProbe.ReadSample((long) (seconds * 1e9), count);
  }

  @Test
  void theSteadyRateLeavesOutStartUpAndTheEndOfInput() {
    // Nothing read while the job deploys, 1,000 records/s in flow, then the input is done and the
    // job waits for its final checkpoint.
    List<RunProbe.ReadSample> samples =
        List.of(
            at(0, 0),
            at(3, 0),
            at(4, 500),
            at(5, 1_500),
            at(6, 2_500),
            at(7, 3_500),
            at(8, 4_500),
            at(9, 5_000),
            at(19, 5_000));
    assertThat(RunProbe.steadyRate(samples, 5_000, 0.1, 0.9)).isEqualTo(1_000.0);
    // Whole input: 5,000 in 19 s would be 263/s.
    assertThat(RunProbe.steadyRate(samples, 5_000, 0.0, 1.0)).isEqualTo(5_000 / 9.0);
  }

  @Test
  void tooFewSamplesGiveNoRate() {
    assertThat(RunProbe.steadyRate(List.of(), 100, 0.1, 0.9)).isNaN();
    assertThat(RunProbe.steadyRate(List.of(at(1, 0), at(2, 100)), 100, 0.1, 0.9)).isNaN();
    assertThat(RunProbe.steadyRate(List.of(at(1, 20), at(2, 50)), 100, 0.1, 0.9)).isNaN();
  }
}
