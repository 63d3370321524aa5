"""Cost and size report: what each configuration costs to keep, and to use.

python -m tools.report      # or: make report

Prints one row per parameter file in generated/params (template bytes, resources created, idle
cost per month, 1,000 vCPU-hours of Batch work on demand and on Spot) with each row's items
beneath it, the upstream template's defaults priced the same way on the first line, and writes
the bar chart docs/idle-cost.svg.
"""

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from templates_src.contract import OUTPUTS
from tools.cfn_eval import read_parameter_file
from tools.cost_model import Estimate, UnpricedResource, estimate, load_prices

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "generated" / "metaflow.json"
PARAMS = ROOT / "generated" / "params"
CHART = ROOT / "docs" / "idle-cost.svg"
DIRECT_DEPLOY_LIMIT = 51_200
IDLE_BUDGET = 30.0
UPSTREAM = "upstream"
QUEUE_OUTPUT = next(o.name for o in OUTPUTS if o.config_key == "METAFLOW_BATCH_JOB_QUEUE")


def upstream_bom() -> dict:
    """The well-known hand-written Metaflow template (Netflix/metaflow-tools, 2021) at its defaults,
    reduced to what it keeps running, as a template the same model prices:

    - Batch on EC2 with 8 minimum vCPUs on the c4 family (4 x c4.large), in public subnets;
    - a SageMaker notebook, on by default, ml.t2.xlarge;
    - RDS PostgreSQL db.t3.small with 20 GB of gp2;
    - the metadata service on Fargate, 0.5 vCPU / 1 GB x86, with a public IP, behind an internal
      network load balancer;
    - two Secrets Manager secrets (database credentials, a random notebook-name suffix).
    """
    subnet = {"Ref": "Subnet"}
    return {
        "Resources": {
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"MapPublicIpOnLaunch": True}},
            "Batch": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {
                    "ComputeResources": {
                        "Type": "EC2",
                        "MinvCpus": 8,
                        "InstanceTypes": ["c4.large"],
                        "Subnets": [subnet],
                    }
                },
            },
            "Queue": {
                "Type": "AWS::Batch::JobQueue",
                "Properties": {
                    "ComputeEnvironmentOrder": [
                        {"Order": 1, "ComputeEnvironment": {"Ref": "Batch"}}
                    ]
                },
            },
            "Notebook": {
                "Type": "AWS::SageMaker::NotebookInstance",
                "Properties": {"InstanceType": "ml.t2.xlarge"},
            },
            "Database": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "Engine": "postgres",
                    "DBInstanceClass": "db.t3.small",
                    "AllocatedStorage": 20,
                    "StorageType": "gp2",
                },
            },
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"RequiresCompatibilities": ["FARGATE"], "Cpu": 512, "Memory": 1024},
            },
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "Task"},
                    "DesiredCount": 1,
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED"}},
                },
            },
            "LoadBalancer": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Type": "network", "Scheme": "internal"},
            },
            "DatabaseSecret": {"Type": "AWS::SecretsManager::Secret"},
            "NameSecret": {"Type": "AWS::SecretsManager::Secret"},
        },
        "Outputs": {QUEUE_OUTPUT: {"Value": {"Ref": "Queue"}}},
    }


def minified_size(template: dict) -> int:
    return len(json.dumps(template, separators=(",", ":")).encode())


def configurations() -> list[tuple[str, dict[str, str]]]:
    files = sorted(PARAMS.glob("*.json"), key=lambda p: (p.stem != "default", p.stem))
    return [(path.stem, read_parameter_file(path)) for path in files]


def money(value: float) -> str:
    return f"${value:,.2f}"


def rows(template: dict, prices: dict) -> list[tuple[str, int | None, Estimate]]:
    result = [(UPSTREAM, None, estimate(upstream_bom(), {}, prices, QUEUE_OUTPUT))]
    size = minified_size(template)
    for name, values in configurations():
        result.append((name, size, estimate(template, values, prices, QUEUE_OUTPUT)))
    return result


