"""`python -m demo.run` itself: it refuses an unknown parameter file before starting anything, and
stops the emulator when a step fails."""

import os
import tempfile

import pytest

from demo import run


def test_unknown_params_are_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exited:
        run.main(["--params", "no-such-file"])
    assert exited.value.code == 2
    assert "default" in capsys.readouterr().err


def test_a_failing_step_stops_the_emulator(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []

    def fail(self, params):
        seen.append(self.emulator)
        assert self.emulator.process.poll() is None
        raise run.DemoError("a step failed")

    monkeypatch.setattr(run.Demo, "walkthrough", fail)
    assert run.main(["--params", "default"]) == 1
    (emulator,) = seen
    assert emulator.process.poll() is not None
    assert "demo failed: a step failed" in capsys.readouterr().err
    assert os.environ.get("AWS_ENDPOINT_URL") != emulator.url  # the environment is restored
