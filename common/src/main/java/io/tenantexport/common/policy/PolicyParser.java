package io.tenantexport.common.policy;

import io.tenantexport.common.spec.ColumnType;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.MetricSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import java.io.StringReader;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.reader.ReaderException;

/**
 * Reads one tenant policy document (see {@code deploy/policies/README.md} for the format) and
 * checks it against the export spec.
 *
 * <p>The YAML is only composed into a node tree, never constructed into objects, so no tag can
 * instantiate a class; tags other than YAML's plain types are problems, aliases to collections are
 * limited to {@value #MAX_ALIASES}, nesting to {@value #MAX_DEPTH} levels and a document to {@value
 * #MAX_CODE_POINTS} code points. Every problem carries the 1-based line of the offending node.
 *
 * <p>This reports the problems of a single document. What needs the whole folder (file name versus
 * tenant, duplicate tenants, content naming another tenant, version history) is {@link
 * PolicyLint}'s job; a caller that receives a document for a known tenant (a control-topic record
 * keyed by tenant id) compares {@link TenantPolicy#tenant()} with that key itself.
 */
public final class PolicyParser {
  /** Aliases to mappings or lists that one document may use (a policy needs none). */
  static final int MAX_ALIASES = 8;

  /** Nesting depth of a document; a policy needs 4. */
  static final int MAX_DEPTH = 16;

  /** Longest document, in code points. */
  static final int MAX_CODE_POINTS = 1 << 20;

  static final List<String> TOP_LEVEL_KEYS = List.of("tenant", "version", "status", "tables");

