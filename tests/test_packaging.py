"""The wheel ships one import namespace: harvester (with harvester.connectors and harvester.rules)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_claims_only_the_harvester_namespace(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("harvester-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"harvester", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert "harvester/connectors/mlflow/connector.py" in names and "harvester/store/store.py" in names
    assert "harvester/rules/metric_lift.py" in names
    # Every package of the source tree is in the wheel: a non-editable install imports them all.
    installed_as = {"harvester": "harvester", "connectors": "harvester/connectors", "rules": "harvester/rules"}
    for init in [p for top in installed_as for p in (ROOT / top).rglob("__init__.py")]:
        relative = init.relative_to(ROOT)
        assert f"{installed_as[relative.parts[0]]}/{'/'.join(relative.parts[1:])}" in names, relative
    assert "harvester/data/ml-engineer.toml" in names and "harvester/data/starter.toml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "harvester = harvester.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
