"""The Helm chart, rendered and linted by Helm's own library and checked against Kubernetes' schemas."""

from __future__ import annotations

import copy
import re
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from support import CHART, DOCKERFILE, FULLNAME, NAMESPACE, Dockerfile, Rendered, render

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the pinned
# kubernetes-validate has schemas for.
KUBERNETES_VERSIONS = ("1.29", "1.37")
# Custom resources kubernetes-validate has no schema for; checked by hand below instead.
SKIPPED_KINDS = {"ServiceMonitor"}

SQLITE_GUARD = "database.type=sqlite supports exactly one replica"
EMULATOR_URL = f"https://{FULLNAME}-emulator.{NAMESPACE}.svc:8443"

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "postgres-3-replicas-hpa": {
        "replicaCount": 3,
        "database": {"type": "postgres", "postgres": {"existingSecret": "gateway-database"}},
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 10, "targetMemoryUtilizationPercentage": 80},
        "apiKeys": {"existingSecret": "gateway-api-keys"},
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        "networkPolicy": {
            "enabled": True,
            "ingressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "portal"}}}],
        },
    },
    "workload-identity": {
        "purview": {"endpoint": "https://contoso.purview.azure.com"},
        "azure": {
            "credential": "workloadIdentity",
            "clientId": "00000000-0000-0000-0000-0000000000c1",
            "tenantId": "00000000-0000-0000-0000-0000000000f1",
        },
        "apiKeys": {"existingSecret": "gateway-api-keys"},
    },
    "ingress-tls": {
        "purview": {"endpoint": "https://contoso.purview.azure.com"},
        "azure": {
            "credential": "clientCertificate",
            "clientId": "00000000-0000-0000-0000-0000000000c1",
            "tenantId": "00000000-0000-0000-0000-0000000000f1",
            "existingSecret": "gateway-azure",
        },
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "annotations": {"cert-manager.io/cluster-issuer": "internal"},
            "hosts": [{"host": "purview-gateway.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"secretName": "purview-gateway-tls", "hosts": ["purview-gateway.example.com"]}],
        },
        "config": {"caBundle": {"configMap": "corporate-ca"}, "httpsProxy": "http://proxy.internal:3128"},
    },
    "emulator": {
        "emulator": {
            "enabled": True,
            "tls": {"existingSecret": "emulator-tls"},
            "config": {"clients": [{"clientId": "gateway"}]},
        },
        "azure": {
            "credential": "clientSecret",
            "clientId": "gateway",
            "tenantId": "00000000-0000-0000-0000-0000000000f1",
            "existingSecret": "gateway-azure",
        },
        "networkPolicy": {"enabled": True},
    },
}


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in override.items():
        nested = isinstance(value, dict) and isinstance(result.get(key), dict)
        result[key] = merged(result[key], value) if nested else value
    return result


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> tuple[str, Rendered]:
    return request.param, Rendered.of(VALUE_SETS[request.param])


def render_error(values: dict[str, Any]) -> str:
    with pytest.raises((helm_python.HelmRenderError, helm_python.HelmValuesError)) as caught:
        render(values)
    return str(caught.value)


# Helm lint and Kubernetes schemas ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_lint_strict_passes(name: str) -> None:
    report = helm_python.lint(CHART, VALUE_SETS[name], strict=True, namespace=NAMESPACE)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; strict lint treats both as failures.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_strict_catches_a_broken_chart(tmp_path) -> None:
    broken = tmp_path / "purview-gateway"
    broken.mkdir()
    (broken / "Chart.yaml").write_text("apiVersion: v2\nname: purview-gateway\nversion: not-semver\n")
    (broken / "values.yaml").write_text("{}\n")
    report = helm_python.lint(broken, strict=True)
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 2]


