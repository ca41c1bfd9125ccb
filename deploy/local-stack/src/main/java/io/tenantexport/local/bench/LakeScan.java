package io.tenantexport.local.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The visible files of a tenant-partitioned lake ({@code tenant_id=<id>/…/<file>}): files a reader
 * sees, so names starting with {@code .} (in-progress and pending part files) and {@code _} are
 * left out.
 *
 * @param filesByTenant visible files per tenant that has any
 * @param fileSizes every visible file's size in bytes
 */
record LakeScan(Map<String, Integer> filesByTenant, List<Double> fileSizes) {
  private static final String TENANT_PREFIX = "tenant_id=";

  static LakeScan of(Path lake) {
    Map<String, Integer> byTenant = new TreeMap<>();
    List<Double> sizes = new ArrayList<>();
    if (!Files.isDirectory(lake)) {
      return new LakeScan(byTenant, sizes);
    }
    try (Stream<Path> files = Files.walk(lake)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        String name = f.getFileName().toString();
        String tenant = tenantOf(lake.relativize(f));
        if (tenant == null || name.startsWith(".") || name.startsWith("_")) {
          continue;
        }
        byTenant.merge(tenant, 1, Integer::sum);
        sizes.add((double) Files.size(f));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot scan lake " + lake, e);
    }
    return new LakeScan(byTenant, sizes);
  }

  private static String tenantOf(Path relative) {
    if (relative.getNameCount() < 2) {
      return null;
    }
    String first = relative.getName(0).toString();
    return first.startsWith(TENANT_PREFIX) ? first.substring(TENANT_PREFIX.length()) : null;
  }

  int files() {
    return fileSizes.size();
  }

  /** Median size of a visible file, bytes; NaN for an empty lake. */
  double medianFileBytes() {
    return Stats.median(fileSizes);
  }

  /**
   * Files per tenant per hour of event time: the median over the tenants that have files (with a
   * Zipf-skewed input that is a tenant of the long tail), and the most any tenant has.
   */
  double medianFilesPerTenantHour(double eventHours) {
    return Stats.median(perHour(eventHours));
  }

  double maxFilesPerTenantHour(double eventHours) {
    return Stats.percentile(perHour(eventHours), 100);
  }

  private List<Double> perHour(double eventHours) {
    return filesByTenant.values().stream().map(n -> n / eventHours).toList();
  }
}
