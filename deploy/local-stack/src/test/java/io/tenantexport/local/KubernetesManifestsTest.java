package io.tenantexport.local;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.util.TimeUtils;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests ({@code deploy/kubernetes}) cannot run here; this test keeps them
 * parseable and consistent with what does run: {@code deploy/config.yaml} (the Flink configuration
 * the local cluster and production start from), {@code deploy/job.yaml}, {@link
 * LocalFlinkCluster}'s local overrides, the job's entry class, and each other (mounts, secrets, the
 * Prometheus port).
 *
 * <p>The FlinkDeployment's {@code flinkConfiguration} must hold every key of {@code
 * deploy/config.yaml} with the same value, and nothing else, except the keys of {@link
 * #KUBERNETES_ALLOW_LIST} (each with the reason it legitimately differs in Kubernetes) and the
 * memory sizes, which the operator takes from {@link #SPEC_FIELDS}.
 */
class KubernetesManifestsTest {
  private static final Path MANIFESTS = Path.of("../kubernetes");
  private static final Path FLINK_CONFIG = Path.of("../config.yaml");
  private static final Path JOB_CONFIG = Path.of("../job.yaml");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static final String ENTRY_CLASS = "io.tenantexport.jobs.TenantExportJob";
  private static final String MAIN_CONTAINER = "flink-main-container";

  /** flinkConfiguration keys that may differ from (or be absent in) deploy/config.yaml, and why. */
  static final Map<String, String> KUBERNETES_ALLOW_LIST =
      Map.ofEntries(
          entry("jobmanager.bind-host", "other pods connect over the pod network: 0.0.0.0"),
          entry("taskmanager.bind-host", "the JobManager connects over the pod network: 0.0.0.0"),
          entry("rest.bind-address", "the operator and the REST service reach it from outside"),
          entry("jobmanager.rpc.address", "set by Flink's Kubernetes integration (service/pod IP)"),
          entry("taskmanager.host", "set by Flink's Kubernetes integration (the pod IP)"),
          entry("rest.address", "set by the operator (the JobManager's REST service)"),
          entry("execution.checkpointing.dir", "object storage that every pod reaches"),
          entry("execution.checkpointing.savepoint-dir", "object storage that every pod reaches"),
          entry("high-availability.type", "Kubernetes HA: a JobManager restart resumes the job"),
          entry("high-availability.storageDir", "HA metadata on object storage"),
          entry("pipeline.max-parallelism", "mirrors job.max_parallelism, checked equal below"),
          entry("kubernetes.operator.periodic.savepoint.interval", "operator: periodic savepoints"),
          entry("kubernetes.operator.savepoint.history.max.count", "operator: savepoint history"),
          entry("kubernetes.operator.savepoint.history.max.age", "operator: savepoint history"),
          entry("metrics.reporter.prom.factory.class", "Prometheus scraping (podmonitor.yaml)"),
          entry(
              "metrics.reporter.prom.port", "Prometheus scraping, checked against the PodMonitor"));

  /** deploy/config.yaml keys that the operator sets from another field of the FlinkDeployment. */
  static final Map<String, String> SPEC_FIELDS =
      Map.of(
          "jobmanager.memory.process.size", "/spec/jobManager/resource/memory",
          "taskmanager.memory.process.size", "/spec/taskManager/resource/memory");

  /** deploy/job.yaml keys that name the environment, so the ConfigMap's job.yaml replaces them. */
  static final Map<String, String> JOB_YAML_ALLOW_LIST =
      Map.of(
          "kafka.bootstrap_servers", "the cluster's Kafka",
          "lake.path", "object storage instead of a local folder",
          "warehouse.url", "the cluster's PostgreSQL",
          "policy.folder", "its own ConfigMap volume (a mount cannot nest in another)");

  private static final Pattern PLACEHOLDER = Pattern.compile("<[^<>]+>");

  @Test
  void everyManifestParsesAndNamesItsKind() throws IOException {
    Map<Path, List<JsonNode>> all = manifests();
    assertThat(all.keySet())
        .extracting(p -> p.getFileName().toString())
        .contains(
            "flinkdeployment.yaml", "configmap.yaml", "secret.example.yaml", "podmonitor.yaml");
    all.forEach(
        (file, docs) ->
            docs.forEach(
                d ->
                    assertThat(d.path("apiVersion").asText() + d.path("kind").asText())
                        .as("apiVersion and kind of a document in %s", file)
                        .isNotBlank()));
  }

  @Test
  void flinkDeploymentRunsTheJobWithSavepointUpgradesAndHistory() throws Exception {
    JsonNode fd = flinkDeployment();
    assertThat(fd.path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
    String[] flink = EnvironmentInformation.getVersion().split("\\.");
    assertThat(fd.at("/spec/flinkVersion").asText())
        .as("flinkVersion for the Flink on the classpath (%s)", EnvironmentInformation.getVersion())
        .isEqualTo("v" + flink[0] + "_" + flink[1]);
    JsonNode job = fd.at("/spec/job");
    assertThat(job.path("entryClass").asText()).isEqualTo(ENTRY_CLASS);
    assertThat(Class.forName(job.path("entryClass").asText()).getMethod("main", String[].class))
        .isNotNull();
    assertThat(job.path("upgradeMode").asText()).isEqualTo("savepoint");
    assertThat(job.path("allowNonRestoredState").isBoolean()).as("allowNonRestoredState").isTrue();
    assertThat(job.path("allowNonRestoredState").booleanValue()).isFalse();
    assertThat(job.path("state").asText("running")).isEqualTo("running");

    Map<String, String> conf = flinkConfiguration(fd);
    assertThat(
            Integer.parseInt(
                conf.getOrDefault("kubernetes.operator.savepoint.history.max.count", "0")))
        .as("kubernetes.operator.savepoint.history.max.count")
        .isPositive();
    assertThat(TimeUtils.parseDuration(conf.get("kubernetes.operator.savepoint.history.max.age")))
        .isPositive();
    assertThat(TimeUtils.parseDuration(conf.get("kubernetes.operator.periodic.savepoint.interval")))
        .isPositive();
    assertThat(conf.get("execution.checkpointing.dir")).startsWith("s3://");
    assertThat(conf.get("execution.checkpointing.savepoint-dir")).startsWith("s3://");
    assertThat(conf.get("high-availability.type")).isEqualTo("kubernetes");
    assertThat(conf.get("high-availability.storageDir")).startsWith("s3://");

    String jar = job.path("jarURI").asText();
    assertThat(jar).startsWith("local:///");
    assertThat(Files.readString(MANIFESTS.resolve("Dockerfile")))
        .as("the Dockerfile puts the job jar where jarURI points")
        .contains(jar.substring("local://".length()));
  }

  @Test
  void parallelismAndCheckpointingMatchTheJobConfiguration() throws IOException {
    JsonNode fd = flinkDeployment();
    Map<String, String> conf = flinkConfiguration(fd);
    JsonNode deployJob = YAML.readTree(JOB_CONFIG.toFile());
    JsonNode k8sJob = kubernetesJobYaml();
    for (JsonNode jobYaml : List.of(deployJob, k8sJob)) {
      assertThat(fd.at("/spec/job/parallelism").asInt())
          .as("spec.job.parallelism vs job.parallelism")
          .isEqualTo(jobYaml.at("/job/parallelism").asInt());
      assertThat(conf.get("pipeline.max-parallelism"))
          .as("pipeline.max-parallelism vs job.max_parallelism")
          .isEqualTo(jobYaml.at("/job/max_parallelism").asText());
      Duration interval = TimeUtils.parseDuration(jobYaml.at("/job/checkpoint_interval").asText());
      assertThat(TimeUtils.parseDuration(conf.get("execution.checkpointing.interval")))
          .as("execution.checkpointing.interval vs job.checkpoint_interval")
          .isEqualTo(interval);
      Duration checkpointTimeout =
          TimeUtils.parseDuration(jobYaml.at("/job/checkpoint_timeout").asText());
      assertThat(TimeUtils.parseDuration(jobYaml.at("/kafka/transaction_timeout").asText()))
          .as("kafka.transaction_timeout vs job.checkpoint_interval + 2 x job.checkpoint_timeout")
          .isGreaterThanOrEqualTo(interval.plus(checkpointTimeout.multipliedBy(2)));
    }
    assertThat(fd.at("/spec/job/parallelism").asInt())
        .isLessThanOrEqualTo(Integer.parseInt(conf.get("pipeline.max-parallelism")));
  }

  @Test
  void flinkConfigurationIsDeployConfigExceptTheAllowList() throws Exception {
    JsonNode fd = flinkDeployment();
    Map<String, String> conf = flinkConfiguration(fd);
    Map<String, String> production = flatten(YAML.readTree(FLINK_CONFIG.toFile()));
    Map<String, String> local = localOverrides();
    List<String> problems = new ArrayList<>();
    production.forEach(
        (key, value) -> {
          if (KUBERNETES_ALLOW_LIST.containsKey(key)) {
            return;
          }
          if (SPEC_FIELDS.containsKey(key)) {
            String field = SPEC_FIELDS.get(key);
            String k8s = fd.at(field).asText(null);
            if (k8s == null || !MemorySize.parse(k8s).equals(MemorySize.parse(value))) {
              problems.add(
                  key
                      + ": deploy/config.yaml has "
                      + value
                      + ", the FlinkDeployment's "
                      + field
                      + " has "
                      + k8s);
            }
            if (conf.containsKey(key) && !conf.get(key).equals(value)) {
              problems.add(mismatch(key, value, conf.get(key)));
            }
          } else if (!conf.containsKey(key)) {
            problems.add(mismatch(key, value, "<absent>"));
          } else if (!conf.get(key).equals(value)) {
            problems.add(mismatch(key, value, conf.get(key)));
          }
        });
    conf.forEach(
        (key, value) -> {
          if (production.containsKey(key) || KUBERNETES_ALLOW_LIST.containsKey(key)) {
            return;
          }
          if (local.containsKey(key)) {
            problems.add(
                key
                    + ": flinkConfiguration has "
                    + value
                    + ", LocalFlinkCluster overrides it with "
                    + local.get(key)
                    + " and deploy/config.yaml does not set it; allow-list it"
                    + " with a reason or drop it");
          } else {
            problems.add(
                key
                    + ": flinkConfiguration has "
                    + value
                    + ", deploy/config.yaml does not set it;"
                    + " add it there (the local cluster then runs with it too) or allow-list it"
                    + " with a reason");
          }
        });
    if (!problems.isEmpty()) {
      fail(
          "flinkdeployment.yaml drifted from deploy/config.yaml (allow-list: KubernetesManifestsTest"
              + ".KUBERNETES_ALLOW_LIST):\n  "
              + String.join("\n  ", problems));
    }
  }

  @Test
  void allowListNamesOnlyKeysThatExist() throws Exception {
    Set<String> known = new HashSet<>(flinkConfiguration(flinkDeployment()).keySet());
    known.addAll(flatten(YAML.readTree(FLINK_CONFIG.toFile())).keySet());
    known.addAll(localOverrides().keySet());
    assertThat(known)
        .as("keys of flinkConfiguration, deploy/config.yaml and LocalFlinkCluster's overrides")
        .containsAll(KUBERNETES_ALLOW_LIST.keySet());
    assertThat(flatten(YAML.readTree(JOB_CONFIG.toFile())).keySet())
        .containsAll(JOB_YAML_ALLOW_LIST.keySet());
  }

  @Test
  void kubernetesJobYamlIsDeployJobYamlExceptTheEnvironment() throws IOException {
    Map<String, String> deploy = flatten(YAML.readTree(JOB_CONFIG.toFile()));
    Map<String, String> k8s = flatten(kubernetesJobYaml());
    assertThat(k8s.keySet()).as("keys of the ConfigMap's job.yaml").isEqualTo(deploy.keySet());
    List<String> problems = new ArrayList<>();
    deploy.forEach(
        (key, value) -> {
          if (!JOB_YAML_ALLOW_LIST.containsKey(key) && !value.equals(k8s.get(key))) {
            problems.add(
                key
                    + ": deploy/job.yaml has "
                    + value
                    + ", configmap.yaml's job.yaml has "
                    + k8s.get(key));
          }
        });
    assertThat(problems).as("job.yaml drift (JOB_YAML_ALLOW_LIST)").isEmpty();
  }

  @Test
  void jobArgsPointAtTheMountedJobYamlAndItsFilesAreMounted() throws IOException {
    JsonNode fd = flinkDeployment();
    JsonNode args = fd.at("/spec/job/args");
    assertThat(args.size()).isEqualTo(2);
    assertThat(args.get(0).asText()).isEqualTo("--config");
    Path jobYaml = Path.of(args.get(1).asText());
    assertThat(source(fd, jobYaml)).isEqualTo("configMap/tenant-export-job/job.yaml");
    assertThat(configMaps()).containsKey("tenant-export-job");
    assertThat(configMaps().get("tenant-export-job").path("data").has("job.yaml")).isTrue();

    JsonNode k8sJob = kubernetesJobYaml();
    Path base = jobYaml.getParent();
    assertThat(source(fd, base.resolve(k8sJob.path("spec").asText())))
        .as("the export spec beside job.yaml")
        .endsWith("/export-spec.yaml");
    Path policies = base.resolve(k8sJob.at("/policy/folder").asText());
    assertThat(volumeMountedAt(fd, policies))
        .as("a volume mounted at policy.folder %s", policies)
        .hasValueSatisfying(v -> assertThat(v.has("configMap")).isTrue());

    Map<String, JsonNode> secrets = secrets();
    for (String setting : List.of("/keys/keystore", "/keys/password_file")) {
      Path file = Path.of(k8sJob.at(setting).asText());
      String[] from = source(fd, file).split("/", 3);
      assertThat(from[0]).as("%s %s comes from a Secret", setting, file).isEqualTo("secret");
      assertThat(secrets).containsKey(from[1]);
      assertThat(secrets.get(from[1]).path("stringData").has(from[2]))
          .as("secret.example.yaml's %s has key %s", from[1], from[2])
          .isTrue();
    }
    JsonNode password =
        env(fd).stream()
            .filter(e -> e.path("name").asText().equals(JobConfig.PASSWORD_ENV))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no env " + JobConfig.PASSWORD_ENV))
            .at("/valueFrom/secretKeyRef");
    assertThat(secrets).containsKey(password.path("name").asText());
    assertThat(
            secrets
                .get(password.path("name").asText())
                .path("stringData")
                .has(password.path("key").asText()))
        .as("the warehouse password's secretKeyRef names a key of secret.example.yaml")
        .isTrue();
  }

  @Test
  void everyMountedConfigMapIsDefinedOrCreatedByTheReadme() throws IOException {
    String readme = Files.readString(MANIFESTS.resolve("README.md"));
    Map<String, JsonNode> defined = configMaps();
    for (JsonNode volume : podTemplate(flinkDeployment()).path("volumes")) {
      for (JsonNode cm : volume.findValues("configMap")) {
        String name = cm.path("name").asText();
        if (!defined.containsKey(name)) {
          assertThat(readme)
              .as("ConfigMap %s is neither in configmap.yaml nor created in README.md", name)
              .contains("create configmap " + name + " ");
        }
      }
    }
  }

  @Test
  void secretExampleHoldsOnlyPlaceholders() throws IOException {
    Map<String, JsonNode> secrets = secrets();
    assertThat(secrets).isNotEmpty();
    secrets.forEach(
        (name, secret) -> {
          assertThat(secret.has("data") || secret.has("binaryData"))
              .as("secret %s: use stringData placeholders, no encoded values", name)
              .isFalse();
          secret
              .path("stringData")
              .fields()
              .forEachRemaining(
                  e ->
                      assertThat(e.getValue().asText())
                          .as("secret %s key %s", name, e.getKey())
                          .matches(PLACEHOLDER));
        });
  }

  @Test
  void prometheusReporterPortIsTheScrapedPort() throws IOException {
    JsonNode fd = flinkDeployment();
    int reporter = Integer.parseInt(flinkConfiguration(fd).get("metrics.reporter.prom.port"));
    Map<String, Integer> ports = new TreeMap<>();
    mainContainer(fd)
        .path("ports")
        .forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    JsonNode podMonitor = single("PodMonitor");
    assertThat(podMonitor.at("/metadata/namespace").asText())
        .isEqualTo(fd.at("/metadata/namespace").asText());
    JsonNode labels = podTemplate(fd).at("/metadata/labels");
    podMonitor
        .at("/spec/selector/matchLabels")
        .fields()
        .forEachRemaining(
            e ->
                assertThat(labels.path(e.getKey()).asText())
                    .as("pod label %s selected by the PodMonitor", e.getKey())
                    .isEqualTo(e.getValue().asText()));
    JsonNode endpoints = podMonitor.at("/spec/podMetricsEndpoints");
    assertThat(endpoints.size()).isPositive();
    for (JsonNode endpoint : endpoints) {
      String port = endpoint.path("port").asText();
      assertThat(ports).as("container port named %s", port).containsKey(port);
      assertThat(ports.get(port))
          .as("PodMonitor port %s vs metrics.reporter.prom.port", port)
          .isEqualTo(reporter);
    }
    JsonNode annotation = podTemplate(fd).at("/metadata/annotations/prometheus.io~1port");
    if (!annotation.isMissingNode()) {
      assertThat(annotation.asInt()).as("prometheus.io/port annotation").isEqualTo(reporter);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static String mismatch(String key, String production, String kubernetes) {
    return key
        + ": deploy/config.yaml has "
        + production
        + ", flinkConfiguration has "
        + kubernetes;
  }

  /** Every YAML document of every file under deploy/kubernetes, by file. */
  private static Map<Path, List<JsonNode>> manifests() throws IOException {
    Map<Path, List<JsonNode>> all = new TreeMap<>();
    try (Stream<Path> files = Files.walk(MANIFESTS)) {
      for (Path f :
          files
              .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
              .toList()) {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(f.toFile())) {
          while (it.hasNext()) {
            JsonNode d = it.next();
            if (d != null && !d.isNull() && !d.isMissingNode()) {
              docs.add(d);
            }
          }
        }
        all.put(f, docs);
      }
    }
    return all;
  }

  private static List<JsonNode> ofKind(String kind) throws IOException {
    return manifests().values().stream()
        .flatMap(List::stream)
        .filter(d -> d.path("kind").asText().equals(kind))
        .toList();
  }

  private static JsonNode single(String kind) throws IOException {
    List<JsonNode> docs = ofKind(kind);
    assertThat(docs).as("documents of kind %s under %s", kind, MANIFESTS).hasSize(1);
    return docs.get(0);
  }

  private static JsonNode flinkDeployment() throws IOException {
    return single("FlinkDeployment");
  }

  private static Map<String, JsonNode> byName(String kind) throws IOException {
    Map<String, JsonNode> m = new TreeMap<>();
    for (JsonNode d : ofKind(kind)) {
      m.put(d.at("/metadata/name").asText(), d);
    }
    return m;
  }

  private static Map<String, JsonNode> configMaps() throws IOException {
    return byName("ConfigMap");
  }

  private static Map<String, JsonNode> secrets() throws IOException {
    return byName("Secret");
  }

  private static JsonNode kubernetesJobYaml() throws IOException {
    JsonNode cm = configMaps().get("tenant-export-job");
    assertThat(cm).as("ConfigMap tenant-export-job in configmap.yaml").isNotNull();
    return YAML.readTree(cm.at("/data/job.yaml").asText());
  }

  /** spec.flinkConfiguration, flattened: nested YAML is allowed by the operator. */
  private static Map<String, String> flinkConfiguration(JsonNode fd) {
    JsonNode conf = fd.at("/spec/flinkConfiguration");
    assertThat(conf.isObject()).as("spec.flinkConfiguration").isTrue();
    return flatten(conf);
  }

  /** A YAML tree as Flink reads config.yaml: nested keys joined with dots, scalars as text. */
  static Map<String, String> flatten(JsonNode node) {
    Map<String, String> out = new TreeMap<>();
    flatten("", node, out);
    return out;
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
      }
    } else {
      out.put(prefix, node.isValueNode() ? node.asText() : node.toString());
    }
  }

  /** LocalFlinkCluster's overrides of deploy/config.yaml (package-private there: reflection). */
  @SuppressWarnings("unchecked")
  private static Map<String, String> localOverrides() throws Exception {
    Method m =
        LocalFlinkCluster.class.getDeclaredMethod(
            "localOverrides", Path.class, int.class, int.class, int.class);
    m.setAccessible(true);
    return new LinkedHashMap<>(
        (Map<String, String>) m.invoke(null, Path.of("/local-work-dir"), 18081, 16123, 2));
  }

  private static JsonNode podTemplate(JsonNode fd) {
    return fd.at("/spec/podTemplate");
  }

  private static JsonNode mainContainer(JsonNode fd) {
    for (JsonNode c : podTemplate(fd).at("/spec/containers")) {
      if (c.path("name").asText().equals(MAIN_CONTAINER)) {
        return c;
      }
    }
    throw new AssertionError("no container " + MAIN_CONTAINER + " in spec.podTemplate");
  }

  private static List<JsonNode> env(JsonNode fd) {
    List<JsonNode> l = new ArrayList<>();
    mainContainer(fd).path("env").forEach(l::add);
    return l;
  }

  /** The volume mounted exactly at {@code dir} in the main container. */
  private static Optional<JsonNode> volumeMountedAt(JsonNode fd, Path dir) {
    for (JsonNode mount : mainContainer(fd).path("volumeMounts")) {
      if (Path.of(mount.path("mountPath").asText()).equals(dir)) {
        for (JsonNode v : podTemplate(fd).at("/spec/volumes")) {
          if (v.path("name").asText().equals(mount.path("name").asText())) {
            return Optional.of(v);
          }
        }
        throw new AssertionError("volumeMount " + mount + " names no volume");
      }
    }
    return Optional.empty();
  }

  /**
   * Where the pod's file {@code file} comes from, as {@code configMap|secret/<name>/<key>}: the
   * volume mounted at its folder, its items (or every key, as {@code <name>/<file name>}).
   */
  private static String source(JsonNode fd, Path file) {
    JsonNode volume =
        volumeMountedAt(fd, file.getParent())
            .orElseThrow(() -> new AssertionError("no volume mounted at " + file.getParent()));
    List<JsonNode> sources = new ArrayList<>();
    if (volume.has("projected")) {
      volume.at("/projected/sources").forEach(sources::add);
    } else {
      sources.add(volume);
    }
    String name = file.getFileName().toString();
    for (JsonNode s : sources) {
      for (String kind : List.of("configMap", "secret")) {
        if (!s.has(kind)) {
          continue;
        }
        JsonNode ref = s.get(kind);
        String refName =
            ref.has("secretName") ? ref.get("secretName").asText() : ref.path("name").asText();
        if (!ref.has("items")) {
          return kind + "/" + refName + "/" + name;
        }
        for (JsonNode item : ref.get("items")) {
          if (item.path("path").asText().equals(name)) {
            return kind + "/" + refName + "/" + item.path("key").asText();
          }
        }
      }
    }
    throw new AssertionError("the volume mounted at " + file.getParent() + " has no " + name);
  }
}
