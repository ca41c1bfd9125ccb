package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.jobs.cli.ReconcileComparison.Result;
import io.tenantexport.jobs.cli.ReconcileComparison.Side;
import io.tenantexport.jobs.cli.ReconcileComparison.TenantResult;
import io.tenantexport.jobs.cli.ReconcileComparison.Window;
import io.tenantexport.jobs.cli.ReconcileComparison.WindowResult;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verdict and report of {@code reconcile} from rows alone. */
class ReconcileComparisonTest {
  private static final Instant W0 = Instant.parse("2026-11-25T10:00:00Z");
  private static final Duration MINUTE = Duration.ofMinutes(1);

  /** When reconcile started; rows exported at {@link #BEFORE} or {@link #AFTER} it. */
  private static final Instant STARTED = Instant.parse("2026-11-26T12:00:00Z");

  private static final Instant BEFORE = STARTED.minusSeconds(60);
  private static final Instant AFTER = STARTED.plusSeconds(5);

  private static Instant window(int i) {
    return W0.plus(MINUTE.multipliedBy(i));
  }

  private static ReconcileRow row(
      String tenant, int window, String metric, String dims, String value, long count, Instant at) {
    return new ReconcileRow(
        tenant,
        metric.startsWith("page") ? "page_views" : "orders",
        metric,
        dims,
        window(window),
        window(window + 1),
        value == null ? null : new BigDecimal(value),
        count,
        at);
  }

  /** A tenant's full window: a count and a sum for two pages. */
  private static List<ReconcileRow> windowRows(String tenant, int window, Instant at) {
    return List.of(
        row(tenant, window, "page_view_count", "{\"page\":\"/a\"}", "3", 3, at),
        row(tenant, window, "page_view_duration_ms", "{\"page\":\"/a\"}", "1200", 3, at),
        row(tenant, window, "page_view_count", "{\"page\":\"/b\"}", "1", 1, at),
        row(tenant, window, "page_view_duration_ms", "{\"page\":\"/b\"}", "80", 1, at),
        row(tenant, window, "order_amount_max", "{\"status\":\"paid\"}", null, 0, at));
  }

  private static List<ReconcileRow> windows(String tenant, Instant at, int... windows) {
    List<ReconcileRow> rows = new ArrayList<>();
    for (int w : windows) {
      rows.addAll(windowRows(tenant, w, at));
    }
    return rows;
  }

  private static List<ReconcileRow> reversed(List<ReconcileRow> rows) {
    List<ReconcileRow> copy = new ArrayList<>(rows);
    Collections.reverse(copy);
    return copy;
  }

  private static Result compare(List<ReconcileRow> live, List<ReconcileRow> shadow) {
    return ReconcileComparison.compare(List.of("t01-a", "t02-b"), live, shadow, STARTED);
  }

  private static TenantResult tenant(Result r, String tenant) {
    return r.tenants().stream().filter(t -> t.tenant().equals(tenant)).findFirst().orElseThrow();
  }

