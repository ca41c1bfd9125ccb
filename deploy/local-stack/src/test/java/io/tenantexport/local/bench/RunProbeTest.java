package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

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
}
