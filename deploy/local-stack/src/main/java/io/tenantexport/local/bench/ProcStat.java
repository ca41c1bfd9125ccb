package io.tenantexport.local.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time a process has used, from Linux's {@code /proc/<pid>/stat}: user plus system time of all
 * its threads, in clock ticks ({@code getconf CLK_TCK}, 100 on common kernels).
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
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException(where + ": no (comm) field in '" + stat + "'");
    }
    // After ")": field 3 (state) is the first; utime and stime are fields 14 and 15.
    String[] f = stat.substring(close + 1).trim().split("\\s+");
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
