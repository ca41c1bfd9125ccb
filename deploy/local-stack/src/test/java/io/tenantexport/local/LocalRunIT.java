package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.local.inspect.LakeFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, shortened: it must start everything, export, drain and report. */
class LocalRunIT {
  @TempDir Path dir;

  @Test
  void localRunExportsWindowsForManyTenantsAndStopsCleanly() throws Exception {
    int uiPort;
    try (ServerSocket s = new ServerSocket(0)) {
      uiPort = s.getLocalPort();
    }
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.out;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      LocalRun.main(
          new String[] {
            "--duration",
            "25s",
            "--window",
            "5s",
            "--lateness",
            "5s",
            "--rate",
            "300",
            "--dir",
            dir.toString(),
            "--ui-port",
            Integer.toString(uiPort)
          });
    } finally {
      System.setOut(original);
    }
    String out = captured.toString(StandardCharsets.UTF_8);
    original.println(out);

    assertThat(out)
        .contains("Where to look", "psql \"postgresql://", "Final summary", "Warehouse: ");
    Matcher total =
        Pattern.compile("(?m)^TOTAL\\s+(\\d+)\\s+(\\d+)")
            .matcher(out.substring(out.indexOf("Final summary")));
    assertThat(total.find()).isTrue();
    long produced = Long.parseLong(total.group(1));
    long eventsIn = Long.parseLong(total.group(2));
    assertThat(eventsIn).isPositive().isLessThanOrEqualTo(produced);
    assertThat(LakeFiles.filesPerTenant(dir.resolve("lake"))).hasSizeGreaterThanOrEqualTo(20);
  }
}
