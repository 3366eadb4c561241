"""`inv test`'s command line: the suite spread over the cores, one process on request or for the end-to-end tests,
and a bad worker count refused with one message before anything is installed or run."""
import sys

from hypothesis import given
from hypothesis import strategies as st

from kfp_laptop.errors import UserError
from laptop import suite


def test_the_suite_uses_one_worker_more_than_the_cores_up_to_the_limit(monkeypatch):
    for cores, workers in [(1, 2), (2, 3), (16, suite.MAX_WORKERS), (None, 2)]:
        monkeypatch.setattr(suite.os, "cpu_count", lambda cores=cores: cores)
        assert suite.pytest_command() == [sys.executable, "-m", "pytest", "-n", str(workers), "--dist", "loadgroup"]


def test_zero_workers_and_the_end_to_end_tests_run_in_one_process():
    assert suite.pytest_command(workers="0") == [sys.executable, "-m", "pytest"]
    assert suite.pytest_command(k="watchdog", e2e=True) == [sys.executable, "-m", "pytest", "-k", "watchdog"]
    assert suite.pytest_command(workers=3, e2e=True)[3:5] == ["-n", "3"], "asked for, the e2e tests spread too"


@given(st.text(max_size=8))
def test_a_worker_count_is_a_whole_number_or_one_message(value):
    try:
        command = suite.pytest_command(workers=value)
    except UserError as err:
        assert repr(value) in err.problem and "0" in err.fix
        return
    assert int(value) >= 0 and (command[3:5] == ["-n", str(int(value))] if int(value) else command[-1] == "pytest")



def test_the_suites_byte_code_goes_to_the_cache_unless_the_user_chose_a_place(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = suite.suite_environment({"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"})
    assert env == {"PYTHONPYCACHEPREFIX": str(tmp_path / "kfp-laptop" / "pycache"), "PATH": "/bin"}
    mine = {"PYTHONPYCACHEPREFIX": "/elsewhere", "PYTHONDONTWRITEBYTECODE": "1"}
    assert suite.suite_environment(mine) == mine
