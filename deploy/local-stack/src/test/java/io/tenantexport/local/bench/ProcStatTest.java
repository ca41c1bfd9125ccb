package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ProcStatTest {
  @Test
  void cpuTicksAreUserPlusSystemTime() {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    String stat = "4242 (java) S 1 4242 4242 0 -1 4194560 12345 0 12 0 1500 250 3 1 20 0 57 0";
    assertThat(ProcStat.cpuTicks(stat, "test")).isEqualTo(1750);
  }

  @Test
  void aCommandNameWithSpacesAndParenthesesDoesNotShiftTheFields() {
    String stat = "7 (my (odd) name) R 1 7 7 0 -1 0 0 0 0 0 40 2 0 0 20 0 1 0";
    assertThat(ProcStat.cpuTicks(stat, "test")).isEqualTo(42);
  }

  @Test
  void thisProcessHasUsedCpu() {
    assertThat(ProcStat.cpuTicks(ProcessHandle.current().pid())).isPositive();
    assertThat(ProcStat.clockTicksPerSecond()).isPositive();
  }

  @Test
  void jitThreadsAreHotSpotsCompilerThreadsAsTheKernelShortensTheirNames() {
    assertThat(ProcStat.isJitThread("C2 CompilerThre")).isTrue();
    assertThat(ProcStat.isJitThread("C1 CompilerThre")).isTrue();
    assertThat(ProcStat.isJitThread("GC Thread#0")).isFalse();
    assertThat(ProcStat.isJitThread("decode + valida")).isFalse();
    // This JVM compiles too: its compiler threads are found, with their ticks.
    assertThat(ProcStat.jitTicks(ProcessHandle.current().pid()))
        .isNotEmpty()
        .allSatisfy((thread, ticks) -> assertThat(ticks).isNotNegative());
  }

  @Test
  void jitTicksGrownCountANewThreadWhollyAndAnEndedOneNotAtAll() {
    Map<String, Long> before = Map.of("1@500", 100L, "2@500", 50L);
    // 1 compiled 30 ticks more, 2 ended, 3 started, and 2's id came back for a new thread
    Map<String, Long> after = Map.of("1@500", 130L, "3@900", 7L, "2@950", 4L);
    assertThat(ProcStat.grown(before, after)).isEqualTo(30 + 7 + 4);
  }

  @Test
  void aThreadIsKnownByItsStartTimeToo() {
    // ... utime stime cutime cstime priority nice num_threads itrealvalue starttime
    String stat = "7 (C2 CompilerThre) S 1 7 7 0 -1 0 0 0 0 0 40 2 0 0 20 0 1 0 123456 0";
    assertThat(ProcStat.startTime(stat, "test")).isEqualTo(123456);
    assertThat(ProcStat.cpuTicks(stat, "test")).isEqualTo(42);
    assertThatThrownBy(
            () -> ProcStat.startTime("7 (x) S 1 7 7 0 -1 0 0 0 0 0 40 2", "/proc/7/stat"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("/proc/7/stat");
  }

  @Test
  void aTruncatedStatNamesWhereItCameFrom() {
    assertThatThrownBy(() -> ProcStat.cpuTicks("1 (x) S 1 2", "/proc/1/stat"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("/proc/1/stat");
  }
}
