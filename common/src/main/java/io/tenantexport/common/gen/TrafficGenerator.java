package io.tenantexport.common.gen;

import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.gen.Envelope.JsonWritable;
import io.tenantexport.common.gen.Envelope.MySqlSource;
import io.tenantexport.common.gen.Envelope.PgSource;
import io.tenantexport.common.gen.Envelope.TxBlock;
import io.tenantexport.common.gen.Rows.Invoice;
import io.tenantexport.common.gen.Rows.Order;
import io.tenantexport.common.gen.Rows.PageView;
import io.tenantexport.common.tenant.TenantId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A deterministic, unbounded stream of realistic Debezium CDC records for the three tables of the
 * export spec, each with the {@link Truth} of what the job must do with it.
 *
 * <p>Traffic: an initial PostgreSQL snapshot of {@code orders} (op r), then page views (PostgreSQL,
 * append-only), orders (PostgreSQL, inserts, updates, deletes) and invoices (MySQL, inserts,
 * updates, deletes) from Zipf-skewed tenants, with exactly what a real pipeline adds: updates
 * without a before image and deletes carrying only the key (PostgreSQL default replica identity;
 * with a schema, as Kafka Connect's JsonConverter writes them, every other column of the struct is
 * an explicit null), several changes sharing one LSN, concurrent PostgreSQL transactions
 * interleaved in the WAL, multi-row binlog events, tombstones, duplicated and replayed records,
 * deliberately late page views, and malformed records of every kind in {@link #MALFORMED_REASONS}.
 * Envelopes carry undeclared columns ({@code user_email}, {@code ip}, {@code customer_name}, {@code
 * billing_address}) that must never leave the job; truths never contain them.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>The same {@link Config} gives the same records, byte for byte, on any JVM (one seeded
 *       {@link SplittableRandom}, {@link StrictMath}, no hash-order iteration).
 *   <li>Event time advances from {@link Config#start()} by exponential gaps of mean {@link
 *       Config#meanGap()}; a record's Kafka timestamp is its {@code source.ts_ms} (the current
 *       event time for malformed records). To pace a live run, send each record once the wall clock
 *       reaches its timestamp (duplicates carry their original, older timestamp and are due at
 *       once).
 *   <li>PostgreSQL transactions are delivered in commit order, and their commit LSNs grow strictly
 *       in that order. A change's {@code source.lsn} is its WAL position, shared by the changes of
 *       one transaction and unique to it; it grows with commit order too, except for {@link
 *       Config#interleaveShare()} of the commits: a concurrent transaction that wrote (and got its
 *       {@code txId}) before the previously delivered transaction's changes but committed after it,
 *       so its LSN is lower than theirs. {@code source.sequence} is {@code ["<commit LSN of the
 *       previously delivered transaction>","<lsn>"]} ({@code [null,"<lsn>"]} for snapshot rows,
 *       which all share the snapshot's LSN), so that pair never decreases in delivery order and
 *       grows strictly from transaction to transaction. MySQL binlog positions grow from event to
 *       event; rows of one event share it and count up in {@code row}.
 *   <li>Only the most recent rows of each tenant stay mutable ({@link
 *       Config#maxLiveRowsPerTenant()}, dropped after {@link Config#rowIdleLimit()} without a
 *       change), and only the last {@value #RECENT} valid records can be replayed, so memory is
 *       bounded however long the stream runs.
 *   <li>Not thread-safe: one generator per producing thread.
 * </ul>
 */
public final class TrafficGenerator implements Iterator<GeneratedRecord> {
  public static final String PAGE_VIEWS_TOPIC = Table.PAGE_VIEWS.topic();
  public static final String ORDERS_TOPIC = Table.ORDERS.topic();
  public static final String INVOICES_TOPIC = Table.INVOICES.topic();

  /** Every quarantine reason the generator produces; each appears within a few thousand records. */
  public static final Set<QuarantineReason> MALFORMED_REASONS =
      Collections.unmodifiableSet(
          EnumSet.of(
              QuarantineReason.UNDECODABLE_JSON,
              QuarantineReason.INVALID_ENVELOPE,
              QuarantineReason.UNKNOWN_OP,
              QuarantineReason.UNKNOWN_TABLE,
              QuarantineReason.INVALID_TENANT_ID,
              QuarantineReason.MISSING_TENANT,
              QuarantineReason.TENANT_MISMATCH,
              QuarantineReason.MUTATION_ON_APPEND_ONLY,
              QuarantineReason.MISSING_ROW_KEY,
              QuarantineReason.UNDECODABLE_COLUMN));

  /**
   * Tenant ids sent in plain keys (and the row's {@code tenant_id}) by {@code INVALID_TENANT_ID}
   * records: path traversal, a path separator, SQL injection, a Cyrillic look-alike of {@code
   * t00-acme}, empty, and 300 otherwise valid characters.
   */
  public static final List<String> HOSTILE_TENANT_IDS =
      List.of(
          "../other",
          "a/b",
          "x'; drop table t;--",
          "t00-\u0430cme",
          "",
          "t00-acme-" + "x".repeat(291));

  /** Capacity of the replay buffer of recent valid records. */
  static final int RECENT = 256;

  private static final String[] TENANT_NAMES = {
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
    "vandelay",
    "dunder",
    "oscorp",
    "massive",
    "gringotts",
    "monarch",
    "nakatomi",
    "pied-piper",
    "prestige",
    "sirius",
    "virtucon",
    "zorg"
  };
  private static final QuarantineReason[] MALFORMED =
      MALFORMED_REASONS.toArray(new QuarantineReason[0]);
  private static final String[] GARBAGE_BASE64 = {"%%not-base64%%", "12,50€", "@@@@", "AB$C"};
  private static final String[] BOGUS_OPS = {"x", "insert", "upsert"};
  private static final String GTID_SOURCE = "c9a3f5e2-8b1d-11ee-9f3a-0242ac120003";
  private static final long NONE = Long.MIN_VALUE;

  /** WAL bytes a commit record takes. */
  private static final int COMMIT_RECORD_BYTES = 32;

  /**
   * Every knob of the traffic. Shares and rates are probabilities in [0, 1].
   *
   * @param seed the random seed: same config, same bytes
   * @param tenants number of tenants (ids {@code t00-acme}, {@code t01-globex}, …)
   * @param start event time of the first streamed change; the snapshot lies just before it
   * @param meanGap mean event-time gap between successive steps (a step is one change, statement or
   *     fault)
   * @param zipfExponent skew: tenant of rank k gets weight k^-exponent (1.2 gives the top tenant
   *     ~34 %)
   * @param quietTenants how many of the last-ranked tenants get only 5 % of their Zipf weight
   * @param pageViewShare share of changes to page_views
   * @param orderShare share of changes to orders; invoices get the rest
   * @param duplicateRate per step: re-send one recent valid record
   * @param replayRate per step: re-send a slice of up to {@code maxReplay} most recent valid
   *     records
   * @param maxReplay longest replayed slice, at most {@value #RECENT}
   * @param malformedRate per step: a malformed record
   * @param lateRate per step: a page view {@code lateBy} behind its tenant
   * @param lateBy how far behind a late page view is
   * @param schemaShare share of values sent with the {@code {"schema","payload"}} wrapper
   * @param jsonKeyShare share of tenant keys sent as {@code {"tenant_id":…}} (half of them
   *     schema-wrapped)
   * @param batchShare share of PostgreSQL commits with two changes sharing an LSN, and of MySQL
   *     inserts written as one multi-row event
   * @param interleaveShare share of PostgreSQL commits of a transaction that ran concurrently with
   *     the previously delivered one: it wrote first (lower LSN, lower {@code txId}) and committed
   *     second. The commit right after the snapshot or after an interleaved one is never
   *     interleaved, so the realized share is a little lower (about 9 % for 0.1)
   * @param noBeforeImageShare share of orders updates without a before image (default replica
   *     identity)
   * @param keyOnlyDeleteShare share of orders deletes whose before image holds only {@code id}
   *     (and, when schema-wrapped, explicit nulls for every other column) and whose key names no
   *     tenant (default replica identity)
   * @param tombstoneRate share of deletes followed by a tombstone
   * @param snapshotOrders rows in the initial orders snapshot
   * @param snapshotSpan the snapshot rows' {@code updated_at} spread over this span before {@code
   *     start}; keep it below the spec's allowed lateness so that they are never late
   * @param maxLiveRowsPerTenant per tenant and mutable table, how many rows may still be changed
   * @param rowIdleLimit a row unchanged for longer is never changed again (keep it below the spec's
   *     retention, so that the job still knows every row the generator changes)
   * @param invoiceEditWindow invoices are only updated this soon after being issued: their event
   *     time is {@code issued_at}, so a later update would be late for the tenant's clock
   * @param piiMarker null, or 4 to 32 letters and digits that every personal-data value ({@code
   *     user_email}, {@code ip}, {@code customer_name}, {@code billing_address}) then starts with,
   *     followed by a serial number: canary data whose absence from every output a test can scan
   *     for
   */
  public record Config(
      long seed,
      int tenants,
      Instant start,
      Duration meanGap,
      double zipfExponent,
      int quietTenants,
      double pageViewShare,
      double orderShare,
      double duplicateRate,
      double replayRate,
      int maxReplay,
      double malformedRate,
      double lateRate,
      Duration lateBy,
      double schemaShare,
      double jsonKeyShare,
      double batchShare,
      double interleaveShare,
      double noBeforeImageShare,
      double keyOnlyDeleteShare,
      double tombstoneRate,
      int snapshotOrders,
      Duration snapshotSpan,
      int maxLiveRowsPerTenant,
      Duration rowIdleLimit,
      Duration invoiceEditWindow,
      String piiMarker) {

    public Config {
      Objects.requireNonNull(start, "start");
      require(tenants >= 1 && tenants <= 1000, "tenants must be in [1, 1000]", tenants);
      require(
          quietTenants >= 0 && quietTenants < tenants,
          "quietTenants must be in [0, tenants)",
          quietTenants);
      require(
          positive(meanGap) && meanGap.toNanos() >= 1000,
          "meanGap must be at least 1 microsecond",
          meanGap);
      require(
          zipfExponent >= 0 && zipfExponent <= 5, "zipfExponent must be in [0, 5]", zipfExponent);
      for (double share :
          new double[] {
            pageViewShare,
            orderShare,
            duplicateRate,
            replayRate,
            malformedRate,
            lateRate,
            schemaShare,
            jsonKeyShare,
            batchShare,
            interleaveShare,
            noBeforeImageShare,
            keyOnlyDeleteShare,
            tombstoneRate
          }) {
        require(share >= 0 && share <= 1, "shares and rates must be in [0, 1]", share);
      }
      require(
          pageViewShare + orderShare <= 1,
          "pageViewShare + orderShare must be at most 1",
          pageViewShare + orderShare);
      double faults = duplicateRate + replayRate + malformedRate + lateRate;
      require(
          faults <= 0.5,
          "duplicateRate + replayRate + malformedRate + lateRate must be at most 0.5",
          faults);
      require(
          maxReplay >= 1 && maxReplay <= RECENT,
          "maxReplay must be in [1, " + RECENT + "]",
          maxReplay);
      require(positive(lateBy), "lateBy must be positive", lateBy);
      require(snapshotOrders >= 0, "snapshotOrders must not be negative", snapshotOrders);
      require(!snapshotSpan.isNegative(), "snapshotSpan must not be negative", snapshotSpan);
      require(
          maxLiveRowsPerTenant >= 1, "maxLiveRowsPerTenant must be positive", maxLiveRowsPerTenant);
      require(positive(rowIdleLimit), "rowIdleLimit must be positive", rowIdleLimit);
      require(
          !invoiceEditWindow.isNegative(),
          "invoiceEditWindow must not be negative",
          invoiceEditWindow);
      require(
          piiMarker == null || piiMarker.matches("[A-Za-z0-9]{4,32}"),
          "piiMarker must be null or 4 to 32 letters and digits",
          piiMarker);
    }

    /**
     * Defaults: seed 42, 24 tenants, a step every 20 ms on average (about 50 records/s), 3 %
     * duplicates, 1.5 % malformed, 0.3 % late page views 2 h behind, half the values
     * schema-wrapped, an interleave share of 0.1 for PostgreSQL commits.
     */
    public static Config defaults(Instant start) {
      return builder(start).build();
    }

    /** A builder holding the {@link #defaults(Instant) defaults}, to change some knobs of. */
    public static Builder builder(Instant start) {
      return new Builder().start(start);
    }

    /** A builder holding this config's knobs, to derive another config from it. */
    public Builder toBuilder() {
      return new Builder(this);
    }

    /**
     * A mutable set of knobs, one setter per {@link Config} component. Setters check nothing;
     * {@link #build()} validates through the canonical constructor. Setting {@code duplicateRate},
     * {@code replayRate}, {@code malformedRate} and {@code lateRate} to 0 gives only valid changes.
     */
    public static final class Builder {
      private long seed = 42L;
      private int tenants = 24;
      private Instant start;
      private Duration meanGap = Duration.ofMillis(20);
      private double zipfExponent = 1.2;
      private int quietTenants = 2;
      private double pageViewShare = 0.6;
      private double orderShare = 0.25;
      private double duplicateRate = 0.03;
      private double replayRate = 0.0005;
      private int maxReplay = 50;
      private double malformedRate = 0.015;
      private double lateRate = 0.003;
      private Duration lateBy = Duration.ofHours(2);
      private double schemaShare = 0.5;
      private double jsonKeyShare = 0.15;
      private double batchShare = 0.08;
      private double interleaveShare = 0.1;
      private double noBeforeImageShare = 0.5;
      private double keyOnlyDeleteShare = 0.5;
      private double tombstoneRate = 0.5;
      private int snapshotOrders = 120;
      private Duration snapshotSpan = Duration.ofSeconds(90);
      private int maxLiveRowsPerTenant = 256;
      private Duration rowIdleLimit = Duration.ofDays(1);
      private Duration invoiceEditWindow = Duration.ofSeconds(60);
      private String piiMarker;

      private Builder() {}

      private Builder(Config c) {
        seed = c.seed;
        tenants = c.tenants;
        start = c.start;
        meanGap = c.meanGap;
        zipfExponent = c.zipfExponent;
        quietTenants = c.quietTenants;
        pageViewShare = c.pageViewShare;
        orderShare = c.orderShare;
        duplicateRate = c.duplicateRate;
        replayRate = c.replayRate;
        maxReplay = c.maxReplay;
        malformedRate = c.malformedRate;
        lateRate = c.lateRate;
        lateBy = c.lateBy;
        schemaShare = c.schemaShare;
        jsonKeyShare = c.jsonKeyShare;
        batchShare = c.batchShare;
        interleaveShare = c.interleaveShare;
        noBeforeImageShare = c.noBeforeImageShare;
        keyOnlyDeleteShare = c.keyOnlyDeleteShare;
        tombstoneRate = c.tombstoneRate;
        snapshotOrders = c.snapshotOrders;
        snapshotSpan = c.snapshotSpan;
        maxLiveRowsPerTenant = c.maxLiveRowsPerTenant;
        rowIdleLimit = c.rowIdleLimit;
        invoiceEditWindow = c.invoiceEditWindow;
        piiMarker = c.piiMarker;
      }

      public Builder seed(long seed) {
        this.seed = seed;
        return this;
      }

      public Builder tenants(int tenants) {
        this.tenants = tenants;
        return this;
      }

      public Builder start(Instant start) {
        this.start = start;
        return this;
      }

      public Builder meanGap(Duration meanGap) {
        this.meanGap = meanGap;
        return this;
      }

      public Builder zipfExponent(double zipfExponent) {
        this.zipfExponent = zipfExponent;
        return this;
      }

      public Builder quietTenants(int quietTenants) {
        this.quietTenants = quietTenants;
        return this;
      }

      public Builder pageViewShare(double pageViewShare) {
        this.pageViewShare = pageViewShare;
        return this;
      }

      public Builder orderShare(double orderShare) {
        this.orderShare = orderShare;
        return this;
      }

      public Builder duplicateRate(double duplicateRate) {
        this.duplicateRate = duplicateRate;
        return this;
      }

      public Builder replayRate(double replayRate) {
        this.replayRate = replayRate;
        return this;
      }

      public Builder maxReplay(int maxReplay) {
        this.maxReplay = maxReplay;
        return this;
      }

      public Builder malformedRate(double malformedRate) {
        this.malformedRate = malformedRate;
        return this;
      }

      public Builder lateRate(double lateRate) {
        this.lateRate = lateRate;
        return this;
      }

      public Builder lateBy(Duration lateBy) {
        this.lateBy = lateBy;
        return this;
      }

      public Builder schemaShare(double schemaShare) {
        this.schemaShare = schemaShare;
        return this;
      }

      public Builder jsonKeyShare(double jsonKeyShare) {
        this.jsonKeyShare = jsonKeyShare;
        return this;
      }

      public Builder batchShare(double batchShare) {
        this.batchShare = batchShare;
        return this;
      }

      /** 0 keeps PostgreSQL LSNs in commit order. */
      public Builder interleaveShare(double interleaveShare) {
        this.interleaveShare = interleaveShare;
        return this;
      }

      public Builder noBeforeImageShare(double noBeforeImageShare) {
        this.noBeforeImageShare = noBeforeImageShare;
        return this;
      }

      public Builder keyOnlyDeleteShare(double keyOnlyDeleteShare) {
        this.keyOnlyDeleteShare = keyOnlyDeleteShare;
        return this;
      }

      public Builder tombstoneRate(double tombstoneRate) {
        this.tombstoneRate = tombstoneRate;
        return this;
      }

      public Builder snapshotOrders(int snapshotOrders) {
        this.snapshotOrders = snapshotOrders;
        return this;
      }

      public Builder snapshotSpan(Duration snapshotSpan) {
        this.snapshotSpan = snapshotSpan;
        return this;
      }

      public Builder maxLiveRowsPerTenant(int maxLiveRowsPerTenant) {
        this.maxLiveRowsPerTenant = maxLiveRowsPerTenant;
        return this;
      }

      public Builder rowIdleLimit(Duration rowIdleLimit) {
        this.rowIdleLimit = rowIdleLimit;
        return this;
      }

      public Builder piiMarker(String piiMarker) {
        this.piiMarker = piiMarker;
        return this;
      }

      public Builder invoiceEditWindow(Duration invoiceEditWindow) {
        this.invoiceEditWindow = invoiceEditWindow;
        return this;
      }

      /**
       * The config of these knobs.
       *
       * @throws IllegalArgumentException naming the first rule broken and its value
       * @throws NullPointerException if {@code start} is null
       */
      public Config build() {
        return new Config(
            seed,
            tenants,
            start,
            meanGap,
            zipfExponent,
            quietTenants,
            pageViewShare,
            orderShare,
            duplicateRate,
            replayRate,
            maxReplay,
            malformedRate,
            lateRate,
            lateBy,
            schemaShare,
            jsonKeyShare,
            batchShare,
            interleaveShare,
            noBeforeImageShare,
            keyOnlyDeleteShare,
            tombstoneRate,
            snapshotOrders,
            snapshotSpan,
            maxLiveRowsPerTenant,
            rowIdleLimit,
            invoiceEditWindow,
            piiMarker);
      }
    }

    private static boolean positive(Duration d) {
      return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String rule, Object value) {
      if (!ok) {
        throw new IllegalArgumentException("invalid generator config: " + rule + ", got " + value);
      }
    }
  }

  private final Config cfg;
  private final SplittableRandom rng;
  private final List<String> tenantIds;
  private long nextPiiSerial;
  private final double[] tenantCdf;
  private final long meanGapMicros;
  private final List<Order>[] liveOrders;
  private final List<Invoice>[] liveInvoices;

  /**
   * Per tenant: latest event time of a plain-keyed page view, the reference a late page view lags.
   */
  private final long[] pageViewClock;

  private final GeneratedRecord[] recent = new GeneratedRecord[RECENT];
  private final ArrayDeque<GeneratedRecord> pending = new ArrayDeque<>();
  private final JsonBytes out = new JsonBytes();

  private int recentCount;
  private int recentNext;
  private long nowMicros;
  private int snapshotEmitted;
  private PgCommit snapshotCommit;
  private int hostileNext;
  private long nextPageViewId = 880_000_001L;
  private long nextOrderId = 100_001L;
  private long nextInvoiceId = 24_001L;

  /**
   * Commit LSN of the previously delivered PostgreSQL transaction: the first element of the next
   * sequence.
   */
  private long lastCommitLsn = 0x1A2B_3C40L;

  /** Next unwritten WAL position; everything below it is taken or reserved. */
  private long walHead = lastCommitLsn + COMMIT_RECORD_BYTES;

  /**
   * Unused WAL [walHoleStart, walHoleEnd) just before the previous transaction's changes, where a
   * concurrent transaction's changes may lie; empty once taken, after the snapshot, and after an
   * interleaved transaction.
   */
  private long walHoleStart;

  private long walHoleEnd;

  /**
   * Highest transaction id assigned; the id just below the previous transaction's is left unused.
   */
  private long pgTxId = 7_412_000L;

  private long binlogPos = 4_096L;
  private long gtidSeq = 1_000L;

  /**
   * One PostgreSQL transaction: its changes share the LSN and the commit time; {@code
   * previousCommitLsn} is the commit LSN of the transaction delivered before it (its {@code
   * sequence}'s first element).
   */
  private record PgCommit(long txId, long lsn, long previousCommitLsn, long tsMs) {}

  /** One MySQL binlog event (a statement's row event); its rows share position, GTID and time. */
  private record BinlogEvent(long pos, String gtid, long thread, long tsMs) {}

  @SuppressWarnings("unchecked")
  public TrafficGenerator(Config config) {
    this.cfg = Objects.requireNonNull(config, "config");
    this.rng = new SplittableRandom(config.seed());
    List<String> ids = new ArrayList<>(config.tenants());
    for (int i = 0; i < config.tenants(); i++) {
      String name = TENANT_NAMES[i % TENANT_NAMES.length];
      String id =
          String.format(
              Locale.ROOT,
              "t%02d-%s",
              i,
              i < TENANT_NAMES.length ? name : name + "-" + (i / TENANT_NAMES.length));
      TenantId.of(id, "generated tenant list");
      ids.add(id);
    }
    this.tenantIds = Collections.unmodifiableList(ids);
    this.tenantCdf = zipfCdf(config.tenants(), config.zipfExponent(), config.quietTenants());
    this.meanGapMicros = Math.max(1, config.meanGap().toNanos() / 1000);
    this.liveOrders = new List[config.tenants()];
    this.liveInvoices = new List[config.tenants()];
    for (int i = 0; i < config.tenants(); i++) {
      liveOrders[i] = new ArrayList<>();
      liveInvoices[i] = new ArrayList<>();
    }
    this.pageViewClock = new long[config.tenants()];
    Arrays.fill(pageViewClock, NONE);
    this.nowMicros =
        Math.multiplyExact(config.start().getEpochSecond(), 1_000_000L)
            + config.start().getNano() / 1000;
  }

  /** The three topics, in the order page_views, orders, invoices. */
  public static List<String> topics() {
    return List.of(PAGE_VIEWS_TOPIC, ORDERS_TOPIC, INVOICES_TOPIC);
  }

  /** The tenant ids, busiest first; every one matches {@link TenantId#PATTERN}. */
  public List<String> tenantIds() {
    return tenantIds;
  }

  public Config config() {
    return cfg;
  }

  /** Always true: the stream is unbounded. */
  @Override
  public boolean hasNext() {
    return true;
  }

  @Override
  public GeneratedRecord next() {
    while (pending.isEmpty()) {
      step();
    }
    return pending.poll();
  }

  /** The next {@code n} records. */
  public List<GeneratedRecord> take(int n) {
    List<GeneratedRecord> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(next());
    }
    return out;
  }

  /** Rows that may still be updated or deleted: the generator's only per-row state. */
  int liveRowCount() {
    int n = 0;
    for (int i = 0; i < liveOrders.length; i++) {
      n += liveOrders[i].size() + liveInvoices[i].size();
    }
    return n;
  }

  // ---- one step: a snapshot row, a fault, or a change
  // -------------------------------------------------

  private void step() {
    if (snapshotEmitted < cfg.snapshotOrders()) {
      snapshotRow();
      return;
    }
    // One draw decides the kind of step, so that each fault rate is exactly its share of the steps.
    double u = rng.nextDouble();
    double replayEnd = cfg.replayRate();
    double duplicateEnd = replayEnd + cfg.duplicateRate();
    double malformedEnd = duplicateEnd + cfg.malformedRate();
    double lateEnd = malformedEnd + cfg.lateRate();
    if (u < replayEnd && replaySlice()) {
      return;
    }
    if (u >= replayEnd && u < duplicateEnd && duplicateOne()) {
      return;
    }
    advanceClock();
    if (u >= duplicateEnd && u < malformedEnd) {
      malformed(pickTenant());
      return;
    }
    int tenant = pickTenant();
    if (u >= malformedEnd && u < lateEnd && latePageView(tenant)) {
      return;
    }
    double table = rng.nextDouble();
    if (table < cfg.pageViewShare()) {
      pageViews(tenant);
    } else if (table < cfg.pageViewShare() + cfg.orderShare()) {
      orders(tenant);
    } else {
      invoices(tenant);
    }
  }

  private void advanceClock() {
    // Exponential gaps (a Poisson process); StrictMath keeps the bytes identical on every JVM.
    nowMicros += (long) (-meanGapMicros * StrictMath.log(1.0 - rng.nextDouble()));
  }

  private long nowMillis() {
    return Math.floorDiv(nowMicros, 1000L);
  }

  private int pickTenant() {
    double u = rng.nextDouble();
    int lo = 0;
    int hi = tenantCdf.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (tenantCdf[mid] > u) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  private static double[] zipfCdf(int n, double exponent, int quiet) {
    double[] w = new double[n];
    double sum = 0;
    for (int k = 0; k < n; k++) {
      w[k] = StrictMath.pow(k + 1, -exponent) * (k >= n - quiet ? 0.05 : 1.0);
      sum += w[k];
    }
    double[] cdf = new double[n];
    double acc = 0;
    for (int k = 0; k < n; k++) {
      acc += w[k];
      cdf[k] = acc / sum;
    }
    cdf[n - 1] = 1.0;
    return cdf;
  }

  // ---- snapshot
  // -----------------------------------------------------------------------------------------

  /**
   * One row of the initial orders snapshot: all rows share the snapshot's LSN and {@code ts_ms}
   * (the start), the last one is marked {@code "last"}; their {@code updated_at} rises with the row
   * id across {@code snapshotSpan} before the start, so no tenant's snapshot rows are late for each
   * other.
   */
  private void snapshotRow() {
    if (snapshotCommit == null) {
      snapshotCommit = snapshotPosition();
    }
    int i = snapshotEmitted++;
    int tenant = pickTenant();
    long span = cfg.snapshotSpan().toNanos() / 1000;
    long updatedAt = nowMicros - span + (long) ((double) span * i / cfg.snapshotOrders());
    String[] statuses = {"created", "paid", "shipped", "cancelled"};
    String status = statuses[rng.nextInt(statuses.length)];
    Order row = newOrder(tenantIds.get(tenant), status, Math.min(updatedAt, nowMicros - 1));
    String snapshot = i == cfg.snapshotOrders() - 1 ? "last" : "true";
    PgSource source =
        new PgSource(
            Table.ORDERS.name,
            snapshotCommit.tsMs(),
            snapshot,
            snapshotCommit.txId(),
            snapshotCommit.lsn(),
            snapshotCommit.previousCommitLsn());
    byte[] value =
        value(Table.ORDERS, null, row, "r", source, snapshotCommit.tsMs() + 1 + i / 50, null);
    valid(
        Table.ORDERS,
        tenantKey(Table.ORDERS, row.tenantId),
        value,
        snapshotCommit.tsMs(),
        row.tenantId,
        "r",
        row.eventTimeMillis(),
        null,
        row.canonical(),
        pgIdentity(Table.ORDERS, snapshotCommit, row.id),
        false);
    addLive(liveOrders[tenant], row);
  }

  // ---- page_views
  // -------------------------------------------------------------------------------------

  private void pageViews(int tenant) {
    PgCommit commit = pgCommit();
    if (rng.nextDouble() < cfg.batchShare()) {
      // Two inserts of one tenant in one transaction: same LSN, ordered only by transaction
      // metadata,
      // which the connector provides for some transactions and not for others.
      boolean withTx = rng.nextBoolean();
      pageView(tenant, commit, withTx ? txBlock(commit, 1) : null);
      pageView(tenant, commit, withTx ? txBlock(commit, 2) : null);
    } else {
      pageView(tenant, commit, null);
    }
  }

  private void pageView(int tenant, PgCommit commit, TxBlock tx) {
    // The application stamps viewed_at a little before the commit.
    PageView pv = newPageView(tenantIds.get(tenant), nowMicros - rng.nextLong(50_000));
    boolean plainKey = rng.nextDouble() >= cfg.jsonKeyShare();
    byte[] key =
        plainKey ? Envelope.plainKey(pv.tenantId) : jsonTenantKey(Table.PAGE_VIEWS, pv.tenantId);
    byte[] value = pgValue(Table.PAGE_VIEWS, null, pv, "c", commit, tx);
    valid(
        Table.PAGE_VIEWS,
        key,
        value,
        commit.tsMs(),
        pv.tenantId,
        "c",
        pv.eventTimeMillis(),
        null,
        pv.canonical(),
        pgIdentity(Table.PAGE_VIEWS, commit, pv.id),
        false);
    if (plainKey) {
      pageViewClock[tenant] = Math.max(pageViewClock[tenant], pv.eventTimeMillis());
    }
  }

  /**
   * A page view uploaded late (say, from a phone that was offline): its {@code viewed_at} lies
   * {@code lateBy} (plus up to a minute) behind the tenant's latest plain-keyed page view, and it
   * carries the same plain key, so it lands after that view in the same partition and the tenant's
   * clock has passed it.
   */
  private boolean latePageView(int tenant) {
    long reference = pageViewClock[tenant];
    if (reference == NONE) {
      return false;
    }
    long eventMs = reference - cfg.lateBy().toMillis() - rng.nextLong(60_000);
    PageView pv = newPageView(tenantIds.get(tenant), eventMs * 1000 + rng.nextInt(1000));
    PgCommit commit = pgCommit();
    byte[] value = pgValue(Table.PAGE_VIEWS, null, pv, "c", commit, null);
    valid(
        Table.PAGE_VIEWS,
        Envelope.plainKey(pv.tenantId),
        value,
        commit.tsMs(),
        pv.tenantId,
        "c",
        pv.eventTimeMillis(),
        null,
        pv.canonical(),
        pgIdentity(Table.PAGE_VIEWS, commit, pv.id),
        true);
    return true;
  }

  private PageView newPageView(String tenantId, long viewedAtMicros) {
    return new PageView(
        tenantId,
        nextPageViewId++,
        viewedAtMicros,
        FakeData.page(rng),
        FakeData.viewDurationMs(rng),
        pii(FakeData.email(rng)),
        pii(FakeData.ip(rng)));
  }

  // ---- orders
  // -------------------------------------------------------------------------------------------

  private void orders(int tenant) {
    PgCommit commit = pgCommit();
    if (rng.nextDouble() < cfg.batchShare()) {
      // A new order and a change to another of the tenant's orders, committed together (same LSN).
      boolean withTx = rng.nextBoolean();
      Order created = insertOrder(tenant, commit, withTx ? txBlock(commit, 1) : null);
      orderChange(tenant, commit, withTx ? txBlock(commit, 2) : null, created);
    } else {
      orderChange(tenant, commit, null, null);
    }
  }

  /** Inserts (40 %), updates (45 %) or deletes (15 %) an order other than {@code untouchable}. */
  private void orderChange(int tenant, PgCommit commit, TxBlock tx, Order untouchable) {
    double u = rng.nextDouble();
    List<Order> live = liveOrders[tenant];
    int i = u < 0.40 ? -1 : pickLive(live, commit.tsMs(), untouchable);
    if (i < 0) {
      insertOrder(tenant, commit, tx);
    } else if (u < 0.85) {
      updateOrder(tenant, i, commit, tx);
    } else {
      deleteOrder(tenant, i, commit, tx);
    }
  }

  private Order insertOrder(int tenant, PgCommit commit, TxBlock tx) {
    Order row = newOrder(tenantIds.get(tenant), "created", nowMicros - rng.nextLong(5_000));
    byte[] value = pgValue(Table.ORDERS, null, row, "c", commit, tx);
    valid(
        Table.ORDERS,
        tenantKey(Table.ORDERS, row.tenantId),
        value,
        commit.tsMs(),
        row.tenantId,
        "c",
        row.eventTimeMillis(),
        null,
        row.canonical(),
        pgIdentity(Table.ORDERS, commit, row.id),
        false);
    addLive(liveOrders[tenant], row);
    return row;
  }

  private void updateOrder(int tenant, int i, PgCommit commit, TxBlock tx) {
    Order old = liveOrders[tenant].get(i);
    String status = old.status;
    long amount = old.amountUnscaled;
    switch (old.status) {
      case "created":
        status = rng.nextInt(10) < 7 ? "paid" : "cancelled";
        if (rng.nextInt(5) == 0) {
          amount += 100L * (1 + rng.nextInt(50));
        }
        break;
      case "paid":
        status = rng.nextInt(10) < 8 ? "shipped" : "cancelled";
        break;
      default:
        // Shipped and cancelled orders only see amount corrections (partial refunds).
        amount = amount * (50 + rng.nextInt(46)) / 100;
    }
    long updatedAt = Math.max(old.updatedAtMicros + 1, nowMicros - rng.nextLong(5_000));
    Order row = old.changed(status, amount, updatedAt);
    liveOrders[tenant].set(i, row);
    // Default replica identity sends no before image for an update; the job must recall it.
    JsonWritable before = rng.nextDouble() < cfg.noBeforeImageShare() ? null : old;
    byte[] value = pgValue(Table.ORDERS, before, row, "u", commit, tx);
    valid(
        Table.ORDERS,
        tenantKey(Table.ORDERS, row.tenantId),
        value,
        commit.tsMs(),
        row.tenantId,
        "u",
        row.eventTimeMillis(),
        old.canonical(),
        row.canonical(),
        pgIdentity(Table.ORDERS, commit, row.id),
        false);
  }

  private void deleteOrder(int tenant, int i, PgCommit commit, TxBlock tx) {
    Order old = liveOrders[tenant].remove(i);
    boolean wrapped = rng.nextDouble() < cfg.schemaShare();
    byte[] key;
    JsonWritable before;
    if (rng.nextDouble() < cfg.keyOnlyDeleteShare()) {
      // Default replica identity: the before image holds the key only, and the key names no tenant.
      // With a
      // schema, JsonConverter writes every field of the before struct: the others as explicit
      // nulls.
      before = old.keyOnly(wrapped);
      key =
          rng.nextBoolean()
              ? Envelope.tenantKey(out, Table.ORDERS, null, rng.nextBoolean())
              : Envelope.rowKey(out, Table.ORDERS, old.id, rng.nextBoolean());
    } else {
      before = old;
      key = tenantKey(Table.ORDERS, old.tenantId);
    }
    byte[] value =
        Envelope.value(
                out,
                Table.ORDERS,
                wrapped,
                before,
                null,
                "d",
                pgSource(Table.ORDERS, commit),
                processedAt(commit.tsMs()),
                tx)
            .toByteArray();
    valid(
        Table.ORDERS,
        key,
        value,
        commit.tsMs(),
        old.tenantId,
        "d",
        commit.tsMs(),
        old.canonical(),
        null,
        pgIdentity(Table.ORDERS, commit, old.id),
        false);
    maybeTombstone(Table.ORDERS, old.tenantId, commit.tsMs());
  }

  private Order newOrder(String tenantId, String status, long updatedAtMicros) {
    long cents;
    if (rng.nextInt(50) == 0) {
      // Credit orders: negative amounts exercise the two's-complement encoding.
      cents = -Math.round(FakeData.logUniform(rng, 1, 200) * 100);
    } else {
      cents = Math.round(FakeData.logUniform(rng, 5, 2_500) * 100);
      if (rng.nextInt(3) == 0) {
        cents -= cents % 100;
      }
    }
    return new Order(
        tenantId, nextOrderId++, status, cents, pii(FakeData.customerName(rng)), updatedAtMicros);
  }

  // ---- invoices
  // -----------------------------------------------------------------------------------------

  /** Inserts (50 %), updates (35 %) or deletes (15 %) invoices of one tenant. */
  private void invoices(int tenant) {
    double u = rng.nextDouble();
    List<Invoice> live = liveInvoices[tenant];
    if (u < 0.50 || live.isEmpty()) {
      insertInvoices(tenant, rng.nextDouble() < cfg.batchShare() ? 2 + rng.nextInt(2) : 1);
    } else if (u < 0.85) {
      int i = pickRecentInvoice(live);
      if (i < 0) {
        insertInvoices(tenant, 1);
      } else {
        updateInvoice(tenant, i);
      }
    } else {
      int i = pickLive(live, nowMillis(), null);
      if (i < 0) {
        insertInvoices(tenant, 1);
      } else {
        deleteInvoice(tenant, i);
      }
    }
  }

  /** One INSERT statement of {@code rows} invoices: one binlog event, rows numbered 0, 1, 2…. */
  private void insertInvoices(int tenant, int rows) {
    BinlogEvent event = binlogEvent();
    long issuedAt = nowMillis();
    for (int r = 0; r < rows; r++) {
      Invoice row = newInvoice(tenant, issuedAt, null);
      byte[] value = mysqlValue(null, row, "c", event, r);
      valid(
          Table.INVOICES,
          tenantKey(Table.INVOICES, row.tenantId),
          value,
          event.tsMs(),
          row.tenantId,
          "c",
          row.eventTimeMillis(),
          null,
          row.canonical(),
          mysqlIdentity(event, r, row.invoiceId),
          false);
      addLive(liveInvoices[tenant], row);
    }
  }

  private void updateInvoice(int tenant, int i) {
    Invoice old = liveInvoices[tenant].get(i);
    long total = old.totalUnscaled;
    int dueOn = old.dueOnDays;
    String metadata = old.metadata;
    switch (rng.nextInt(3)) {
      case 0:
        total += (total / 10) * (rng.nextBoolean() ? 1 : -1) + rng.nextInt(100);
        break;
      case 1:
        dueOn += 14;
        break;
      default:
        metadata = FakeData.invoiceMetadata(rng);
    }
    Invoice row = old.changed(total, dueOn, metadata, nowMillis());
    liveInvoices[tenant].set(i, row);
    BinlogEvent event = binlogEvent();
    // MySQL's binlog always carries the full before image (binlog_row_image=FULL).
    byte[] value = mysqlValue(old, row, "u", event, 0);
    valid(
        Table.INVOICES,
        tenantKey(Table.INVOICES, row.tenantId),
        value,
        event.tsMs(),
        row.tenantId,
        "u",
        row.eventTimeMillis(),
        old.canonical(),
        row.canonical(),
        mysqlIdentity(event, 0, row.invoiceId),
        false);
  }

  private void deleteInvoice(int tenant, int i) {
    Invoice old = liveInvoices[tenant].remove(i);
    BinlogEvent event = binlogEvent();
    byte[] value = mysqlValue(old, null, "d", event, 0);
    valid(
        Table.INVOICES,
        tenantKey(Table.INVOICES, old.tenantId),
        value,
        event.tsMs(),
        old.tenantId,
        "d",
        event.tsMs(),
        old.canonical(),
        null,
        mysqlIdentity(event, 0, old.invoiceId),
        false);
    maybeTombstone(Table.INVOICES, old.tenantId, event.tsMs());
  }

  /**
   * A random invoice issued within the edit window, or -1. The live list is in issue order
   * (appended on insert, replaced in place on update, removed from anywhere), so the recent ones
   * form its tail, found by binary search.
   */
  private int pickRecentInvoice(List<Invoice> live) {
    long since = nowMillis() - cfg.invoiceEditWindow().toMillis();
    int lo = 0;
    int hi = live.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (live.get(mid).issuedAtMillis >= since) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo == live.size() ? -1 : lo + rng.nextInt(live.size() - lo);
  }

  private Invoice newInvoice(int tenant, long issuedAtMillis, String totalBase64Override) {
    double c = rng.nextDouble();
    String currency = c < 0.5 ? "EUR" : c < 0.85 ? "USD" : "GBP";
    // Scale 4: whole cents mostly, sub-cent digits from tax arithmetic on a quarter of them.
    long total = Math.round(FakeData.logUniform(rng, 10, 50_000) * 100) * 100;
    if (rng.nextInt(4) == 0) {
      total += 1 + rng.nextInt(99);
    }
    int[] terms = {14, 30, 30, 45, 60};
    int dueOn =
        (int) (Math.floorDiv(issuedAtMillis, 86_400_000L) + terms[rng.nextInt(terms.length)]);
    return new Invoice(
        tenantIds.get(tenant),
        nextInvoiceId++,
        currency,
        total,
        totalBase64Override != null ? totalBase64Override : Rows.base64Decimal(total),
        issuedAtMillis,
        dueOn,
        FakeData.invoiceMetadata(rng),
        pii(FakeData.billingAddress(rng)),
        issuedAtMillis);
  }

  /** A personal-data value, prefixed with the canary marker and a serial number when configured. */
  private String pii(String value) {
    return cfg.piiMarker() == null ? value : cfg.piiMarker() + (nextPiiSerial++) + " " + value;
  }

  // ---- faults: duplicates, replays, malformed records
  // ---------------------------------------------------

  private boolean duplicateOne() {
    if (recentCount == 0) {
      return false;
    }
    pending.add(
        duplicateOf(recent[Math.floorMod(recentNext - 1 - rng.nextInt(recentCount), RECENT)]));
    return true;
  }

  /**
   * Re-sends the most recent valid records in their original order, as after a producer retry
   * storm.
   */
  private boolean replaySlice() {
    if (recentCount == 0) {
      return false;
    }
    int k = 1 + rng.nextInt(Math.min(cfg.maxReplay(), recentCount));
    for (int j = k; j >= 1; j--) {
      pending.add(duplicateOf(recent[Math.floorMod(recentNext - j, RECENT)]));
    }
    return true;
  }

  private static GeneratedRecord duplicateOf(GeneratedRecord original) {
    Truth.Valid truth = (Truth.Valid) original.truth();
    return new GeneratedRecord(
        original.topic(),
        original.key(),
        original.value(),
        original.timestamp(),
        new Truth.Duplicate(truth.identity()));
  }

  private void malformed(int tenant) {
    String t = tenantIds.get(tenant);
    QuarantineReason reason = MALFORMED[rng.nextInt(MALFORMED.length)];
    switch (reason) {
      case UNDECODABLE_JSON:
        undecodableJson(t);
        break;
      case INVALID_ENVELOPE:
        invalidEnvelope(t);
        break;
      case UNKNOWN_OP:
        {
          // A hand-written producer that spells the op its own way.
          PgCommit commit = pgCommit();
          Order row = newOrder(t, "created", nowMicros);
          byte[] value =
              pgValue(
                  Table.ORDERS, null, row, BOGUS_OPS[rng.nextInt(BOGUS_OPS.length)], commit, null);
          malformed(Table.ORDERS.topic(), Envelope.plainKey(t), value, commit.tsMs(), reason, t);
          break;
        }
      case UNKNOWN_TABLE:
        {
          PgCommit commit = pgCommit();
          long id = rng.nextLong(1, 1_000_000);
          String apiKey = FakeData.apiKey(rng);
          long createdAt = nowMicros;
          JsonWritable secret =
              b ->
                  b.ascii("{\"id\":")
                      .number(id)
                      .ascii(",\"tenant_id\":")
                      .string(t)
                      .ascii(",\"api_key\":")
                      .string(apiKey)
                      .ascii(",\"created_at\":")
                      .number(createdAt)
                      .ascii('}');
          byte[] value = pgValue(Table.SECRETS, null, secret, "c", commit, null);
          malformed(Table.SECRETS.topic(), Envelope.plainKey(t), value, commit.tsMs(), reason, t);
          break;
        }
      case INVALID_TENANT_ID:
        {
          // The same hostile id in the key and the row, so that no check order can see a mismatch
          // first.
          String hostile = HOSTILE_TENANT_IDS.get(hostileNext++ % HOSTILE_TENANT_IDS.size());
          PgCommit commit = pgCommit();
          PageView pv = newPageView(hostile, nowMicros);
          byte[] value = pgValue(Table.PAGE_VIEWS, null, pv, "c", commit, null);
          malformed(
              Table.PAGE_VIEWS.topic(),
              Envelope.plainKey(hostile),
              value,
              commit.tsMs(),
              reason,
              null);
          break;
        }
      case MISSING_TENANT:
        {
          // Without a schema: a schema would declare tenant_id required, and the record would fail
          // that first.
          PgCommit commit = pgCommit();
          PageView pv = newPageView(null, nowMicros);
          byte[] value =
              Envelope.value(
                      out,
                      Table.PAGE_VIEWS,
                      false,
                      null,
                      pv,
                      "c",
                      pgSource(Table.PAGE_VIEWS, commit),
                      processedAt(commit.tsMs()),
                      null)
                  .toByteArray();
          byte[] key =
              rng.nextBoolean()
                  ? null
                  : Envelope.tenantKey(out, Table.PAGE_VIEWS, null, rng.nextBoolean());
          malformed(Table.PAGE_VIEWS.topic(), key, value, commit.tsMs(), reason, null);
          break;
        }
      case TENANT_MISMATCH:
        {
          String other =
              tenantIds.size() > 1
                  ? tenantIds.get(
                      (tenant + 1 + rng.nextInt(tenantIds.size() - 1)) % tenantIds.size())
                  : "t99-intruder";
          PgCommit commit = pgCommit();
          boolean pageView = rng.nextBoolean();
          Table table = pageView ? Table.PAGE_VIEWS : Table.ORDERS;
          JsonWritable row =
              pageView ? newPageView(other, nowMicros) : newOrder(other, "created", nowMicros);
          byte[] value = pgValue(table, null, row, "c", commit, null);
          malformed(table.topic(), tenantKey(table, t), value, commit.tsMs(), reason, null);
          break;
        }
      case MUTATION_ON_APPEND_ONLY:
        {
          PgCommit commit = pgCommit();
          // An application "correcting" a view it recorded a minute ago, on a table that only
          // appends.
          PageView pv = newPageView(t, nowMicros - 60_000_000L);
          boolean update = rng.nextBoolean();
          byte[] value =
              update
                  ? pgValue(
                      Table.PAGE_VIEWS,
                      pv,
                      pv.withDuration(pv.durationMs + 1_000),
                      "u",
                      commit,
                      null)
                  : pgValue(Table.PAGE_VIEWS, pv, null, "d", commit, null);
          malformed(
              Table.PAGE_VIEWS.topic(),
              tenantKey(Table.PAGE_VIEWS, t),
              value,
              commit.tsMs(),
              reason,
              t);
          break;
        }
      case MISSING_ROW_KEY:
        {
          // Without a schema: a schema would declare id required, and the record would fail that
          // first.
          PgCommit commit = pgCommit();
          Order row = newOrder(t, "created", nowMicros);
          JsonWritable keyless = b -> row.appendNonKeyJson(b.ascii('{'));
          byte[] value =
              Envelope.value(
                      out,
                      Table.ORDERS,
                      false,
                      null,
                      keyless,
                      "c",
                      pgSource(Table.ORDERS, commit),
                      processedAt(commit.tsMs()),
                      null)
                  .toByteArray();
          malformed(Table.ORDERS.topic(), Envelope.plainKey(t), value, commit.tsMs(), reason, t);
          break;
        }
      case UNDECODABLE_COLUMN:
        undecodableColumn(tenant, t);
        break;
      default:
        throw new IllegalStateException("no generator for " + reason);
    }
  }

  private void undecodableJson(String t) {
    switch (rng.nextInt(3)) {
      case 0:
        {
          // A value cut short, as by a broken proxy: any proper prefix of a JSON object is invalid.
          PgCommit commit = pgCommit();
          PageView pv = newPageView(t, nowMicros);
          JsonBytes full =
              Envelope.value(
                  out,
                  Table.PAGE_VIEWS,
                  rng.nextDouble() < cfg.schemaShare(),
                  null,
                  pv,
                  "c",
                  pgSource(Table.PAGE_VIEWS, commit),
                  processedAt(commit.tsMs()),
                  null);
          byte[] cut = full.prefix(10 + rng.nextInt(full.length() - 11));
          malformed(
              Table.PAGE_VIEWS.topic(),
              Envelope.plainKey(t),
              cut,
              commit.tsMs(),
              QuarantineReason.UNDECODABLE_JSON,
              t);
          break;
        }
      case 1:
        {
          // A producer misconfigured with Confluent's Avro serializer: magic byte 0, schema id,
          // binary body.
          byte[] avro = new byte[24];
          avro[4] = 42;
          for (int i = 5; i < avro.length; i++) {
            avro[i] = (byte) rng.nextInt(256);
          }
          malformed(
              Table.ORDERS.topic(),
              Envelope.plainKey(t),
              avro,
              nowMillis(),
              QuarantineReason.UNDECODABLE_JSON,
              t);
          break;
        }
      default:
        malformed(
            Table.ORDERS.topic(),
            Envelope.plainKey(t),
            Envelope.plainKey("tenant=" + t + " table=orders op=c id=" + rng.nextInt(1_000_000)),
            nowMillis(),
            QuarantineReason.UNDECODABLE_JSON,
            t);
    }
  }

  private void invalidEnvelope(String t) {
    long now = nowMillis();
    String text;
    String topic = Table.ORDERS.topic();
    switch (rng.nextInt(5)) {
      case 0:
        // A Debezium heartbeat that landed on a data topic.
        text = "{\"ts_ms\":" + now + "}";
        break;
      case 1:
        text = "[{\"op\":\"c\",\"tenant_id\":\"" + t + "\"}]";
        break;
      case 2:
        {
          // An envelope whose source block was dropped by a faulty transformation.
          Order row = newOrder(t, "created", nowMicros);
          row.appendJson(out.reset().ascii("{\"before\":null,\"after\":"));
          text = out.ascii(",\"op\":\"c\",\"ts_ms\":").number(now).ascii('}').toString();
          break;
        }
      case 3:
        text = "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"hello\"}";
        break;
      default:
        {
          // A MySQL schema-change event (no op): DDL history where row changes belong.
          BinlogEvent event = binlogEvent();
          mysqlSource(event, 0).appendJson(out.reset().ascii("{\"source\":"));
          text =
              out.ascii(",\"ts_ms\":")
                  .number(event.tsMs())
                  .ascii(",\"databaseName\":\"billing\",\"schemaName\":null,")
                  .ascii(
                      "\"ddl\":\"ALTER TABLE invoices ADD COLUMN notes TEXT NULL\",\"tableChanges\":[]}")
                  .toString();
          topic = Table.INVOICES.topic();
          now = event.tsMs();
        }
    }
    malformed(
        topic,
        Envelope.plainKey(t),
        Envelope.plainKey(text),
        now,
        QuarantineReason.INVALID_ENVELOPE,
        t);
  }

  private void undecodableColumn(int tenant, String t) {
    String garbage = GARBAGE_BASE64[rng.nextInt(GARBAGE_BASE64.length)];
    if (rng.nextBoolean()) {
      PgCommit commit = pgCommit();
      Order row =
          new Order(t, nextOrderId++, "created", 0, garbage, FakeData.customerName(rng), nowMicros);
      byte[] value = pgValue(Table.ORDERS, null, row, "c", commit, null);
      malformed(
          Table.ORDERS.topic(),
          tenantKey(Table.ORDERS, t),
          value,
          commit.tsMs(),
          QuarantineReason.UNDECODABLE_COLUMN,
          t);
    } else {
      BinlogEvent event = binlogEvent();
      Invoice row = newInvoice(tenant, nowMillis(), garbage);
      byte[] value = mysqlValue(null, row, "c", event, 0);
      malformed(
          Table.INVOICES.topic(),
          tenantKey(Table.INVOICES, t),
          value,
          event.tsMs(),
          QuarantineReason.UNDECODABLE_COLUMN,
          t);
    }
  }

  // ---- building blocks
  // ----------------------------------------------------------------------------------

  /**
   * The next PostgreSQL transaction in commit (delivery) order. Most write their changes after
   * everything delivered before them. For {@code interleaveShare} of the commits, the transaction
   * ran concurrently with the one delivered just before it: it wrote first, into the WAL just
   * before that transaction's changes, and got its transaction id first, but committed second. Its
   * commit LSN, like every commit LSN, lies after all earlier ones.
   */
  private PgCommit pgCommit() {
    long previousCommitLsn = lastCommitLsn;
    long changeLsn;
    long txId;
    if (walHoleEnd > walHoleStart && rng.nextDouble() < cfg.interleaveShare()) {
      changeLsn = walHoleStart + rng.nextLong(walHoleEnd - walHoleStart);
      // Left unused by the previous transaction's id assignment, and lower than it.
      txId = pgTxId - 1;
      walHoleStart = walHoleEnd;
    } else {
      changeLsn = walHead + 56 + rng.nextInt(4_000);
      walHoleStart = walHead;
      walHoleEnd = changeLsn;
      pgTxId += 2 + rng.nextInt(3);
      txId = pgTxId;
      // The change records: at most two changes share the LSN, each takes a record of its own size.
      walHead = changeLsn + 2 * 200;
    }
    lastCommitLsn = walHead + rng.nextInt(400);
    walHead = lastCommitLsn + COMMIT_RECORD_BYTES;
    return new PgCommit(txId, changeLsn, previousCommitLsn, nowMillis());
  }

  /**
   * The initial snapshot's position: its rows share the LSN of its consistent point, and streaming
   * resumes from there, so no streamed transaction interleaves with it.
   */
  private PgCommit snapshotPosition() {
    long at = walHead + 56 + rng.nextInt(4_000);
    pgTxId += 2 + rng.nextInt(3);
    lastCommitLsn = at;
    walHead = at + COMMIT_RECORD_BYTES;
    walHoleStart = walHoleEnd;
    return new PgCommit(pgTxId, at, NONE, nowMillis());
  }

  private PgSource pgSource(Table table, PgCommit commit) {
    return new PgSource(
        table.name,
        commit.tsMs(),
        "false",
        commit.txId(),
        commit.lsn(),
        commit.previousCommitLsn());
  }

  private static TxBlock txBlock(PgCommit commit, int order) {
    return new TxBlock(commit.txId() + ":" + commit.lsn(), order, order);
  }

  private BinlogEvent binlogEvent() {
    binlogPos += 180 + rng.nextInt(900);
    gtidSeq++;
    // The binlog stores seconds: MySQL's source.ts_ms is always a whole second.
    return new BinlogEvent(
        binlogPos,
        GTID_SOURCE + ":" + gtidSeq,
        5 + rng.nextInt(12),
        Math.floorDiv(nowMillis(), 1000L) * 1000L);
  }

  private static MySqlSource mysqlSource(BinlogEvent event, int row) {
    return new MySqlSource(
        Table.INVOICES.name, event.tsMs(), "false", event.pos(), row, event.gtid(), event.thread());
  }

  /**
   * The payload's {@code ts_ms}: when the connector processed the change, shortly after the commit.
   */
  private long processedAt(long sourceTsMs) {
    return sourceTsMs + 2 + rng.nextInt(400);
  }

  /** A PostgreSQL change's value, processed by the connector shortly after its commit. */
  private byte[] pgValue(
      Table table,
      JsonWritable before,
      JsonWritable after,
      String op,
      PgCommit commit,
      TxBlock tx) {
    return value(table, before, after, op, pgSource(table, commit), processedAt(commit.tsMs()), tx);
  }

  /** An invoices change's value: row {@code row} of a binlog event, processed shortly after it. */
  private byte[] mysqlValue(
      JsonWritable before, JsonWritable after, String op, BinlogEvent event, int row) {
    return value(
        Table.INVOICES,
        before,
        after,
        op,
        mysqlSource(event, row),
        processedAt(event.tsMs()),
        null);
  }

  /** A value, schema-wrapped for {@code schemaShare} of the records. */
  private byte[] value(
      Table table,
      JsonWritable before,
      JsonWritable after,
      String op,
      JsonWritable source,
      long tsMs,
      TxBlock tx) {
    boolean wrapped = rng.nextDouble() < cfg.schemaShare();
    return Envelope.value(out, table, wrapped, before, after, op, source, tsMs, tx).toByteArray();
  }

  /** The tenant key: plain text mostly, a JSON object for {@code jsonKeyShare} of the records. */
  private byte[] tenantKey(Table table, String tenantId) {
    return rng.nextDouble() < cfg.jsonKeyShare()
        ? jsonTenantKey(table, tenantId)
        : Envelope.plainKey(tenantId);
  }

  private byte[] jsonTenantKey(Table table, String tenantId) {
    return Envelope.tenantKey(out, table, tenantId, rng.nextBoolean());
  }

  private static String pgIdentity(Table table, PgCommit commit, long id) {
    return table.name + "@pg:lsn=" + commit.lsn() + "#" + table.keyColumn + "=" + id;
  }

  private static String mysqlIdentity(BinlogEvent event, int row, long id) {
    return Table.INVOICES.name
        + "@mysql:"
        + Envelope.MYSQL_BINLOG_FILE
        + ":"
        + event.pos()
        + ":"
        + row
        + "#"
        + Table.INVOICES.keyColumn
        + "="
        + id;
  }

  /**
   * A random live row other than {@code untouchable}, or -1. A row idle for longer than {@code
   * rowIdleLimit} is dropped instead: the job may have expired its state.
   */
  private <R> int pickLive(List<R> live, long nowMs, R untouchable) {
    if (live.isEmpty()) {
      return -1;
    }
    int i = rng.nextInt(live.size());
    R row = live.get(i);
    if (row == untouchable) {
      return -1;
    }
    long changedAt =
        row instanceof Order ? ((Order) row).eventTimeMillis() : ((Invoice) row).changedAtMillis;
    if (nowMs - changedAt > cfg.rowIdleLimit().toMillis()) {
      live.remove(i);
      return -1;
    }
    return i;
  }

  private <R> void addLive(List<R> live, R row) {
    if (live.size() >= cfg.maxLiveRowsPerTenant()) {
      // The oldest row is never touched again; dropping it bounds memory.
      live.remove(0);
    }
    live.add(row);
  }

  private void maybeTombstone(Table table, String tenantId, long tsMs) {
    if (rng.nextDouble() < cfg.tombstoneRate()) {
      pending.add(
          new GeneratedRecord(
              table.topic(),
              Envelope.plainKey(tenantId),
              null,
              tsMs,
              new Truth.Tombstone(tenantId)));
    }
  }

  private void valid(
      Table table,
      byte[] key,
      byte[] value,
      long timestamp,
      String tenantId,
      String op,
      long eventTimeMillis,
      Map<String, String> before,
      Map<String, String> after,
      String identity,
      boolean late) {
    GeneratedRecord record =
        new GeneratedRecord(
            table.topic(),
            key,
            value,
            timestamp,
            new Truth.Valid(
                tenantId,
                table.name,
                op,
                eventTimeMillis,
                timestamp,
                before,
                after,
                identity,
                late));
    pending.add(record);
    recent[recentNext] = record;
    recentNext = (recentNext + 1) % RECENT;
    recentCount = Math.min(recentCount + 1, RECENT);
  }

  private void malformed(
      String topic,
      byte[] key,
      byte[] value,
      long timestamp,
      QuarantineReason reason,
      String tenantIdOrNull) {
    pending.add(
        new GeneratedRecord(
            topic, key, value, timestamp, new Truth.Malformed(reason, tenantIdOrNull)));
  }
}