def test_every_manifest_matches_kubernetes_schemas(value_set: tuple[str, Rendered]) -> None:
    name, rendered = value_set
    assert rendered.documents, f"{name}: nothing rendered"
    checked = 0
    for document in rendered.documents:
        if document["kind"] in SKIPPED_KINDS:
            assert document["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        for version in KUBERNETES_VERSIONS:
            # Raises ValidationError (unknown or mistyped field, strict) or SchemaNotFoundError.
            kubernetes_validate.validate(document, version, strict=True)
        checked += 1
    assert checked >= 5


def test_schema_validation_catches_an_unknown_field() -> None:
    document = Rendered.of({}).one("Deployment")
    document["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSIONS[-1], strict=True)


def test_minimum_kubernetes_version_matches_chart() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}.0-0"
    assert chart["apiVersion"] == "v2"


# Values schema --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, where",
    [
        ({"replicaCont": 1}, "replicaCont"),
        ({"database": {"typ": "postgres"}}, "typ"),
        ({"database": {"type": "mysql"}}, "database/type"),
        ({"azure": {"credential": "password"}}, "azure/credential"),
        ({"azure": {"clientSecret": "hunter2"}}, "clientSecret"),
        ({"terminationGracePeriodSeconds": 10}, "terminationGracePeriodSeconds"),
        ({"ingress": {"enabled": True, "hosts": [{"host": "a.example.com", "path": "/"}]}}, "ingress/hosts/0"),
        ({"emulator": {"tls": {"existingSecrets": "x"}}}, "existingSecrets"),
        ({"config": {"rateLimit": {"perSecnd": 5}}}, "perSecnd"),
        ({"config": {"purviewBudget": {"maxInFlight": 5000}}}, "config/purviewBudget/maxInFlight"),
    ],
)
def test_values_schema_rejects_typos_and_bad_values(values: dict[str, Any], where: str) -> None:
    message = render_error(values)
    assert "schema" in message and where in message, message


def test_values_yaml_documents_every_top_level_key() -> None:
    text = (CHART / "values.yaml").read_text()
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    values = yaml.safe_load(text)
    assert set(values) == set(schema["properties"]) - {"global"}
    assert schema["additionalProperties"] is False
    for key, sub in schema["properties"].items():
        if sub.get("type") == "object" and "properties" in sub:
            assert sub["additionalProperties"] is False, key


# SQLite: one replica, one writer --------------------------------------------------------------------


@pytest.mark.parametrize("replicas", [2, 3])
def test_sqlite_with_several_replicas_fails_clearly(replicas: int) -> None:
    message = render_error({"replicaCount": replicas})
    assert SQLITE_GUARD in message and f"replicaCount is {replicas}" in message
    assert "database.type=postgres" in message


def test_sqlite_with_autoscaler_fails_clearly() -> None:
    message = render_error({"autoscaling": {"enabled": True}})
    assert SQLITE_GUARD in message and "autoscaling.enabled" in message


def test_sqlite_uses_recreate_a_claim_and_no_disruption_budget() -> None:
    rendered = Rendered.of({"podDisruptionBudget": {"enabled": True}})
    deployment = rendered.one("Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1
    assert rendered.all("PodDisruptionBudget") == []
    assert rendered.all("HorizontalPodAutoscaler") == []
    claim = rendered.one("PersistentVolumeClaim", f"{FULLNAME}-data")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in rendered.gateway_container()["volumeMounts"]}
    assert mounts["data"] == "/var/lib/purview-gateway"
    assert rendered.gateway_config()["GATEWAY_DATABASE_URL"] == "sqlite:///var/lib/purview-gateway/gateway.db"


