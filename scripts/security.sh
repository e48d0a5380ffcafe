#!/usr/bin/env bash
# Security scans for CI (.ci/run) and by hand: bandit on the shipped code, pip-audit on the installed
# dependencies. Fails on a real finding. When the advisory service (PyPI's JSON API / OSV) cannot be
# reached, pip-audit audits nothing: this says so loudly and does not fail, because that is not a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "bandit (configuration and reviewed skips: pyproject.toml [tool.bandit], docs/quality.md)"
bandit -c pyproject.toml -q -r apps config scripts/load 2>/dev/null
echo "bandit: no findings"

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# The project itself is installed editable (not on PyPI): skip it; audit everything it pulls in.
pip-audit --skip-editable --progress-spinner off --format json --output "$report" 2>/dev/null || true
python - "$report" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("pip-audit: NOT AUDITED - the advisory service could not be reached (no report).")
    sys.exit(0)
deps = data.get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
for name, version, v in vulnerable:
    print(f"pip-audit: {name} {version}: {v['id']} fixed in {', '.join(v.get('fix_versions') or ['(no fix)'])}")
if vulnerable:
    sys.exit(1)
if not audited:
    print(f"pip-audit: NOT AUDITED - the advisory service could not be reached for any of {len(deps)} packages "
          "(offline or a private index). No finding either way; run `bash scripts/security.sh` with network access.")
else:
    print(f"pip-audit: {len(audited)} packages audited, no known vulnerabilities "
          f"({len(deps) - len(audited)} not found on PyPI, e.g. local builds).")
PY
