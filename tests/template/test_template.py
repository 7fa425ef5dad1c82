"""Checks of template.yaml that cfn-lint does not make: least privilege, and the settings the
function depends on. Run by scripts/test with the project's .venv (cfn-lint brings the
CloudFormation YAML parser and the SAM translator used here)."""

import copy
import os
import unittest

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")

# Every action the function needs; each supports resource-level permissions.
EXPECTED_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:TagResource",
}


def load():
    template, errors = decode(TEMPLATE)
    assert not errors, errors
    return template


def statements(template):
    """Every statement of every inline policy of every IAM role, with where it stands."""
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                # A conditional statement: both branches count (AWS::NoValue is no statement).
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                for branch in branches:
                    if isinstance(branch, dict) and "Action" in branch:
                        yield f"{name}/{policy['PolicyName']}", branch


def as_list(value):
    return value if isinstance(value, list) else [value]


def wildcard_problems(template):
    problems = []
    for where, statement in statements(template):
        for resource in as_list(statement["Resource"]):
            if resource == "*" or (isinstance(resource, str) and resource.endswith(":*")):
                problems.append(f"{where}: {statement['Action']} on {resource!r}")
    return problems


def transformed():
    """The template as CloudFormation sees it after the SAM transform."""
    template = load()
    template["Resources"]["WebhookFunction"]["Properties"]["CodeUri"] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self):
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, {}, NoManagedPolicies())


class LeastPrivilege(unittest.TestCase):
    def test_no_statement_grants_an_action_on_a_wildcard_resource(self):
        self.assertEqual(wildcard_problems(load()), [])

    def test_the_check_catches_an_injected_wildcard(self):
        template = load()
        role = template["Resources"]["FunctionRole"]["Properties"]
        bad = copy.deepcopy(role["Policies"][-1])
        bad["PolicyDocument"]["Statement"][0]["Resource"] = "*"
        role["Policies"].append(bad)
        self.assertEqual(len(wildcard_problems(template)), 1)

    def test_only_the_needed_actions_are_granted(self):
        granted = {a for _, s in statements(load()) for a in as_list(s["Action"])}
        self.assertEqual(granted, EXPECTED_ACTIONS)

    def test_the_function_uses_the_least_privilege_role(self):
        props = load()["Resources"]["WebhookFunction"]["Properties"]
        self.assertEqual(props["Role"], {"Fn::GetAtt": ["FunctionRole", "Arn"]})
        self.assertNotIn("Policies", props)

    def test_only_the_function_url_is_public(self):
        public = [
            r["Properties"]
            for r in transformed()["Resources"].values()
            if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal") == "*"
        ]
        self.assertTrue(public)
        for permission in public:
            via_url = permission.get("FunctionUrlAuthType") == "NONE" or permission.get("InvokedViaFunctionUrl") is True
            self.assertTrue(via_url, permission)


class FunctionSettings(unittest.TestCase):
    def setUp(self):
        self.template = load()
        self.function = self.template["Resources"]["WebhookFunction"]
        self.props = self.function["Properties"]

    def test_it_is_built_by_cargo_lambda_for_arm64_on_al2023(self):
        self.assertEqual(self.function["Metadata"]["BuildMethod"], "rust-cargolambda")
        self.assertEqual(self.function["Metadata"]["BuildProperties"]["Binary"], "tooken-webhook")
        self.assertEqual(self.props["Runtime"], "provided.al2023")
        self.assertEqual(self.props["Architectures"], ["arm64"])
        self.assertEqual(self.props["Handler"], "bootstrap")

    def test_the_timeout_lies_between_the_reconcile_budget_and_tookens_delivery_timeout(self):
        budget_s = int(self.props["Environment"]["Variables"]["TOOKEN_RECONCILE_BUDGET_MS"]) / 1000
        self.assertGreater(self.props["Timeout"], budget_s)
        self.assertLess(self.props["Timeout"], 10)

    def test_the_url_is_unauthenticated_because_the_signature_authenticates(self):
        self.assertEqual(self.props["FunctionUrlConfig"]["AuthType"], "NONE")
        outputs = self.template["Outputs"]
        self.assertEqual(outputs["FunctionUrl"]["Value"], {"Fn::GetAtt": ["WebhookFunctionUrl", "FunctionUrl"]})
        self.assertIn("WebhookSecretArn", outputs)

    def test_logs_are_json_with_a_retention_period(self):
        self.assertEqual(self.props["LoggingConfig"]["LogFormat"], "JSON")
        group = self.template["Resources"]["LogGroup"]["Properties"]
        self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionInDays"})

    def test_concurrency_is_capped_by_a_parameter(self):
        self.assertIn("ReservesConcurrency", str(self.props["ReservedConcurrentExecutions"]))
        self.assertEqual(self.template["Parameters"]["ReservedConcurrency"]["Default"], 1)

    def test_every_variable_of_the_function_is_set(self):
        with open(os.path.join(ROOT, ".env.example")) as f:
            documented = {
                line.lstrip("# ").split("=", 1)[0]
                for line in f
                if line.lstrip("# ").startswith("TOOKEN_") and "=" in line
            }
        # Local-only forms of the two secrets, and the targets-file form, have no place on Lambda.
        local_only = {"TOOKEN_WEBHOOK_SECRET", "TOOKEN_ADMIN_TOKEN", "TOOKEN_TARGETS_FILE"}
        self.assertEqual(set(self.props["Environment"]["Variables"]), documented - local_only)

    def test_every_environment_variable_is_one_the_function_reads(self):
        with open(os.path.join(ROOT, ".env.example")) as f:
            documented = f.read()
        for name in self.props["Environment"]["Variables"]:
            self.assertIn(f"{name}=", documented, name)

    def test_cargo_lambda_deploys_the_same_memory_timeout_and_environment(self):
        import tomllib

        with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
            deploy = tomllib.load(f)["package"]["metadata"]["lambda"]["deploy"]
        self.assertEqual(deploy["memory"], self.props["MemorySize"])
        self.assertEqual(deploy["timeout"], self.props["Timeout"])
        variables = self.props["Environment"]["Variables"]
        for name, value in deploy["env"].items():
            self.assertEqual(variables[name], value, name)


if __name__ == "__main__":
    unittest.main()
