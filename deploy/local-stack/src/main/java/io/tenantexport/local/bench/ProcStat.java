package io.tenantexport.local.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * CPU time a process has used, from Linux's {@code /proc/<pid>/stat}: user plus system time of all
 * its threads, in clock ticks ({@code getconf CLK_TCK}, 100 on common kernels); and what its JIT
 * compiler threads used, from {@code /proc/<pid>/task/<tid>/stat}.
 */
final class ProcStat {
  private ProcStat() {}

  /** utime + stime of {@code pid}, in clock ticks. */
  static long cpuTicks(long pid) {
    Path file = Path.of("/proc", Long.toString(pid), "stat");
    try {
      return cpuTicks(Files.readString(file, StandardCharsets.US_ASCII), file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + " (has the process exited?)", e);
    }
  }

  /**
   * utime + stime from the text of a stat file: fields 14 and 15 (proc(5)), counted after the
   * command name, which is in parentheses and may itself hold spaces and parentheses; so the count
   * starts after the last {@code )}.
   */
  static long cpuTicks(String stat, String where) {
    // After ")": field 3 (state) is the first; utime and stime are fields 14 and 15.
    String[] f = fieldsAfterComm(stat, where);
    if (f.length < 13) {
      throw new IllegalArgumentException(where + ": too few fields in '" + stat + "'");
    }
    try {
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          where + ": utime/stime are not numbers: '" + f[11] + "', '" + f[12] + "'", e);
    }
  }

  /**
   * The fields after the command name, which is in parentheses and may itself hold spaces and
   * parentheses; so they start after the last {@code )}. The first is field 3 (state).
   */
  private static String[] fieldsAfterComm(String stat, String where) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException(where + ": no (comm) field in '" + stat + "'");
    }
    return stat.substring(close + 1).trim().split("\\s+");
  }

  /**
   * utime + stime of each JIT compiler thread of {@code pid} ({@code C1 CompilerThread*}, {@code C2
   * CompilerThread*}; the kernel shows a thread name's first 15 bytes), in clock ticks, by thread
   * (its id and start time: an ended thread's id can be reused). The JVM starts and ends compiler
   * threads as the JIT's queue grows and shrinks, so compare two readings with {@link #grown}.
   */
  static Map<String, Long> jitTicks(long pid) {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    Map<String, Long> ticks = new HashMap<>();
    try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
      for (Path t : threads) {
        String comm;
        String stat;
        try {
          comm = Files.readString(t.resolve("comm"), StandardCharsets.US_ASCII).trim();
          stat = Files.readString(t.resolve("stat"), StandardCharsets.US_ASCII);
        } catch (IOException e) {
          continue; // the thread ended while we read it (ENOENT or ESRCH)
        }
        if (isJitThread(comm)) {
          String where = t + "/stat";
          ticks.put(t.getFileName() + "@" + startTime(stat, where), cpuTicks(stat, where));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the threads of " + tasks, e);
    }
    return ticks;
  }

  /**
   * Ticks the threads of {@code after} used since {@code before} (a thread new since then: all its
   * ticks). A thread that ended in between is missing from {@code after} with what it used since
   * {@code before}, as is one that started and ended in between: the result is a lower bound.
   */
  static long grown(Map<String, Long> before, Map<String, Long> after) {
    long sum = 0;
    for (Map.Entry<String, Long> t : after.entrySet()) {
      sum += t.getValue() - before.getOrDefault(t.getKey(), 0L);
    }
    return sum;
  }

  /** Field 22 of a stat file (proc(5)): when the thread started, in ticks after boot. */
  static long startTime(String stat, String where) {
    String[] f = fieldsAfterComm(stat, where);
    if (f.length < 20) {
      throw new IllegalArgumentException(where + ": too few fields in '" + stat + "'");
    }
    try {
      return Long.parseLong(f[19]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": starttime is not a number: '" + f[19] + "'", e);
    }
  }

  /** Whether a thread name (as /proc shows it, at most 15 bytes) is a HotSpot JIT compiler's. */
  static boolean isJitThread(String comm) {
    return comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre");
  }

  /** Clock ticks per second ({@code getconf CLK_TCK}). */
  static long clockTicksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("getconf CLK_TCK failed: " + out);
      }
      return Long.parseLong(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run getconf CLK_TCK", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (NumberFormatException e) {
      throw new IllegalStateException("getconf CLK_TCK printed no number", e);
    }
  }
}
