"""cfn-lint and checkov on the generated template, with the repository's configs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cfn_lint_reports_nothing(packaged, infra_bin):
    result = subprocess.run(
        [str(infra_bin / "cfn-lint")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    # The template list and ignore_checks (each with its reason) are in .cfnlintrc.
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_checkov_finds_nothing_unsuppressed(packaged, infra_bin):
    result = subprocess.run(
        [str(infra_bin / "checkov"), "--config-file", ".checkov.yaml", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    print(
        f"checkov: {summary['passed']} passed, {summary['failed']} failed "
        f"({len(suppressed_checks())} check ids suppressed in .checkov.yaml)"
    )
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 30
    assert failed == [], "\n".join(failed)
    assert result.returncode == 0


def suppressed_checks() -> list[tuple[str, str]]:
    """(check id, its reason) for every skip-check entry; a reason is a comment beside it
    or the comment block right above it."""
    entries, reason, after_entry = [], "", False
    for line in (ROOT / ".checkov.yaml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            reason = stripped if after_entry else reason + stripped
            after_entry = False
        elif match := re.match(r"-\s*(CKV2?_[A-Z]+_\d+)\s*(#.*)?$", stripped):
            entries.append((match.group(1), (match.group(2) or "") + reason))
            after_entry = True
        else:
            reason, after_entry = "", False
    return entries


def test_every_checkov_suppression_has_a_reason():
    entries = suppressed_checks()
    assert entries
    for check_id, reason in entries:
        assert len(reason) > 20, check_id


def test_every_cfn_lint_suppression_has_a_reason():
    text = (ROOT / ".cfnlintrc").read_text()
    ignored = re.findall(r"^\s*-\s*([EWI]\d{4})\s*$", text, flags=re.M)
    assert ignored
    for rule in ignored:
        before = text.split(f"- {rule}")[0].rstrip().splitlines()[-1]
        assert before.strip().startswith("#"), rule
