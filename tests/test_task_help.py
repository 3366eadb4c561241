"""The command line itself: every task's --help works and gives each option's type and default, a misspelled flag
or task gets the right one suggested, and render's network needs are said honestly with the flag that avoids them."""
import importlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invoke import Collection, Program

import tasks
from kfp_laptop.errors import UserError
from laptop.cli_hints import nearest

TASKS = sorted(Collection.from_module(tasks).task_names)


def invoke(capsys, *argv: str) -> tuple[str, str]:
    """`inv ARGV` in this process. The tasks are made afresh: invoke hands each option's help over once only."""
    Program(namespace=Collection.from_module(importlib.reload(tasks))).run(["inv", *argv], exit=False)
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.mark.parametrize("name", TASKS)
def test_every_task_has_help_with_types_and_defaults(capsys, name):
    out, err = invoke(capsys, name, "--help")
    assert err == "" and f"Usage: inv [--core-opts] {name}" in out
    options = out.split("Options:")[1] if "Options:" in out else ""
    # each option: its flags and help, possibly over several lines, up to the next option
    for block in re.split(r"\n(?=  -)", options.strip("\n")):
        flags = block.split()[0:2]
        if any("=" in f for f in flags) and "RUN" not in block.upper():   # takes a value (a flag defaults to off)
            assert "default" in " ".join(block.split()), (name, block)


@pytest.mark.parametrize("typo, expected", [(["run-wine", "--neighbours", "3"], "Did you mean --neighbors?"),
                                            (["run-wine", "--paralelism", "2"], "Did you mean --parallelism?"),
                                            (["clean", "--kepe", "1"], "Did you mean --keep?"),
                                            (["run-whine"], "Did you mean `inv run-wine`?"),
                                            (["stauts", "latest"], "Did you mean `inv status`?")])
def test_a_misspelled_flag_or_task_suggests_the_right_one(capsys, typo, expected):
    out, err = invoke(capsys, *typo)
    assert out.strip() == "" and f"No idea what '{typo[-2] if len(typo) > 2 else typo[0]}' is! {expected}" in err


@settings(deadline=None)
@given(st.sampled_from(["--neighbors", "--parallelism", "--test-size", "--random-state", "--verbose"]),
       st.integers(0, 20), st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
def test_one_wrong_letter_still_finds_the_flag(flag, position, letter):
    at = 2 + position % (len(flag) - 2)
    typo = flag[:at] + letter + flag[at + 1:]
    others = ["--neighbors", "--parallelism", "--test-size", "--random-state", "--verbose", "--local", "--target"]
    assert nearest(typo, others) == flag


def test_render_without_kubectl_names_the_flag_that_works_offline(tmp_path, monkeypatch):
    from infra.render import render_to

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))   # no cached render
    monkeypatch.setenv("PATH", str(tmp_path))                        # no kubectl
    with pytest.raises(UserError) as caught:
        render_to(tmp_path / "out")
    assert "kubectl" in caught.value.problem
    assert "--kfp-manifests FOLDER" in caught.value.fix and "kfp-laptop:" not in caught.value.fix


def test_render_and_image_plan_say_what_needs_the_network(capsys):
    for name in ("render", "image-plan"):
        text = " ".join(invoke(capsys, name, "--help")[0].split())
        assert "needs the network once" in text and "--kfp-manifests" in text and "offline" in text


def test_report_takes_its_optional_run_as_a_positional_argument(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        invoke(capsys, "report", "latest")
    assert stopped.value.code == 1 and "no local runs under" in capsys.readouterr().err
