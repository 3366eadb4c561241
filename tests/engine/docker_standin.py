"""A `docker` stand-in for the engine tier (this machine has the Docker client but no engine): just what the
registry steps and `inv up` call (`info`, `ps -aq --filter name=^N$`, `run -d ... -p 127.0.0.1:H:C ...`, `start`,
`rm -f`). A "container" is a real process holding its published port on 127.0.0.1 and answering the registry's
`/v2/` with 200, so port checks see it exactly as they would see the real container. State: $KFP_LAPTOP_DOCKER_STATE.
"""
from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ.get("KFP_LAPTOP_DOCKER_STATE", "/nonexistent"))


def _containers() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in STATE.glob("*.json")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _start(name: str, spec: dict) -> None:
    if spec.get("pid") and _alive(spec["pid"]):
        return
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(spec["port"])], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spec["pid"] = proc.pid
    (STATE / f"{name}.json").write_text(json.dumps(spec))


def _serve(port: int) -> None:
    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path.startswith("/v2/") else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Registry).serve_forever(poll_interval=0.05)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        _serve(int(argv[1]))
        return 0
    STATE.mkdir(parents=True, exist_ok=True)
    verb, rest = argv[0], argv[1:]
    if verb == "info":   # `inv up` asks `--format '{{json .}}'` (laptop/host.py), older callers one field
        info = {"ServerVersion": "27.0.0-standin", "Architecture": "x86_64", "OSType": "linux",
                "NCPU": os.cpu_count(), "MemTotal": 8 << 30}
        fmt = rest[rest.index("--format") + 1] if "--format" in rest else "{{json .}}"
        print(json.dumps(info) if fmt == "{{json .}}" else next((str(v) for k, v in info.items() if k in fmt), ""))
    elif verb == "ps":
        wanted = rest[rest.index("--filter") + 1].removeprefix("name=^").removesuffix("$")
        if wanted in _containers():
            print(wanted)
    elif verb == "run":
        name = rest[rest.index("--name") + 1]
        port = int(rest[rest.index("-p") + 1].split(":")[1])
        _start(name, {"port": port})
        print(name)
    elif verb == "start":
        _start(rest[0], _containers()[rest[0]])
    elif verb == "rm":
        for name in (a for a in rest if not a.startswith("-")):
            spec = _containers().get(name)
            if spec is None:
                print(f"Error response from daemon: No such container: {name}", file=sys.stderr)
                return 1
            if spec.get("pid") and _alive(spec["pid"]):
                os.kill(spec["pid"], signal.SIGTERM)
            (STATE / f"{name}.json").unlink()
    else:
        print(f"docker stand-in: `{verb}` is not simulated", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
