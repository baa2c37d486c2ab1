"""The `harvester serve` command: it prints the address that signs in, stops on Ctrl-C, and
says in one line when its port is taken or its [serve] table is wrong."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import requests

from harvester.web.app import COOKIE_NAME
from tests.support.cli import run_cli, write_config


def store_config(tmp_path, extra: str = "") -> str:
    return str(write_config(tmp_path / "h.toml", f"""\
[identity]
email = "ada@example.com"
[store]
url = "sqlite:///{tmp_path / 'store.db'}"
{extra}"""))


def test_serve_prints_the_address_that_signs_in_and_stops_on_ctrl_c(tmp_path, isolated_home):
    config = store_config(tmp_path)
    env = {**os.environ, "HARVESTER_HOME": str(isolated_home), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "harvester", "--config", config, "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()
        assert first.startswith("harvester serve: open http://127.0.0.1:"), first + process.stderr.read()
        url = first.split("open ", 1)[1].strip()
        session = requests.Session()
        assert session.get(url, timeout=10).status_code == 200 and COOKIE_NAME in session.cookies
        assert "Inbox" in session.get(url.split("/sign-in")[0] + "/", timeout=10).text
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err
    assert (isolated_home / "serve-secret").stat().st_mode & 0o077 == 0


def test_a_taken_port_is_one_line_and_exit_1(tmp_path):
    config = store_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("--config", config, "serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: Port {port} on 127.0.0.1 is in use (another `harvester serve`?). "
                                     "Pick another with --port, or set [serve] port.")


def test_a_bad_serve_table_names_the_key(tmp_path):
    config = store_config(tmp_path, '[serve]\nadress = "0.0.0.0"\n')
    result = run_cli("--config", config, "serve")
    assert result.exit_code == 2
    assert ("[serve]: unknown key 'adress'. Known keys: email_sign_in, host, link_days, port, trusted_proxies, url, "
            "user_header.") in result.output
    bad_url = store_config(tmp_path, '[serve]\nurl = "127.0.0.1:8765"\n')
    result = run_cli("--config", bad_url, "serve")
    assert result.exit_code == 2 and "url must start with http:// or https://" in result.output


def test_help_lists_the_keys():
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    assert "j/k move" in result.output and "--host" in result.output and "--port" in result.output
