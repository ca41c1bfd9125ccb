package io.tenantexport.jobs.operators;

import java.util.List;

/**
 * Source positions are compared lexicographically, element by element; a shorter prefix sorts
 * first.
 */
final class Positions {
  private Positions() {}

  static int compare(List<Long> a, List<Long> b) {
    int n = Math.min(a.size(), b.size());
    for (int i = 0; i < n; i++) {
      int c = Long.compare(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }
}
