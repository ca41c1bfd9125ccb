package io.tenantexport.local.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of measured figures. */
final class Stats {
  private Stats() {}

  /**
   * The median (the mean of the two middle values for an even count); NaN for no values. NaN values
   * (a figure a run could not produce) are left out.
   */
  static double median(Collection<Double> values) {
    return percentile(values, 50);
  }

  /**
   * The {@code p}-th percentile, 0 ≤ p ≤ 100, by linear interpolation between the closest ranks
   * (the definition spreadsheets and NumPy use by default); NaN for no values. NaN values are left
   * out.
   */
  static double percentile(Collection<Double> values, double p) {
    if (p < 0 || p > 100 || Double.isNaN(p)) {
      throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
    }
    double[] v =
        values.stream().mapToDouble(Double::doubleValue).filter(d -> !Double.isNaN(d)).toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    Arrays.sort(v);
    double rank = p / 100 * (v.length - 1);
    int lo = (int) Math.floor(rank);
    int hi = (int) Math.ceil(rank);
    return v[lo] + (v[hi] - v[lo]) * (rank - lo);
  }

  /** {@code a / b}, NaN when either is NaN or b is 0. */
  static double ratio(double a, double b) {
    return Double.isNaN(a) || Double.isNaN(b) || b == 0 ? Double.NaN : a / b;
  }
}
