package io.tenantexport.jobs.operators;

import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.DecodeResult;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.KeyProviders;
import io.tenantexport.common.keys.QuarantineCipher;
import io.tenantexport.common.policy.FieldAction;
import io.tenantexport.common.policy.PolicyBook;
import io.tenantexport.common.policy.Redactor;
import io.tenantexport.common.policy.TablePolicy;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.policy.TenantStatus;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decodes, validates and governs raw Kafka records (no keyed state; the tenant policies arrive as a
 * broadcast stream, see {@link Policies}).
 *
 * <p>Invariant: every input record leaves as exactly one of: a decoded change, redacted by its
 * tenant's policy and stamped with the policy's version (main output); a quarantine record on
 * {@link Tags#QUARANTINE} (plus, when the record named a valid tenant, a {@code QUARANTINED} marker
 * on the main output so that tenant's receipt counts it); a {@code PAUSED} marker for a paused
 * tenant (counted in its receipts, nothing exported, nothing applied to state, so the change can
 * still be replayed once the tenant resumes); or a counted drop (a tombstone, or a change of an
 * offboarded tenant). Nothing throws: bad input never fails the job.
 *
 * <p>Personal data never gets past this operator unredacted: images are redacted here, before any
 * operator can hold them in state, and the raw bytes kept for a possible quarantine are sealed with
 * the quarantine key ({@link QuarantineCipher}). A change whose tenant is not known yet (a
 * PostgreSQL key-only delete) keeps only its structural columns: the row's stored, redacted image
 * supplies the rest downstream.
 */
public final class DecodeFunction
    extends BroadcastProcessFunction<RawRecord, PolicyDocument, ChangeEvent> {
  private static final long serialVersionUID = 1L;

  private final ExportSpec spec;
  private final String jobVersion;
  private final FolderPolicies folderPolicies;
  private final String policyFolder;
  private final TreeMap<String, String> keyOptions;
  private final String quarantineKeyId;
  private final String eventIdKeyId;

  private transient CdcDecoder decoder;
  private transient KeyProvider keys;
  private transient Redactor redactor;
  private transient QuarantineCipher cipher;
  private transient PolicyBook book;
  private transient boolean restoredOffered;
  private transient boolean auditor;
  private transient Counter decoded;
  private transient Counter tombstones;
  private transient Counter paused;
  private transient Counter offboarded;
  private transient Counter policiesApplied;
  private transient Counter policiesRejected;
  private transient Map<QuarantineReason, Counter> quarantined;

  /**
   * @param folderPolicies the policy folder's documents by tenant (file stem), validated by the job
   *     configuration
   * @param keyOptions the {@code keys.*} settings without the prefix (paths and key ids, never key
   *     material), see {@link KeyProviders}
   */
  public DecodeFunction(
      ExportSpec spec,
      String jobVersion,
      Map<String, String> folderPolicies,
      String policyFolder,
      Map<String, String> keyOptions,
      String quarantineKeyId,
      String eventIdKeyId) {
    this.spec = spec;
    this.jobVersion = jobVersion;
    this.folderPolicies = new FolderPolicies(folderPolicies);
    this.policyFolder = policyFolder;
    this.keyOptions = new TreeMap<>(keyOptions);
    this.quarantineKeyId = quarantineKeyId;
    this.eventIdKeyId = eventIdKeyId;
  }

  @Override
  public void open(OpenContext ctx) {
    keys = KeyProviders.open(keyOptions);
    decoder = new CdcDecoder(spec, eventIdKey(keys.quarantineKey(eventIdKeyId)));
    redactor = new Redactor(spec, keys);
    cipher = new QuarantineCipher(quarantineKeyId, keys.quarantineKey(quarantineKeyId));
    Map<String, String> documents = folderPolicies.documents();
    book = Policies.seeded(spec, documents, policyFolder);
    for (String tenant : documents.keySet()) {
      String missing = missingKey(book.get(tenant));
      if (missing != null) {
        // Fail before the first record: a job that cannot pseudonymise must not start.
        throw new IllegalStateException("policy folder " + policyFolder + ": " + missing);
      }
    }
    restoredOffered = false;
    // Every instance applies every policy update; one of them reports it.
    auditor = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0;
    var metrics = getRuntimeContext().getMetricGroup();
    decoded = metrics.counter("decoded");
    tombstones = metrics.counter("tombstones");
    paused = metrics.counter("pausedSkipped");
    offboarded = metrics.counter("offboardedDropped");
    policiesApplied = metrics.counter("policiesApplied");
    policiesRejected = metrics.counter("policiesRejected");
    quarantined = new EnumMap<>(QuarantineReason.class);
    for (QuarantineReason r : QuarantineReason.values()) {
      quarantined.put(r, metrics.addGroup("quarantined", r.name()).counter("count"));
    }
  }

  @Override
  public void close() throws Exception {
    if (keys != null) {
      keys.close();
    }
  }

  @Override
  public void processElement(RawRecord raw, ReadOnlyContext ctx, Collector<ChangeEvent> out)
      throws Exception {
    offerRestored(ctx.getBroadcastState(Policies.STATE));
    DecodeResult result = decoder.decode(raw);
    if (result instanceof DecodeResult.Decoded d) {
      d.event().setReplayOf(raw.replayOf());
      govern(d.event(), raw, ctx, out);
    } else if (result instanceof DecodeResult.Tombstone) {
      tombstones.inc();
    } else {
      DecodeResult.Rejected r = (DecodeResult.Rejected) result;
      quarantine(raw, r.code(), r.reason(), r.tenantId(), null, ctx, out);
    }
  }

  /** Applies the tenant's policy to a decoded change. */
  private void govern(
      ChangeEvent e, RawRecord raw, ReadOnlyContext ctx, Collector<ChangeEvent> out) {
    String tenant = e.getTenantId();
    String table = e.getSourceTable();
    String origin = origin(raw);
    if (tenant == null) {
      if (!e.getOp().equals("d")) {
        quarantine(
            raw,
            QuarantineReason.MISSING_TENANT,
            "op "
                + e.getOp()
                + " of table "
                + table
                + " at "
                + origin
                + " names no tenant: no tenant policy can be chosen for its row image",
            null,
            table,
            ctx,
            out);
        return;
      }
      TableSpec t = spec.table(table);
      e.setBefore(structuralOnly(t, e.getBefore()));
      e.setAfter(structuralOnly(t, e.getAfter()));
      seal(e, origin);
      decoded.inc();
      out.collect(e);
      return;
    }
    TenantPolicy policy = book.get(tenant);
    if (policy == null) {
      quarantine(
          raw,
          QuarantineReason.NO_POLICY,
          "tenant "
              + tenant
              + " has no policy (record at "
              + origin
              + "): nothing of a tenant is exported before its policy is published",
          tenant,
          table,
          ctx,
          out);
      return;
    }
    if (policy.status() == TenantStatus.OFFBOARDED) {
      offboarded.inc();
      return;
    }
    if (policy.status() == TenantStatus.PAUSED) {
      paused.inc();
      out.collect(Quarantines.pausedMarker(tenant, table, raw.timestamp(), e, policy.version()));
      return;
    }
    if (!policy.allowsTable(table)) {
      quarantine(
          raw,
          QuarantineReason.TABLE_NOT_ALLOWED,
          "table "
              + table
              + " (record at "
              + origin
              + ") is not allowed by tenant "
              + tenant
              + "'s policy version "
              + policy.version(),
          tenant,
          table,
          ctx,
          out);
      return;
    }
    try {
      e.setBefore(redactor.apply(policy, table, e.getBefore()));
      e.setAfter(redactor.apply(policy, table, e.getAfter()));
    } catch (RuntimeException ex) {
      // Policies are vetted against the spec and the keys before they apply, so this is a value the
      // decoder let through that a rule cannot take, or a key withdrawn since: refuse the change
      // (replayable), never the job. The redactor's messages name rules and columns, not values.
      quarantine(
          raw,
          QuarantineReason.UNREDACTABLE,
          "policy version "
              + policy.version()
              + " of tenant "
              + tenant
              + " cannot redact the change at "
              + origin
              + ": "
              + ex.getMessage(),
          tenant,
          table,
          ctx,
          out);
      return;
    }
    e.setPolicyVersion(policy.version());
    seal(e, origin);
    decoded.inc();
    out.collect(e);
  }

  /**
   * Why an active policy cannot be used with this job's keys (a key it hashes with is missing), or
   * null. Paused and offboarded policies redact nothing, so they need no keys. Checked for the
   * folder at start-up only: whether a later update applies must not depend on the keys one machine
   * has (every instance must decide alike); its changes are quarantined as {@code UNREDACTABLE}
   * while a key is missing.
   */
  private String missingKey(TenantPolicy p) {
    if (p == null || p.status() != TenantStatus.ACTIVE) {
      return null;
    }
    for (TablePolicy t : p.tables().values()) {
      for (Map.Entry<String, FieldAction> f : t.fields().entrySet()) {
        if (f.getValue() instanceof FieldAction.Hash h) {
          try {
            keys.tenantKey(p.tenant(), h.keyId());
          } catch (RuntimeException ex) {
            return "tenant "
                + p.tenant().value()
                + " hashes "
                + t.table()
                + "."
                + f.getKey()
                + " with key "
                + h.keyId()
                + ", which the key provider does not have";
          }
        }
      }
    }
    return null;
  }

  private void quarantine(
      RawRecord raw,
      QuarantineReason code,
      String reason,
      String tenant,
      String table,
      ReadOnlyContext ctx,
      Collector<ChangeEvent> out) {
    TenantPolicy policy = book.get(tenant);
    if (policy != null && policy.status() == TenantStatus.OFFBOARDED) {
      offboarded.inc(); // nothing of an offboarded tenant is kept, not even sealed
      return;
    }
    quarantined.get(code).inc();
    String origin = origin(raw);
    QuarantineRecord q =
        Quarantines.fromRaw(
            raw,
            cipher.seal(raw.key(), Quarantines.sealedAs(origin, "key")),
            cipher.seal(raw.value(), Quarantines.sealedAs(origin, "value")),
            code,
            reason,
            tenant,
            spec.version(),
            jobVersion);
    ctx.output(Tags.QUARANTINE, q);
    if (tenant != null) {
      // The Kafka timestamp, not a time parsed from a value already known to be bad: the broker
      // bounds it, so a garbage time cannot open a window far ahead of the tenant's clock.
      out.collect(Quarantines.marker(tenant, table, raw.timestamp(), q));
    }
  }

  @Override
  public void processBroadcastElement(PolicyDocument doc, Context ctx, Collector<ChangeEvent> out)
      throws Exception {
    BroadcastState<String, PolicyDocument> state = ctx.getBroadcastState(Policies.STATE);
    offerRestored(state);
    PolicyBook.Outcome outcome = book.offer(doc.getTenantId(), doc.getText(), doc.getOrigin());
    if (outcome instanceof PolicyBook.Outcome.Unchanged) {
      return;
    }
    if (outcome instanceof PolicyBook.Outcome.Applied a) {
      policiesApplied.inc();
      state.put(a.policy().tenant().value(), doc);
    } else {
      policiesRejected.inc();
    }
    if (auditor) {
      ctx.output(
          Tags.AUDIT,
          Policies.audit(outcome, doc, spec.version(), jobVersion, ctx.currentProcessingTime()));
    }
  }

  private void offerRestored(ReadOnlyBroadcastState<String, PolicyDocument> state)
      throws Exception {
    if (!restoredOffered) {
      restoredOffered = true;
      Policies.offerRestored(book, state);
    }
  }

  private void seal(ChangeEvent e, String origin) {
    if (e.getRawKey() != null) {
      e.setRawKey(
          ByteBuffer.wrap(cipher.seal(bytes(e.getRawKey()), Quarantines.sealedAs(origin, "key"))));
    }
    if (e.getRawValue() != null) {
      e.setRawValue(
          ByteBuffer.wrap(
              cipher.seal(bytes(e.getRawValue()), Quarantines.sealedAs(origin, "value"))));
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  /** The image with every spec column, only the tenant and key columns keeping their values. */
  private Map<String, String> structuralOnly(TableSpec table, Map<String, String> image) {
    if (image == null) {
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String column : table.columns().keySet()) {
      boolean structural = column.equals(spec.tenantColumn()) || table.key().contains(column);
      out.put(column, structural ? image.get(column) : null);
    }
    return out;
  }

  /**
   * The event-id key, derived from a key of the quarantine ring so that no extra secret has to be
   * provisioned: event ids are then no oracle for values a policy removes (see {@link CdcDecoder}).
   */
  static byte[] eventIdKey(SecretKey base) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(base.getEncoded(), "HmacSHA256"));
      return mac.doFinal("tenant-export event-id v1".getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  static String origin(RawRecord raw) {
    return raw.topic() + "/" + raw.partition() + "@" + raw.offset();
  }
}