def table(report: list[tuple[str, int | None, Estimate]], prices: dict) -> str:
    header = (
        f"{'configuration':<16}{'bytes/51,200':>13}{'resources':>11}{'idle':>15}"
        f"{'1,000 vCPU-h':>14}{'on Spot':>10}"
    )
    out = [header, "-" * len(header)]
    for name, size, est in report:
        on_demand, spot = est.batch_work or (None, None)
        out.append(
            f"{name:<16}{size if size else 'n/a':>13}{est.created if size else 'n/a':>11}"
            f"{money(est.total) + '/mo':>15}"
            f"{money(on_demand) if on_demand is not None else 'n/a':>14}"
            f"{money(spot) if spot is not None else 'n/a':>10}"
        )
        for line in sorted(est.lines, key=lambda line: -line.monthly):
            out.append(f"    {line.category:<16}{line.item:<48}{money(line.monthly):>10}")
        if est.free:
            services = sorted({kind.split("::")[1] for kind in est.free})
            out.append(f"    {'free at idle':<16}{len(est.free)} resources: {', '.join(services)}")
    spot = prices["spot"]
    out += [
        "",
        f"Prices: AWS on-demand list prices, {prices['region']}, read {prices['read']} "
        f"({prices['hours_per_month']} h/month); see tools/prices.json for sources.",
        f"Spot: assumed {spot['discount']:.0%} below on-demand ({spot['source']}).",
        f"{UPSTREAM}: the hand-written Metaflow template's defaults as a bill of materials "
        "(tools/report.py, upstream_bom).",
    ]
    return "\n".join(out)


def chart(report: list[tuple[str, int | None, Estimate]], prices: dict) -> str:
    """A horizontal bar chart of idle cost per configuration, with the budget marked."""
    bar_h, gap, left, width, top = 26, 10, 130, 460, 40
    scale = width / max(est.total for _, _, est in report)
    height = top + len(report) * (bar_h + gap) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 110}" height="{height}" '
        'font-family="sans-serif" font-size="13">',
        f'<text x="10" y="22" font-size="15" font-weight="bold">Idle cost per month '
        f"({escape(prices['region'])}, prices read {escape(prices['read'])})</text>",
    ]
    for index, (name, _, est) in enumerate(report):
        y = top + index * (bar_h + gap)
        colour = "#b0413e" if name == UPSTREAM else "#2f6f9f"
        parts += [
            f'<text x="{left - 8}" y="{y + bar_h * 0.7:.0f}" text-anchor="end">'
            f"{escape(name)}</text>",
            f'<rect x="{left}" y="{y}" width="{max(est.total * scale, 1):.1f}" height="{bar_h}" '
            f'fill="{colour}"/>',
            f'<text x="{left + est.total * scale + 6:.1f}" y="{y + bar_h * 0.7:.0f}">'
            f"{money(est.total)}/mo</text>",
        ]
    budget_x = left + IDLE_BUDGET * scale
    bottom = top + len(report) * (bar_h + gap)
    parts += [
        f'<line x1="{budget_x:.1f}" y1="{top - 6}" x2="{budget_x:.1f}" y2="{bottom}" '
        'stroke="#333" stroke-dasharray="4 3"/>',
        f'<text x="{budget_x:.1f}" y="{bottom + 16}" text-anchor="middle">'
        f"${IDLE_BUDGET:.0f} budget</text>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main() -> int:
    prices = load_prices()
    template = json.loads(TEMPLATE.read_text())
    try:
        report = rows(template, prices)
    except UnpricedResource as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(table(report, prices))
    CHART.parent.mkdir(parents=True, exist_ok=True)
    CHART.write_text(chart(report, prices))
    print(f"\nwrote {CHART.relative_to(ROOT)}")
    size = minified_size(template)
    if size > DIRECT_DEPLOY_LIMIT:
        print(f"error: template is {size} bytes, over {DIRECT_DEPLOY_LIMIT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
