"""``python -m bench --only status`` in a small mode: genuine population (signed in a
worker process, applied by the real module), every case measured both ways, rows written
equal for the big and the small issuers, served status lists equal to the changes."""

from __future__ import annotations

import pytest

from bench import status_bench


def test_status_bench_small_mode_runs_and_checks_itself(capsys: pytest.CaptureFixture[str]) -> None:
    out = status_bench.run(3000, samples=5, k_samples=2, workers=1, rounds=10, k=100, small=100)
    text = capsys.readouterr().out
    assert out["anchors"] == 3000 + 6 * 100  # big + susp + rev1 + 2 * 2 fresh revoke issuers
    assert "bits equal to the changes made" in text
    cases = {case for _path, case, _pos in out["rows"]}
    assert cases == {f"{a} {n}" for a in ("suspend", "unsuspend", "revoke") for n in (1, 100)}
    for (path, _case, pos), (big, small) in out["rows"].items():
        # steady state: one chunk, its list's meta, the issuer record (+ the fee payer)
        assert big == small == ({3} if path == "module" else {4}), (path, _case, pos)
    assert all(r > 0 for r in out["ratio"].values())
    for p50, p99 in out["serve"].values():
        assert 0 < p50 <= p99