def test_sqlite_existing_claim_is_used_and_none_created() -> None:
    rendered = Rendered.of({"database": {"sqlite": {"persistence": {"existingClaim": "gateway-store"}}}})
    assert rendered.all("PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "gateway-store"


def test_postgres_rolls_with_budget_and_autoscaler() -> None:
    rendered = Rendered.of(VALUE_SETS["postgres-3-replicas-hpa"])
    deployment = rendered.one("Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert rendered.all("PersistentVolumeClaim") == []
    selector = deployment["spec"]["selector"]["matchLabels"]
    budget = rendered.one("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"] == selector
    autoscaler = rendered.one("HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 10)
    env = {e["name"]: e for e in rendered.gateway_container()["env"]}
    assert env["GATEWAY_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "gateway-database",
        "key": "GATEWAY_DATABASE_URL",
    }
    assert "GATEWAY_DATABASE_URL" not in rendered.gateway_config()


def test_postgres_with_one_replica_has_no_budget_that_would_block_drains() -> None:
    rendered = Rendered.of({"database": {"type": "postgres", "postgres": {"existingSecret": "db"}}})
    assert rendered.all("PodDisruptionBudget") == []
    assert rendered.one("Deployment")["spec"]["strategy"]["type"] == "RollingUpdate"


def test_postgres_without_secret_fails_clearly() -> None:
    assert "database.postgres.existingSecret" in render_error({"database": {"type": "postgres"}})


# Pod shape: probes, shutdown, security -----------------------------------------------------------------


def test_probes_ports_and_shutdown_grace(value_set: tuple[str, Rendered]) -> None:
    _, rendered = value_set
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    container = rendered.gateway_container()
    assert container["args"] == ["serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert rendered.gateway_config()["GATEWAY_LISTEN"] == "0.0.0.0:8080"
    probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")}
    assert probes["startup"]["path"] == "/healthz"
    assert probes["liveness"]["path"] == "/healthz"
    assert probes["readiness"]["path"] == "/readyz"
    assert {probe["port"] for probe in probes.values()} == {"http"}
    # The gateway's graceful shutdown takes at most 25 s; Kubernetes must not kill it sooner.
    assert pod["terminationGracePeriodSeconds"] == 30
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_runs_as_the_image_user_with_a_read_only_root(value_set: tuple[str, Rendered]) -> None:
    _, rendered = value_set
    dockerfile = Dockerfile.parse(DOCKERFILE.read_text())
    image_user = int(dockerfile.stages[-1].all("USER")[-1].split(":")[0])
    for deployment in rendered.all("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == image_user
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
            assert "/tmp" in writable


def test_service_selects_only_gateway_pods(value_set: tuple[str, Rendered]) -> None:
    _, rendered = value_set
    service = rendered.one("Service")
    pod_labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    for emulator in rendered.all("Deployment"):
        if emulator["metadata"]["name"] != FULLNAME:
            labels = emulator["spec"]["template"]["metadata"]["labels"]
            assert not service["spec"]["selector"].items() <= labels.items()


def test_config_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        return Rendered.of(values).one("Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) != checksum({"config": {"logLevel": "debug"}})


def test_quota_and_outbound_budget_reach_the_gateway_only_when_set() -> None:
    defaults = Rendered.of({}).gateway_config()
    for key in ("GATEWAY_RATE_LIMIT_PER_SECOND", "GATEWAY_RATE_LIMIT_BURST", "GATEWAY_PURVIEW_REQUESTS_PER_SECOND",
                "GATEWAY_PURVIEW_MAX_IN_FLIGHT"):
        assert key not in defaults, f"{key} set without a value: the gateway's own default must apply"
    config = Rendered.of({"config": {"rateLimit": {"perSecond": 20, "burst": 40},
                                     "purviewBudget": {"requestsPerSecond": 12.5, "maxInFlight": 8}}}).gateway_config()
    assert config["GATEWAY_RATE_LIMIT_PER_SECOND"] == "20"
    assert config["GATEWAY_RATE_LIMIT_BURST"] == "40"
    assert config["GATEWAY_PURVIEW_REQUESTS_PER_SECOND"] == "12.5"
    assert config["GATEWAY_PURVIEW_MAX_IN_FLIGHT"] == "8"
    off = Rendered.of({"config": {"rateLimit": {"disabled": True, "perSecond": 20}}}).gateway_config()
    assert off["GATEWAY_RATE_LIMIT_PER_SECOND"] == "0", "disabled turns the default quota off"


# Credentials and secrets ----------------------------------------------------------------------------------


def test_nothing_secret_is_rendered(value_set: tuple[str, Rendered]) -> None:
    name, rendered = value_set
    assert rendered.all("Secret") == [], "the chart only references Secrets the platform team creates"
    config = rendered.gateway_config()
    for key in config:
        assert not re.search(r"SECRET|PASSWORD|TOKEN", key), f"{name}: {key} in a ConfigMap"
    assert not config.get("GATEWAY_DATABASE_URL", "sqlite:").startswith("postgres")
    for entry in rendered.gateway_container().get("env", []):
        if re.search(r"SECRET|PASSWORD|TOKEN|DATABASE_URL", entry["name"]):
            assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], entry


def test_defaults_reference_no_secret_and_warn() -> None:
    rendered = Rendered.of({})
    text = yaml.safe_dump_all(rendered.documents)
    assert "secretKeyRef" not in text and "secretName" not in text
    assert "AZURE_" not in text
    assert "purview.endpoint is empty" in rendered.notes
    assert "apiKeys.existingSecret is empty" in rendered.notes


def test_workload_identity_label_and_service_account_annotation() -> None:
    rendered = Rendered.of(VALUE_SETS["workload-identity"])
    pod = rendered.one("Deployment")["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    account = rendered.one("ServiceAccount")
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
    annotations = account["metadata"]["annotations"]
    assert annotations["azure.workload.identity/client-id"] == "00000000-0000-0000-0000-0000000000c1"
    assert annotations["azure.workload.identity/tenant-id"] == "00000000-0000-0000-0000-0000000000f1"
    config = rendered.gateway_config()
    assert config["PURVIEW_ENDPOINT"] == "https://contoso.purview.azure.com"
    # The webhook injects these; a value from the chart would shadow the injected one.
    for injected in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"):
        assert injected not in config
    assert "env" not in rendered.gateway_container()


def test_no_workload_identity_label_without_a_purview_endpoint() -> None:
    rendered = Rendered.of({})
    assert "azure.workload.identity/use" not in rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert "annotations" not in rendered.one("ServiceAccount")["metadata"]


def test_workload_identity_needs_a_client_id() -> None:
    message = render_error({"purview": {"endpoint": "https://contoso.purview.azure.com"}})
    assert "azure.clientId" in message and "workloadIdentity" in message


def test_client_secret_comes_from_the_existing_secret() -> None:
    values = {
        "purview": {"endpoint": "https://contoso.purview.azure.com"},
        "azure": {"credential": "clientSecret", "clientId": "c", "tenantId": "t", "existingSecret": "gateway-azure"},
    }
    rendered = Rendered.of(values)
    env = {e["name"]: e for e in rendered.gateway_container()["env"]}
    assert env["AZURE_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "gateway-azure",
        "key": "AZURE_CLIENT_SECRET",
    }
    assert rendered.gateway_config()["AZURE_CLIENT_ID"] == "c"
    assert "azure.workload.identity/use" not in rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    del values["azure"]["existingSecret"]
    assert "azure.existingSecret" in render_error(values)


def test_client_certificate_is_mounted_as_a_file() -> None:
    rendered = Rendered.of(VALUE_SETS["ingress-tls"])
    path = rendered.gateway_config()["AZURE_CLIENT_CERTIFICATE_PATH"]
    mounts = {m["name"]: m for m in rendered.gateway_container()["volumeMounts"]}
    volumes = {v["name"]: v for v in rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert path == mounts["azure-certificate"]["mountPath"] + "/client-certificate.pem"
    assert volumes["azure-certificate"]["secret"]["secretName"] == "gateway-azure"
    assert volumes["azure-certificate"]["secret"]["items"] == [
        {"key": "client-certificate.pem", "path": "client-certificate.pem"}
    ]
    assert rendered.gateway_config()["SSL_CERT_FILE"] == mounts["ca-bundle"]["mountPath"] + "/ca-certificates.crt"


def test_api_keys_secret_is_mounted_as_a_directory_for_reloads() -> None:
    rendered = Rendered.of(VALUE_SETS["workload-identity"])
    mount = next(m for m in rendered.gateway_container()["volumeMounts"] if m["name"] == "api-keys")
    assert "subPath" not in mount, "a subPath mount never sees Secret updates"
    assert rendered.gateway_config()["GATEWAY_API_KEYS_FILE"] == mount["mountPath"] + "/api-keys.json"


# Optional parts: ingress, metrics, network policy, emulator --------------------------------------------------


def test_ingress_with_tls_routes_to_the_service() -> None:
    rendered = Rendered.of(VALUE_SETS["ingress-tls"])
    ingress = rendered.one("Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "purview-gateway-tls", "hosts": ["purview-gateway.example.com"]}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = rendered.one("Service")
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert Rendered.of({}).all("Ingress") == []


def test_service_monitor_scrapes_metrics_on_the_service_port() -> None:
    rendered = Rendered.of(VALUE_SETS["postgres-3-replicas-hpa"])
    monitor = rendered.one("ServiceMonitor")
    service = rendered.one("Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_network_policy_allows_the_port_and_restricts_egress() -> None:
    rendered = Rendered.of(VALUE_SETS["postgres-3-replicas-hpa"])
    policy = rendered.one("NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert {53, 443, 5432} <= egress_ports
    assert Rendered.of({}).all("NetworkPolicy") == []


def test_emulator_deployment_and_gateway_wiring() -> None:
    rendered = Rendered.of(VALUE_SETS["emulator"])
    emulator = rendered.one("Deployment", f"{FULLNAME}-emulator")
    container = emulator["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == [
        "emulator", "--listen", "0.0.0.0:8443", "--config", "/etc/purview-emulator/config.json",
        "--tls-cert", "/etc/purview-emulator/tls/tls.crt", "--tls-key", "/etc/purview-emulator/tls/tls.key",
    ]  # fmt: skip
    assert emulator["spec"]["replicas"] == 1 and emulator["spec"]["strategy"]["type"] == "Recreate"
    config = yaml.safe_load(rendered.one("ConfigMap", f"{FULLNAME}-emulator")["data"]["config.json"])
    assert config == VALUE_SETS["emulator"]["emulator"]["config"]
    service = rendered.one("Service", f"{FULLNAME}-emulator")
    assert service["spec"]["selector"].items() <= emulator["spec"]["template"]["metadata"]["labels"].items()
    gateway = rendered.gateway_config()
    assert gateway["PURVIEW_ENDPOINT"] == EMULATOR_URL
    assert gateway["AZURE_AUTHORITY_HOST"] == EMULATOR_URL
    ca_mount = next(m for m in rendered.gateway_container()["volumeMounts"] if m["name"] == "emulator-ca")
    assert gateway["SSL_CERT_FILE"] == ca_mount["mountPath"] + "/ca.crt"
    volumes = {v["name"]: v for v in rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["emulator-ca"]["secret"] == {
        "secretName": "emulator-tls",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }


def test_emulator_alone_makes_its_own_certificate() -> None:
    rendered = Rendered.of({"emulator": {"enabled": True, "connectGateway": False}})
    args = rendered.one("Deployment", f"{FULLNAME}-emulator")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-2:] == ["--self-signed", "/var/lib/purview-emulator/tls"]
    assert "PURVIEW_ENDPOINT" not in rendered.gateway_config()


def test_emulator_connection_needs_a_shared_certificate() -> None:
    values = merged(VALUE_SETS["emulator"], {"emulator": {"tls": {"existingSecret": ""}}})
    message = render_error(values)
    assert "emulator.tls.existingSecret" in message and "self-signed" in message