  @Test
  void identicalRowsReconcileCleanWhateverTheirOrderScaleAndExportTime() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0, 1, 2);
    live.addAll(windows("t02-b", BEFORE, 0));
    List<ReconcileRow> shadow = new ArrayList<>();
    for (ReconcileRow r : reversed(live)) {
      shadow.add(
          new ReconcileRow(
              r.tenant(),
              r.sourceTable(),
              r.metric(),
              r.dimensions(),
              r.windowStart(),
              r.windowEnd(),
              r.value() == null ? null : r.value().setScale(4),
              r.rowCount(),
              AFTER));
    }

    Result result = compare(live, shadow);

    assertThat(result.clean()).isTrue();
    assertThat(result.compared()).isEqualTo(4);
    assertThat(tenant(result, "t01-a").equalCount()).isEqualTo(3);
    assertThat(tenant(result, "t02-b").equalCount()).isEqualTo(1);
    assertThat(ReconcileReport.render(result))
        .contains("tenant t01-a: 3 windows compared, 3 equal, 0 differing")
        .contains("tenant t02-b: 1 windows compared, 1 equal, 0 differing")
        .contains("reconcile: CLEAN: 4 windows of 2 tenant(s) compared, all equal");
  }

  @Test
  void aChangedValueIsReportedWithMetricDimensionsWindowAndBothValues() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0, 1);
    List<ReconcileRow> shadow = new ArrayList<>(windows("t01-a", AFTER, 0));
    shadow.add(row("t01-a", 1, "page_view_count", "{\"page\":\"/a\"}", "3", 3, AFTER));
    shadow.add(row("t01-a", 1, "page_view_duration_ms", "{\"page\":\"/a\"}", "900", 3, AFTER));
    shadow.add(row("t01-a", 1, "page_view_count", "{\"page\":\"/b\"}", "1", 1, AFTER));
    shadow.add(row("t01-a", 1, "page_view_duration_ms", "{\"page\":\"/b\"}", "80", 1, AFTER));
    shadow.add(row("t01-a", 1, "order_amount_max", "{\"status\":\"paid\"}", null, 0, AFTER));

    Result result = compare(live, shadow);

    assertThat(result.clean()).isFalse();
    TenantResult a = tenant(result, "t01-a");
    assertThat(a.compared()).hasSize(2);
    assertThat(a.differing()).extracting(WindowResult::start).containsExactly(window(1));
    WindowResult w = a.differing().get(0);
    assertThat(w.metrics())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.metric()).isEqualTo("page_view_duration_ms (page_views)");
              assertThat(m.live().value()).isEqualByComparingTo("1280");
              assertThat(m.shadow().value()).isEqualByComparingTo("980");
              assertThat(m.live().rowCount()).isEqualTo(m.shadow().rowCount()).isEqualTo(4);
            });
    assertThat(w.live().checksum()).isNotEqualTo(w.shadow().checksum());
    assertThat(ReconcileReport.render(result))
        .contains("tenant t01-a: 2 windows compared, 1 equal, 1 differing")
        .contains("window 2026-11-25T10:01:00Z: live 5 rows checksum ")
        .contains(
            "metric page_view_duration_ms (page_views): sum of value live 1280, shadow 980;"
                + " sum of row_count live 4, shadow 4")
        .contains(
            "row page_views page_view_duration_ms {\"page\":\"/a\"}: live value 1200 row_count 3"
                + " window_end 2026-11-25T10:02:00Z, shadow value 900 row_count 3")
        .contains("reconcile: MISMATCH: 1 of 2 windows differ (t01-a: 1)");
  }

  @Test
  void aRowCountOrAnExtraRowIsADifferenceEvenWhenTheSumsAgree() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0);
    List<ReconcileRow> shadow = new ArrayList<>(windows("t01-a", AFTER, 0));
    shadow.add(row("t01-a", 0, "page_view_duration_ms", "{\"page\":\"/c\"}", "0", 0, AFTER));

    WindowResult w = tenant(compare(live, shadow), "t01-a").differing().get(0);

    assertThat(w.metrics()).isEmpty();
    assertThat(w.rows()).singleElement().satisfies(r -> assertThat(r.live()).isNull());
    assertThat(ReconcileReport.render(compare(live, shadow)))
        .contains("row page_views page_view_duration_ms {\"page\":\"/c\"}: live (no row), shadow");
  }

  @Test
  void theChecksumIsTheReceiptsAndIgnoresOrderScaleAndExportTime() {
    Window a = new Window(window(0), windowRows("t01-a", 0, BEFORE));
    Window b = new Window(window(0), reversed(windowRows("t01-a", 0, AFTER)));
    List<ReconcileRow> changed = new ArrayList<>(windowRows("t01-a", 0, BEFORE));
    changed.set(0, row("t01-a", 0, "page_view_count", "{\"page\":\"/a\"}", "3", 4, BEFORE));

    assertThat(a.checksum()).hasSize(32).isEqualTo(b.checksum());
    assertThat(new Window(window(0), changed).checksum()).isNotEqualTo(a.checksum());
  }

  @Test
  void aWindowMissingBeforeTheOtherSidesLatestIsAMismatchWhenEverItWasExported() {
    List<ReconcileRow> live = windows("t01-a", AFTER, 0, 1, 2);
    List<ReconcileRow> shadow = windows("t01-a", AFTER, 0, 2);

    Result result = compare(live, shadow);

    TenantResult a = tenant(result, "t01-a");
    assertThat(a.differing())
        .singleElement()
        .satisfies(
            w -> {
              assertThat(w.start()).isEqualTo(window(1));
              assertThat(w.onlyIn()).isEqualTo(Side.LIVE);
            });
    assertThat(ReconcileReport.render(result))
        .contains(
            "window 2026-11-25T10:01:00Z: only in live (5 rows, exported "
                + AFTER
                + "), missing in shadow");
  }

  @Test
  void aLaterWindowExportedBeforeReconcileStartedMustBeOnTheOtherSide() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0, 1);
    List<ReconcileRow> shadow = windows("t01-a", AFTER, 0);

    Result result = compare(live, shadow);

    assertThat(result.clean()).isFalse();
    assertThat(tenant(result, "t01-a").differing())
        .extracting(WindowResult::start)
        .containsExactly(window(1));
  }

  @Test
  void aLaterWindowClosedByNewerInputIsListedButNotCompared() {
    List<ReconcileRow> live = new ArrayList<>(windows("t01-a", BEFORE, 0));
    live.addAll(windows("t01-a", AFTER, 1, 2));
    List<ReconcileRow> shadow = windows("t01-a", AFTER, 0);

    Result result = compare(live, shadow);

    assertThat(result.clean()).isTrue();
    TenantResult a = tenant(result, "t01-a");
    assertThat(a.compared()).hasSize(1);
    assertThat(a.notCompared())
        .extracting(WindowResult::start)
        .containsExactly(window(1), window(2));
    assertThat(ReconcileReport.render(result))
        .contains(
            "not compared: 2 later window(s) only in live, closed by input newer than this"
                + " reconcile (first 2026-11-25T10:01:00Z)");
  }

  @Test
  void aTenantTheShadowNeverExportedFailsOnEveryWindowExportedBeforeTheStart() {
    List<ReconcileRow> live = windows("t02-b", BEFORE, 0, 1);

    Result result = compare(live, windows("t01-a", AFTER, 0));

    assertThat(tenant(result, "t02-b").differing()).hasSize(2);
    assertThat(result.differing()).isEqualTo(2);
    assertThat(tenant(result, "t01-a").notCompared()).hasSize(1);
  }

  @Test
  void aWindowOnlyInTheShadowBeforeTheHorizonIsAMismatchToo() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0, 2);
    List<ReconcileRow> shadow = windows("t01-a", AFTER, 0, 1, 2);

    TenantResult a = tenant(compare(live, shadow), "t01-a");

    assertThat(a.differing())
        .singleElement()
        .satisfies(w -> assertThat(w.onlyIn()).isEqualTo(Side.SHADOW));
  }

  @Test
  void rowsOfTenantsNotAskedForAreIgnored() {
    List<ReconcileRow> live = windows("t01-a", BEFORE, 0);
    live.addAll(windows("t09-other", BEFORE, 0, 1));

    Result result =
        ReconcileComparison.compare(List.of("t01-a"), live, windows("t01-a", AFTER, 0), STARTED);

    assertThat(result.tenants()).extracting(TenantResult::tenant).containsExactly("t01-a");
    assertThat(result.clean()).isTrue();
  }
}
