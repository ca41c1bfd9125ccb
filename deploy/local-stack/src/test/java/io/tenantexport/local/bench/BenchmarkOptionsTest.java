package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchmarkOptionsTest {
  @TempDir Path tmp;

  private String[] args(String... more) throws Exception {
    Path jar = Files.writeString(tmp.resolve("job.jar"), "");
    Path spec = Files.writeString(tmp.resolve("spec.yaml"), "");
    String[] base = {"--jar", jar.toString(), "--spec", spec.toString()};
    String[] all = new String[base.length + more.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  @Test
  void theLatencyRunDefaultsTo70PercentOfTheFullPipelineAndTakesAFixedRate() throws Exception {
    Benchmark.Options defaults = Benchmark.parse(args());
    assertThat(defaults.latencyRate()).isZero();
    assertThat(defaults.events()).isEqualTo(600_000);
    assertThat(defaults.latencyTenants()).containsExactly(10);

    Benchmark.Options fixed =
        Benchmark.parse(
            args("--tenants", "10,1000", "--latency-tenants", "1000", "--latency-rate", "5_000"));
    assertThat(fixed.latencyRate()).isEqualTo(5_000);
    assertThat(fixed.latencyTenants()).containsExactly(1000);
    assertThatThrownBy(() -> Benchmark.parse(args("--latency-rate", "-1")))
        .hasMessageContaining("--latency-rate");
  }

  @Test
  void idleStateIsMeasuredAtEveryTenantCountUnlessToldOtherwise() throws Exception {
    assertThat(Benchmark.parse(args("--tenants", "10,1000")).idleTenants())
        .containsExactly(10, 1000);
    assertThat(
            Benchmark.parse(args("--tenants", "10,1000", "--idle-tenants", "1000")).idleTenants())
        .containsExactly(1000);
    assertThat(Benchmark.parse(args("--idle-tenants", "none")).idleTenants()).isEmpty();
    assertThatThrownBy(() -> Benchmark.parse(args("--tenants", "10", "--idle-tenants", "1000")))
        .hasMessageContaining("--idle-tenants [1000] must be among --tenants [10]");
    assertThatThrownBy(() -> Benchmark.parse(args("--tenants", "10", "--latency-tenants", "99")))
        .hasMessageContaining("--latency-tenants [99] must be among --tenants [10]");
  }

  @Test
  void jobsAreASubsetOfABCRunInThatOrder() throws Exception {
    assertThat(Benchmark.parse(args()).jobs()).containsExactly("a", "b", "c");
    assertThat(Benchmark.parse(args("--jobs", "c,a")).jobs()).containsExactly("a", "c");
    assertThatThrownBy(() -> Benchmark.parse(args("--jobs", "c,d")))
        .hasMessageContaining("--jobs must name some of [a, b, c], got c,d");
  }
}