  private static final Set<Tag> PLAIN_TAGS =
      Set.of(
          Tag.STR,
          Tag.INT,
          Tag.FLOAT,
          Tag.BOOL,
          Tag.NULL,
          Tag.TIMESTAMP,
          Tag.MERGE,
          Tag.MAP,
          Tag.SEQ);
  private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]{1,40}");
  private static final Pattern DECIMAL =
      Pattern.compile("[-+]?([0-9]{1,40}(\\.[0-9]{1,40})?|\\.[0-9]{1,40})");
  private static final String ACTIONS = "keep, drop, mask, hash, generalize or bucket";
  private static final Map<String, List<String>> ACTION_KEYS =
      Map.of(
          "keep", List.of("action"),
          "drop", List.of("action"),
          "mask", List.of("action", "keep_last"),
          "hash", List.of("action", "key"),
          "generalize", List.of("action", "to"),
          "bucket", List.of("action", "width"));
  private static final Map<String, String> ACTION_EXAMPLES =
      Map.of(
          "mask", "{action: mask, keep_last: 3}",
          "hash", "{action: hash, key: <key id>}",
          "generalize", "{action: generalize, to: hour}",
          "bucket", "{action: bucket, width: \"10\"}");

  private PolicyParser() {}

  /** The outcome of parsing one document. */
  public sealed interface ParseResult permits ParseResult.Ok, ParseResult.Invalid {
    /** The document is a valid policy. */
    record Ok(TenantPolicy policy) implements ParseResult {}

    /** The document's problems, by line; never empty. */
    record Invalid(List<PolicyProblem> problems) implements ParseResult {
      public Invalid {
        problems = List.copyOf(problems);
      }
    }
  }

  /**
   * Parses and validates one policy document against the spec. Never throws for bad input.
   *
   * @param text the YAML document
   * @param source where it came from (a file name, a control-topic offset): the file of every
   *     problem and the policy's {@link TenantPolicy#source()}
   */
  public static ParseResult parse(String text, String source, ExportSpec spec) {
    Document d = read(text, source, spec);
    return d.policy() != null
        ? new ParseResult.Ok(d.policy())
        : new ParseResult.Invalid(d.problems());
  }

  /**
   * One parsed document with what the folder lint needs beyond the result.
   *
   * @param problems by line; empty exactly when {@code policy} is not null
   * @param policy the policy, or null when there are problems
   * @param tenant the {@code tenant:} value when it is a valid tenant id, else null
   * @param tenantLine its line (1 when missing)
   * @param version the {@code version:} value when it is an integer >= 1, else null
   * @param versionLine its line (1 when missing)
   * @param scalars every other non-null scalar of the document (keys and values) with its line
   */
  record Document(
      List<PolicyProblem> problems,
      TenantPolicy policy,
      String tenant,
      int tenantLine,
      Long version,
      int versionLine,
      List<Scalar> scalars) {}

  /** A scalar of a document and its 1-based line. */
  record Scalar(String value, int line) {}

  static Document read(String text, String source, ExportSpec spec) {
    return new Reader(source, spec).read(text);
  }

  /** Reads one document; collects problems instead of throwing. */
  private static final class Reader {
    private final String source;
    private final ExportSpec spec;
    private final List<PolicyProblem> problems = new ArrayList<>();
    private String tenantText;
    private int tenantLine = 1;
    private Node tenantNode;
    private Long version;
    private int versionLine = 1;

    Reader(String source, ExportSpec spec) {
      this.source = source == null ? "policy" : source;
      this.spec = spec;
    }

    Document read(String text) {
      List<Scalar> scalars = new ArrayList<>();
      TenantPolicy policy = null;
      Node root = text == null ? null : compose(text);
      if (problems.isEmpty()) {
        if (root == null) {
          problem(
              1, "empty document: a policy is a mapping with " + String.join(", ", TOP_LEVEL_KEYS));
        } else {
          policy = interpret(root);
          scan(root, scalars);
        }
      }
      if (!problems.isEmpty()) {
        policy = null;
      }
      List<PolicyProblem> sorted = new ArrayList<>(problems);
      sorted.sort(PolicyProblem.ORDER);
      String tenant = tenantText != null && TenantId.isValid(tenantText) ? tenantText : null;
      return new Document(
          List.copyOf(sorted), policy, tenant, tenantLine, version, versionLine, scalars);
    }

    private Node compose(String text) {
      LoaderOptions options = new LoaderOptions();
      options.setMaxAliasesForCollections(MAX_ALIASES);
      options.setAllowRecursiveKeys(false);
      options.setNestingDepthLimit(MAX_DEPTH);
      options.setCodePointLimit(MAX_CODE_POINTS);
      options.setAllowDuplicateKeys(false);
      Yaml yaml = new Yaml(new SafeConstructor(options));
      try {
        return yaml.compose(new StringReader(text));
      } catch (MarkedYAMLException e) {
        Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
        String what = e.getProblem() != null ? e.getProblem() : e.getContext();
        problem(mark == null ? 1 : mark.getLine() + 1, "YAML syntax error: " + printable(what));
      } catch (ReaderException e) {
        problem(
            lineOfCodePoint(text, e.getPosition()),
            "YAML syntax error: character "
                + String.format(Locale.ROOT, "U+%04X", e.getCodePoint())
                + " is not allowed in YAML");
      } catch (YAMLException e) {
        problem(1, "YAML syntax error: " + printable(e.getMessage()));
      } catch (RuntimeException e) {
        // SnakeYAML signals some malformed input with plain runtime exceptions; still a syntax
        // error.
        problem(1, "YAML syntax error: " + e.getClass().getSimpleName());
      }
      return null;
    }

    /**
     * Checks what applies to every node: plain tags only, no duplicate keys. Collects the scalars.
     * Aliased nodes are visited once, so recursive documents end.
     */
    private void scan(Node root, List<Scalar> scalars) {
      Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
      Deque<Node> todo = new ArrayDeque<>();
      todo.push(root);
      while (!todo.isEmpty()) {
        Node n = todo.pop();
        if (!seen.add(n)) {
          continue;
        }
        if (!PLAIN_TAGS.contains(n.getTag())) {
          problem(
              n,
              "tag "
                  + TenantId.describe(n.getTag().getValue())
                  + " is not allowed: a policy uses plain YAML values only");
        }
        if (n instanceof ScalarNode s) {
          if (!s.getTag().equals(Tag.NULL) && s != tenantNode) {
            scalars.add(new Scalar(s.getValue(), line(s)));
          }
        } else if (n instanceof MappingNode m) {
          Map<String, Integer> firstLine = new HashMap<>();
          for (NodeTuple t : m.getValue()) {
            Node k = t.getKeyNode();
            if (k instanceof ScalarNode ks) {
              Integer first = firstLine.putIfAbsent(ks.getValue(), line(ks));
              if (first != null) {
                problem(
                    ks,
                    "duplicate key "
                        + TenantId.describe(ks.getValue())
                        + " (first at line "
                        + first
                        + ")");
              }
            }
            todo.push(t.getValueNode());
            todo.push(k);
          }
        } else if (n instanceof SequenceNode q) {
          q.getValue().forEach(todo::push);
        }
      }
    }

    private TenantPolicy interpret(Node root) {
      if (!(root instanceof MappingNode m)) {
        problem(
            root,
            "a policy is a mapping with "
                + String.join(", ", TOP_LEVEL_KEYS)
                + ", got "
                + kind(root));
        return null;
      }
      Map<String, NodeTuple> top = new LinkedHashMap<>();
      for (NodeTuple t : m.getValue()) {
        String k = keyName(t.getKeyNode());
        if (k == null) {
          continue;
        }
        if (!TOP_LEVEL_KEYS.contains(k)) {
          problem(
              t.getKeyNode(),
              "unknown top-level key "
                  + TenantId.describe(k)
                  + " (allowed: "
                  + String.join(", ", TOP_LEVEL_KEYS)
                  + ")");
          continue;
        }
        top.putIfAbsent(k, t);
      }
      for (String k : TOP_LEVEL_KEYS) {
        if (!top.containsKey(k)) {
          problem(root, "missing top-level key " + k);
        }
      }
      TenantId tenant = top.containsKey("tenant") ? tenant(top.get("tenant").getValueNode()) : null;
      Long v = top.containsKey("version") ? version(top.get("version").getValueNode()) : null;
      TenantStatus status =
          top.containsKey("status") ? status(top.get("status").getValueNode()) : null;
      Map<String, TablePolicy> tables =
          top.containsKey("tables") ? tables(top.get("tables").getValueNode()) : null;
      if (tenant == null || v == null || status == null || tables == null) {
        return null;
      }
      return new TenantPolicy(tenant, v, status, tables, source);
    }

    private TenantId tenant(Node n) {
      tenantLine = line(n);
      if (!(n instanceof ScalarNode s)) {
        problem(n, "tenant must be a tenant id, got " + kind(n));
        return null;
      }
      tenantNode = n;
      if (s.getTag().equals(Tag.NULL)) {
        problem(n, "tenant has no value: name the tenant id");
        return null;
      }
      tenantText = s.getValue();
      String why = TenantId.problem(tenantText);
      if (why != null) {
        problem(n, "invalid tenant id " + TenantId.describe(tenantText) + ": " + why);
        return null;
      }
      return TenantId.of(tenantText, source);
    }

    private Long version(Node n) {
      versionLine = line(n);
      if (n instanceof ScalarNode s
          && s.getTag().equals(Tag.INT)
          && INTEGER.matcher(s.getValue()).matches()) {
        BigInteger b = new BigInteger(s.getValue());
        if (b.signum() <= 0) {
          problem(n, "version " + b + " must be an integer >= 1");
          return null;
        }
        if (b.bitLength() > 63) {
          problem(n, "version " + b + " is too large");
          return null;
        }
        version = b.longValue();
        return version;
      }
      problem(
          n, "version " + describe(n) + " is not an integer (an integer >= 1 that only goes up)");
      return null;
    }

    private TenantStatus status(Node n) {
      TenantStatus s = n instanceof ScalarNode sn ? TenantStatus.fromYaml(sn.getValue()) : null;
      if (s == null) {
        problem(n, "unknown status " + describe(n) + " (active, paused or offboarded)");
      }
      return s;
    }

    private Map<String, TablePolicy> tables(Node n) {
      if (!(n instanceof MappingNode m)) {
        problem(n, "tables must map table names to column rules ({} for none), got " + kind(n));
        return null;
      }
      Map<String, TablePolicy> tables = new LinkedHashMap<>();
      boolean ok = true;
      for (NodeTuple t : m.getValue()) {
        String name = keyName(t.getKeyNode());
        if (name == null) {
          ok = false;
          continue;
        }
        if (tables.containsKey(name)) {
          continue; // reported as a duplicate key
        }
        TableSpec ts = spec.table(name);
        if (ts == null) {
          problem(
              t.getKeyNode(),
              "unknown table "
                  + TenantId.describe(name)
                  + " (the export spec has "
                  + String.join(", ", spec.tables().keySet())
                  + ")");
          ok = false;
          continue;
        }
        Map<String, FieldAction> fields = fields(ts, t.getValueNode());
        if (fields == null) {
          ok = false;
          continue;
        }
        tables.put(name, new TablePolicy(name, fields));
      }
      return ok ? tables : null;
    }

    private Map<String, FieldAction> fields(TableSpec ts, Node n) {
      if (!(n instanceof MappingNode m)) {
        problem(
            n,
            "table "
                + ts.name()
                + " must map column names to actions ({} exports only its structural columns),"
                + " got "
                + kind(n));
        return null;
      }
      Map<String, FieldAction> fields = new LinkedHashMap<>();
      boolean ok = true;
      for (NodeTuple t : m.getValue()) {
        String col = keyName(t.getKeyNode());
        if (col == null) {
          ok = false;
          continue;
        }
        if (fields.containsKey(col)) {
          continue; // reported as a duplicate key
        }
        if (!ts.columns().containsKey(col)) {
          problem(
              t.getKeyNode(),
              "unknown field "
                  + TenantId.describe(col)
                  + " in table "
                  + ts.name()
                  + " (its columns: "
                  + String.join(", ", ts.columns().keySet())
                  + ")");
          ok = false;
          continue;
        }
        String where = ts.name() + "." + col;
        FieldAction a = action(t.getValueNode(), where);
        if (a == null || !allowed(ts, col, a, t.getValueNode(), where)) {
          ok = false;
          continue;
        }
        fields.put(col, a);
      }
      return ok ? fields : null;
    }

    private FieldAction action(Node n, String where) {
      if (n instanceof ScalarNode s) {
        if (s.getTag().equals(Tag.NULL)) {
          problem(n, where + ": no action (" + ACTIONS + ")");
          return null;
        }
        String w = s.getValue();
        switch (w) {
          case "keep":
            return FieldAction.KEEP;
          case "drop":
            return FieldAction.DROP;
          default:
            if (ACTION_EXAMPLES.containsKey(w)) {
              problem(n, where + ": action " + w + " needs parameters: " + ACTION_EXAMPLES.get(w));
            } else {
              problem(n, where + ": unknown action " + TenantId.describe(w) + " (" + ACTIONS + ")");
            }
            return null;
        }
      }
      if (!(n instanceof MappingNode m)) {
        problem(
            n,
            where
                + ": expected an action (keep, drop or a mapping such as "
                + ACTION_EXAMPLES.get("mask")
                + "), got "
                + kind(n));
        return null;
      }
      Map<String, NodeTuple> params = new LinkedHashMap<>();
      for (NodeTuple t : m.getValue()) {
        String k = keyName(t.getKeyNode());
        if (k != null) {
          params.putIfAbsent(k, t);
        }
      }
      NodeTuple at = params.get("action");
      if (at == null) {
        problem(n, where + ": missing 'action' (" + ACTIONS + ")");
        return null;
      }
      Node an = at.getValueNode();
      String w = an instanceof ScalarNode s && !s.getTag().equals(Tag.NULL) ? s.getValue() : null;
      List<String> allowedKeys = w == null ? null : ACTION_KEYS.get(w);
      if (allowedKeys == null) {
        problem(an, where + ": unknown action " + describe(an) + " (" + ACTIONS + ")");
        return null;
      }
      boolean ok = true;
      for (Map.Entry<String, NodeTuple> e : params.entrySet()) {
        if (!allowedKeys.contains(e.getKey())) {
          problem(
              e.getValue().getKeyNode(),
              where
                  + ": unknown key "
                  + TenantId.describe(e.getKey())
                  + " for action "
                  + w
                  + " (allowed: "
                  + String.join(", ", allowedKeys)
                  + ")");
          ok = false;
        }
      }
      FieldAction a =
          switch (w) {
            case "keep" -> FieldAction.KEEP;
            case "drop" -> FieldAction.DROP;
            case "mask" -> mask(n, params.get("keep_last"), where);
            case "hash" -> hash(n, params.get("key"), where);
            case "generalize" -> generalize(n, params.get("to"), where);
            default -> bucket(n, params.get("width"), where);
          };
      return ok ? a : null;
    }

    private FieldAction mask(Node rule, NodeTuple param, String where) {
      if (param == null) {
        problem(rule, where + ": mask needs keep_last: <how many trailing characters to show>");
        return null;
      }
      Node n = param.getValueNode();
      if (n instanceof ScalarNode s
          && s.getTag().equals(Tag.INT)
          && INTEGER.matcher(s.getValue()).matches()) {
        BigInteger b = new BigInteger(s.getValue());
        if (b.signum() < 0) {
          problem(n, where + ": mask keep_last " + b + " must be >= 0");
          return null;
        }
        if (b.bitLength() > 31) {
          problem(n, where + ": mask keep_last " + b + " is too large");
          return null;
        }
        return new FieldAction.Mask(b.intValue());
      }
      problem(n, where + ": mask keep_last " + describe(n) + " is not an integer");
      return null;
    }

    private FieldAction hash(Node rule, NodeTuple param, String where) {
      if (param == null) {
        problem(rule, where + ": hash needs key: <key id> (the tenant's own HMAC key)");
        return null;
      }
      Node n = param.getValueNode();
      String id = n instanceof ScalarNode s && !s.getTag().equals(Tag.NULL) ? s.getValue() : null;
      if (id == null || !FieldAction.KEY_ID.matcher(id).matches()) {
        problem(
            n,
            where + ": hash key id " + describe(n) + " must match " + FieldAction.KEY_ID.pattern());
        return null;
      }
      return new FieldAction.Hash(id);
    }

    private FieldAction generalize(Node rule, NodeTuple param, String where) {
      if (param == null) {
        problem(rule, where + ": generalize needs to: hour or to: day");
        return null;
      }
      Node n = param.getValueNode();
      String to = n instanceof ScalarNode s ? s.getValue() : null;
      if ("hour".equals(to)) {
        return new FieldAction.Generalize(ChronoUnit.HOURS);
      }
      if ("day".equals(to)) {
        return new FieldAction.Generalize(ChronoUnit.DAYS);
      }
      problem(n, where + ": generalize to " + describe(n) + " must be hour or day");
      return null;
    }

    private FieldAction bucket(Node rule, NodeTuple param, String where) {
      if (param == null) {
        problem(rule, where + ": bucket needs width: <positive decimal>");
        return null;
      }
      Node n = param.getValueNode();
      if (n instanceof ScalarNode s
          && (s.getTag().equals(Tag.STR)
              || s.getTag().equals(Tag.INT)
              || s.getTag().equals(Tag.FLOAT))
          && DECIMAL.matcher(s.getValue()).matches()) {
        BigDecimal width = new BigDecimal(s.getValue());
        if (width.signum() <= 0) {
          problem(n, where + ": bucket width " + s.getValue() + " must be positive");
          return null;
        }
        return new FieldAction.Bucket(width);
      }
      problem(n, where + ": bucket width " + describe(n) + " is not a decimal number");
      return null;
    }

    /** Whether the column may have action {@code a}; reports why not. */
    private boolean allowed(TableSpec ts, String col, FieldAction a, Node n, String where) {
      String role = structuralRole(spec, ts, col);
      if (role != null) {
        if (a instanceof FieldAction.Keep) {
          return true;
        }
        problem(
            n,
            where
                + " is a structural column ("
                + role
                + ") and is always kept: its rule may only be keep, got "
                + a.action());
        return false;
      }
      for (MetricSpec metric : ts.metrics()) {
        if (col.equals(metric.column())
            && !(a instanceof FieldAction.Keep || a instanceof FieldAction.Bucket)) {
          problem(
              n,
              where
                  + " is aggregated by metric "
                  + metric.name()
                  + ": its rule may only be keep or bucket (leave it out to drop it), got "
                  + a.action());
          return false;
        }
      }
      ColumnType type = ts.columns().get(col).type();
      String typeName = type.name().toLowerCase(Locale.ROOT);
      if (a instanceof FieldAction.Generalize g) {
        boolean instant = type == ColumnType.TIMESTAMP || type == ColumnType.ZONED_TIMESTAMP;
        if (type == ColumnType.DATE && g.to() == ChronoUnit.HOURS) {
          problem(
              n, where + ": generalize to hour needs a timestamp column, " + col + " is a date");
          return false;
        }
        if (!instant && type != ColumnType.DATE) {
          problem(
              n,
              where + ": generalize needs a timestamp or date column, " + col + " is " + typeName);
          return false;
        }
      }
      if (a instanceof FieldAction.Bucket b) {
        if (type != ColumnType.LONG && type != ColumnType.DECIMAL) {
          problem(n, where + ": bucket needs a long or decimal column, " + col + " is " + typeName);
          return false;
        }
        if (type == ColumnType.LONG && b.width().stripTrailingZeros().scale() > 0) {
          problem(
              n,
              where
                  + ": bucket width "
                  + b.width().toPlainString()
                  + " on long column "
                  + col
                  + " must be a whole number");
          return false;
        }
      }
      return true;
    }

    private String keyName(Node k) {
      if (k instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) {
        return s.getValue();
      }
      problem(k, "a key must be a plain name, got " + kind(k));
      return null;
    }

    private void problem(Node n, String cause) {
      problem(line(n), cause);
    }

    private void problem(int line, String cause) {
      problems.add(new PolicyProblem(source, line, cause));
    }
  }

  /** Why a column is structural (always kept), or null when it is not. */
  static String structuralRole(ExportSpec spec, TableSpec ts, String col) {
    if (col.equals(spec.tenantColumn())) {
      return "tenant column";
    }
    if (ts.key().contains(col)) {
      return "key";
    }
    if (col.equals(ts.eventTime())) {
      return "event_time";
    }
    return null;
  }

  static int line(Node n) {
    return n == null || n.getStartMark() == null ? 1 : n.getStartMark().getLine() + 1;
  }

  /** A scalar's value for messages (quoted, escaped, bounded), or what kind of node it is. */
  private static String describe(Node n) {
    if (n instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) {
      return TenantId.describe(s.getValue());
    }
    return kind(n);
  }

  private static String kind(Node n) {
    if (n instanceof MappingNode) {
      return "a mapping";
    }
    if (n instanceof SequenceNode) {
      return "a list";
    }
    if (n instanceof ScalarNode s) {
      return s.getTag().equals(Tag.NULL) ? "nothing" : TenantId.describe(s.getValue());
    }
    return "nothing";
  }

  private static String printable(String s) {
    if (s == null) {
      return "unreadable document";
    }
    StringBuilder sb = new StringBuilder();
    s.codePoints()
        .limit(200)
        .forEach(
            c -> {
              if (c >= 0x20 && c < 0x7f) {
                sb.append((char) c);
              } else {
                sb.append(String.format(Locale.ROOT, "\\u%04x", c));
              }
            });
    return sb.toString();
  }

  private static int lineOfCodePoint(String text, int codePoint) {
    int end;
    try {
      end = text.offsetByCodePoints(0, Math.max(0, codePoint));
    } catch (IndexOutOfBoundsException e) {
      end = text.length();
    }
    int line = 1;
    for (int i = 0; i < end; i++) {
      if (text.charAt(i) == '\n') {
        line++;
      }
    }
    return line;
  }
}
