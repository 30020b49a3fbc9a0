"""Tests for the Luna daemon simulator (stdlib unittest).

Run from the repository root:  python3 -m unittest sim/test_luna_daemon_sim.py

Every test starts the simulator as a subprocess on free ports and kills it
(by PID) in a cleanup, so no process survives the run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import pickletools
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from typing import Any, List, Optional, Tuple

SIM = Path(__file__).resolve().with_name("luna_daemon_sim.py")

# §12 suggested regexes
DIRECT_RE = re.compile(r"^(\S+ \S+) - (\S+) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - (.*)$")
TRAY_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - (.*)$")
LEGACY_RE = re.compile(r"^\[(\d\d:\d\d:\d\d)\] \[Daemon\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): (.*)$")


def free_port() -> int:
    """A port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def send_frame(sock: socket.socket, obj: Any) -> None:
    body = pickle.dumps(obj)
    sock.sendall(struct.pack(">Q", len(body)) + body)


def read_frame(sock: socket.socket) -> Tuple[Any, bytes]:
    length = int.from_bytes(recv_exact(sock, 8), "big")
    raw = recv_exact(sock, length)
    return pickle.loads(raw), raw


def call(sock: socket.socket, obj: Any) -> Any:
    send_frame(sock, obj)
    return read_frame(sock)[0]


def legacy_call(port: int, obj: Any) -> Tuple[Any, bytes]:
    """One legacy request on a fresh connection; returns (reply, bytes after the reply)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        body = pickle.dumps(obj)
        s.sendall(struct.pack(">I", len(body)) + body)
        length = struct.unpack(">I", recv_exact(s, 4))[0]
        reply = pickle.loads(recv_exact(s, length))
        rest = s.recv(100)
        return reply, rest


def _default_sigint() -> None:
    """Give the child the default SIGINT disposition.

    A shell starts background jobs with SIGINT ignored and children inherit it,
    which would make the Ctrl+C test depend on how the test run was launched.
    (Node's child_process, through libuv, also resets signals to default.)
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class SimProcess:
    """A running simulator with its stdout/stderr collected line by line."""

    def __init__(self, *extra: str, port: Optional[int] = None, ws_port: Optional[int] = None,
                 env: Optional[dict] = None, fast_start: bool = True) -> None:
        self.port = free_port() if port is None else port
        self.ws_port = free_port() if ws_port is None else ws_port
        # The ~1 s start-up delay (importing torch) is skipped unless a test is about start-up.
        fast = ["--startup-delay", "0"] if fast_start else []
        cmd = [sys.executable, str(SIM), "--port", str(self.port), "--ws-port", str(self.ws_port), *fast, *extra]
        full_env = dict(os.environ)
        full_env.pop("LUNA_ATTENTION_MODE", None)
        full_env.pop("PYTHONUNBUFFERED", None)  # the simulator must flush by itself
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, preexec_fn=_default_sigint
        )
        self.stderr: List[str] = []
        self.stdout: List[str] = []
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream: Any, sink: List[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._cond:
                sink.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, needle: str, timeout: float = 5.0, stream: str = "stderr") -> str:
        sink = self.stderr if stream == "stderr" else self.stdout
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in sink:
                    if needle in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line containing {needle!r} within {timeout}s; got:\n" + "\n".join(sink[-30:]))
                self._cond.wait(min(remaining, 0.2))

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait for "Luna Daemon Ready!" and the "====" rule logged right after it."""
        self.wait_line("Luna Daemon Ready!", timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any("Luna Daemon Ready!" in l for l in self.stderr[:-1]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no line after 'Luna Daemon Ready!'")
                self._cond.wait(min(remaining, 0.2))

    def lines(self) -> List[str]:
        with self._cond:
            return list(self.stderr)

    def connect(self, timeout: float = 3.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def wait_exit(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(2)
        return code

    def kill(self) -> None:
        """Kill by PID if still running and reap it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class WsClient:
    """A tiny RFC 6455 client: handshake, masked text frames, unmasked server frames."""

    def __init__(self, port: int, path: str = "/any/path") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during handshake")
            response += chunk
        self.handshake = response.decode()
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert self.handshake.startswith("HTTP/1.1 101"), self.handshake
        assert f"Sec-WebSocket-Accept: {expected}" in self.handshake, self.handshake

    def recv_text(self) -> str:
        b0, b1 = recv_exact(self.sock, 2)
        assert b0 == 0x81, hex(b0)  # FIN + text
        assert not b1 & 0x80  # server frames are unmasked
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", recv_exact(self.sock, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", recv_exact(self.sock, 8))[0]
        return recv_exact(self.sock, length).decode()

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        assert len(payload) <= 125
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        self.sock.close()


def tolerant_json(text: str) -> Any:
    """Parse the monitor's JSON; Python's json accepts the bare Infinity token."""
    return json.loads(text)


class SimTestCase(unittest.TestCase):
    def start(self, *extra: str, ready: bool = True, **kw: Any) -> SimProcess:
        sim = SimProcess(*extra, **kw)
        self.addCleanup(sim.kill)
        if ready:
            sim.wait_ready()
        return sim

    def conn(self, sim: SimProcess) -> socket.socket:
        s = sim.connect()
        self.addCleanup(s.close)
        return s


class CurrentProtocolTests(SimTestCase):
    def test_ping_get_info_and_binget_memo(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        pong = call(s, {"cmd": "ping"})
        self.assertIs(pong["pong"], True)
        self.assertIsInstance(pong["time"], float)
        send_frame(s, {"cmd": "get_info"})
        info, raw = read_frame(s)
        self.assertEqual(
            list(info)[:8],
            ["status", "uptime_sec", "request_count", "clip_request_count", "vae_request_count",
             "service_type", "attention_mode", "devices"],
        )
        self.assertEqual(info["status"], "running")
        self.assertEqual(info["service_type"], "FULL")
        self.assertEqual(info["attention_mode"], "auto")
        self.assertEqual(info["devices"], {"clip": "cuda:1", "vae": "cuda:0", "llm": "cuda:1"})
        self.assertIs(info["devices"]["clip"], info["devices"]["llm"])  # one object after unpickling
        ops = [op.name for op, _, _ in pickletools.genops(raw)]
        self.assertEqual(ops[0], "PROTO")
        self.assertEqual(raw[1], pickle.DEFAULT_PROTOCOL)
        self.assertTrue({"BINGET", "LONG_BINGET"} & set(ops), ops)
        self.assertEqual(info["clip_pool"]["loaded_models"], [])
        self.assertEqual(set(info["clip_pool"]), {"type", "active_workers", "queue_depth", "total_requests",
                                                  "worker_ids", "workers_count", "loaded_models"})
        self.assertEqual(info["vram"], {"cuda:0": {"used_gb": 2.15, "total_gb": 24.0},
                                        "cuda:1": {"used_gb": 0.42, "total_gb": 12.0}})
        self.assertEqual(info["weight_registry_models"], [])
        self.assertEqual(call(s, {"cmd": "get_status"})["service_type"], "FULL")

    def test_no_gpus_omits_vram(self) -> None:
        for flags in (("--gpus", "0"), ("--no-cuda",)):
            sim = self.start(*flags, "--models-after", "-1")
            s = self.conn(sim)
            info = call(s, {"cmd": "get_info"})
            self.assertNotIn("vram", info)
            self.assertEqual(info["devices"], {"clip": "cuda:1", "vae": "cuda:0", "llm": "cuda:1"})
            devices = call(s, {"cmd": "get_devices"})
            self.assertEqual((devices["available_gpus"], devices["has_cuda"]), ([], False))
            self.assertEqual(devices["devices"], {"clip": "cuda:1", "vae": "cuda:0", "llm": "cuda:1"})
        self.assertEqual(call(s, {"cmd": "set_clip_device", "device": "cuda:0"}),
                         {"error": "Invalid CUDA device: cuda:0. Available: 0--1"})

    def test_request_count_rule(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        for _ in range(3):
            call(s, {"cmd": "ping"})
            call(s, {"cmd": "get_info"})
        self.assertEqual(call(s, {"cmd": "get_info"})["request_count"], 0)
        call(s, {"cmd": "get_status"})  # counted: there is no "status" command
        call(s, {"cmd": "get_devices"})
        call(s, {"cmd": "status"})  # unknown, and not counted
        call(s, {"cmd": "health"})  # unknown, counted
        self.assertEqual(call(s, {"cmd": "get_info"})["request_count"], 3)

    def test_models_appear_then_unload(self) -> None:
        sim = self.start("--models-after", "0.1")
        s = self.conn(sim)
        deadline = time.monotonic() + 3
        while True:
            info = call(s, {"cmd": "get_info"})
            if info["clip_pool"]["loaded_models"]:
                break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(info["clip_pool"]["loaded_models"], ["clip_l.safetensors", "clip_g.safetensors"])
        self.assertEqual(info["clip_pool"]["worker_ids"], [0])
        models = {m["type"]: m for m in info["weight_registry_models"]}
        self.assertEqual(set(models["vae"]), {"key", "type", "device", "memory_mb", "memory_gb", "tensor_count", "path"})
        self.assertEqual(set(models["clip"]) - set(models["vae"]), {"clip_l_path", "clip_g_path"})
        loaded_used = info["vram"]["cuda:1"]["used_gb"]
        self.assertGreater(loaded_used, 0.42)
        reply = call(s, {"cmd": "unload_models"})
        self.assertEqual(reply, {"success": True, "unloaded": ["CLIP"], "message": "Unloaded: CLIP"})
        info = call(s, {"cmd": "get_info"})
        self.assertNotIn("clip_pool", info)
        self.assertEqual(info["weight_registry_models"], [])
        self.assertEqual(info["vram"]["cuda:1"]["used_gb"], 0.42)
        self.assertEqual(call(s, {"cmd": "unload_models"}),
                         {"success": True, "unloaded": [], "message": "No models were loaded"})
        self.assertEqual(call(s, {"cmd": "sim_load_models"})["success"], True)
        self.assertEqual(call(s, {"cmd": "get_info"})["clip_pool"]["workers_count"], 1)

    def test_devices_and_setters(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        send_frame(s, {"cmd": "get_devices"})
        devices, raw = read_frame(s)
        self.assertEqual(devices, {"success": True, "devices": {"clip": "cuda:1", "vae": "cuda:0", "llm": "cuda:1"},
                                   "available_gpus": ["cuda:0", "cuda:1"], "has_cuda": True})
        self.assertIn("BINGET", [op.name for op, _, _ in pickletools.genops(raw)])
        sim.wait_line("[Daemon] Handling get_devices request")
        sim.wait_line("[Daemon] Returning get_devices response: {'success': True")
        cases = [
            ({"cmd": "set_clip_device"}, {"error": "device parameter required"}),
            ({"cmd": "set_vae_device", "device": "cuda:9"}, {"error": "Invalid CUDA device: cuda:9. Available: 0-1"}),
            ({"cmd": "set_llm_device", "device": "cuda:x"}, {"error": "Invalid device format: cuda:x"}),
            ({"cmd": "set_clip_device", "device": "gpu0"}, {"error": "Invalid device: gpu0. Use 'cpu' or 'cuda:N'"}),
        ]
        for request, expected in cases:
            self.assertEqual(call(s, request), expected, request)
        self.assertEqual(call(s, {"cmd": "set_vae_device", "device": "cpu"}),
                         {"success": True, "old_device": "cuda:0", "new_device": "cpu",
                          "message": "VAE device set to cpu (will apply on next operation)"})
        self.assertEqual(call(s, {"cmd": "set_llm_device", "device": "cuda:1"}),
                         {"success": True, "old_device": "cuda:1", "new_device": "cuda:1",
                          "message": "LLM device set to cuda:1 (will apply on next model load)"})
        reply = call(s, {"cmd": "set_clip_device", "device": "cuda:0"})  # live pool: workers stopped
        self.assertEqual(reply["message"], "CLIP device changed to cuda:0")
        self.assertEqual(call(s, {"cmd": "get_devices"})["devices"], {"clip": "cuda:0", "vae": "cpu", "llm": "cuda:1"})
        # Non-str device: handler exception -> {"error": str(e)} plus a logged traceback.
        self.assertEqual(call(s, {"cmd": "set_vae_device", "device": 1}),
                         {"error": "'int' object has no attribute 'startswith'"})
        sim.wait_line("Error handling set_vae_device")
        sim.wait_line("Traceback (most recent call last):")

    def test_attention_mode_and_lora_stats(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        self.assertEqual(call(s, {"cmd": "set_attention_mode", "mode": "sage"}),
                         {"success": False, "error": "Invalid mode 'sage'. Valid modes: auto, flash, split, pytorch"})
        self.assertEqual(call(s, {"cmd": "set_attention_mode", "mode": "flash"})["mode"], "flash")
        self.assertEqual(call(s, {"cmd": "get_info"})["attention_mode"], "flash")
        self.assertEqual(call(s, {"cmd": "lora_cache_stats"}),
                         {"entries": 0, "size_mb": 0.0, "max_size_mb": 8192.0, "hits": 0, "misses": 0,
                          "hit_rate_percent": 0, "cached_loras": []})

    def test_unknown_command_and_log_injection(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        before = len(sim.lines())
        for legacy in ("health", "info", "unload", "<b>x</b>"):
            self.assertEqual(call(s, {"cmd": legacy}), {"error": f"Unknown command: {legacy}"})
        self.assertEqual(call(s, {"cmd": "sim_log", "level": "INFO", "text": "marker"}), {"success": True})
        sim.wait_line("marker")
        self.assertEqual(len(sim.lines()), before + 1)  # unknown commands log nothing (§8.1)
        self.assertEqual(call(s, {"cmd": "sim_log", "level": "ERROR", "text": "line one\nline two"}), {"success": True})
        self.assertIn("ERROR - line one", sim.wait_line("line one"))
        sim.wait_line("line two")

    def test_bad_pickle_no_reply_connection_kept(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        garbage = b"\x00not a pickle"
        s.sendall(struct.pack(">Q", len(garbage)) + garbage)
        s.settimeout(0.4)
        with self.assertRaises(socket.timeout):
            s.recv(1)
        sim.wait_line("Failed to deserialize request")
        s.settimeout(3)
        self.assertIs(call(s, {"cmd": "ping"})["pong"], True)

    def test_non_dict_payload_closes_without_reply(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        send_frame(s, ["cmd", "ping"])
        self.assertEqual(s.recv(1), b"")
        sim.wait_line("Client handler error: 'list' object has no attribute 'get'")

    def test_persistent_connection(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        for _ in range(50):
            self.assertIs(call(s, {"cmd": "ping"})["pong"], True)
        # Hand-built protocol-4 pickle from §6.1.
        s.sendall(bytes.fromhex("0000000000000010") + bytes.fromhex("80047D8C03636D648C0470696E67732E"))
        self.assertIs(read_frame(s)[0]["pong"], True)

    def test_first_unload_on_fresh_daemon_reports_clip(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        # The CLIP pool exists from start(), so the first unload drops it (§8.1).
        self.assertEqual(call(s, {"cmd": "unload_models"}),
                         {"success": True, "unloaded": ["CLIP"], "message": "Unloaded: CLIP"})
        self.assertEqual(call(s, {"cmd": "unload_models"}),
                         {"success": True, "unloaded": [], "message": "No models were loaded"})

    def test_shutdown_exits_zero(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        start = time.monotonic()
        self.assertEqual(call(s, {"cmd": "shutdown"}), {"success": True, "message": "Daemon shutting down"})
        # The same connection keeps working until stop() runs 0.5 s later (§9.1).
        self.assertIs(call(s, {"cmd": "ping"})["pong"], True)
        self.assertEqual(sim.wait_exit(2.5), 0)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.95)  # the real accept loop notices stop() at its 1 s timeout
        self.assertLess(elapsed, 1.6)
        stopping = [l for l in sim.lines() if "Luna Daemon stopping..." in l]
        self.assertEqual(len(stopping), 2)
        lines = sim.lines()
        self.assertEqual(sum("Luna Daemon stopping..." in l for l in lines), 2)
        self.assertEqual(sum(l.endswith("Luna Daemon stopped") for l in lines), 2)
        self.assertEqual(sum("WebSocket monitoring server stopped" in l for l in lines), 2)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", sim.port), timeout=0.5).close()

    def test_shutdown_answers_pings_then_closes_listeners_before_exit(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        start = time.monotonic()
        call(s, {"cmd": "shutdown"})
        # A fresh connection within the first 0.5 s still gets a pong: a healthy-looking daemon about to exit.
        with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as fresh:
            self.assertIs(call(fresh, {"cmd": "ping"})["pong"], True)
        self.assertLess(time.monotonic() - start, 0.5)
        sim.wait_line("Luna Daemon stopped", timeout=2)
        # Both listeners are closed once stop() has run, while the process may still be alive.
        for port in (sim.port, sim.ws_port):
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        self.assertEqual(sim.wait_exit(2.5), 0)
        # A client that connected after the request wakes the accept loop early (observed ~0.65 s).
        self.assertLess(time.monotonic() - start, 0.95)

    def test_ignore_shutdown(self) -> None:
        sim = self.start("--ignore-shutdown", "--models-after", "-1")
        s = self.conn(sim)
        self.assertEqual(call(s, {"cmd": "shutdown"})["success"], True)
        time.sleep(1.0)
        self.assertIsNone(sim.proc.poll())
        self.assertIs(call(s, {"cmd": "ping"})["pong"], True)

    def test_slow_shutdown(self) -> None:
        sim = self.start("--slow-shutdown", "0.6", "--models-after", "-1")
        s = self.conn(sim)
        start = time.monotonic()
        call(s, {"cmd": "shutdown"})
        self.assertEqual(sim.wait_exit(4), 0)
        self.assertGreaterEqual(time.monotonic() - start, 1.0)

    def test_sim_crash(self) -> None:
        sim = self.start("--models-after", "-1")
        s = self.conn(sim)
        self.assertEqual(call(s, {"cmd": "sim_crash", "code": 7}), {"success": True})
        self.assertEqual(sim.wait_exit(3), 7)

    def test_crash_at_start_binds_nothing(self) -> None:
        sim = self.start("--crash-at-start", "3", ready=False)
        self.assertEqual(sim.wait_exit(5), 3)
        text = "\n".join(sim.lines())
        self.assertIn("ModuleNotFoundError: No module named 'comfy'", text)
        self.assertIn("[Config] DAEMON_HOST=", text)
        self.assertNotIn("Luna Daemon Ready!", text)
        for port in (sim.port, sim.ws_port):
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()

    def _occupied(self) -> Tuple[socket.socket, int]:
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        return blocker, blocker.getsockname()[1]

    def test_busy_main_port_exits_one(self) -> None:
        _, port = self._occupied()
        sim = self.start(port=port, ready=False)
        self.assertEqual(sim.wait_exit(5), 1)
        text = "\n".join(sim.lines())
        self.assertIn("OSError: [Errno 98] Address already in use", text)
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn("Luna Daemon stopped", text)

    def test_busy_ws_port_aborts_before_main_port(self) -> None:
        _, ws_port = self._occupied()
        sim = self.start(ws_port=ws_port, ready=False)
        self.assertEqual(sim.wait_exit(5), 1)
        text = "\n".join(sim.lines())
        self.assertIn("OSError: [Errno 98] Address already in use", text)
        self.assertNotIn("[Socket] Server listening", text)

    def test_hang_after(self) -> None:
        sim = self.start("--hang-after", "0.2", "--models-after", "-1")
        time.sleep(0.4)
        s = self.conn(sim)  # the port still accepts
        s.settimeout(0.5)
        send_frame(s, {"cmd": "ping"})
        with self.assertRaises(socket.timeout):
            s.recv(1)
        self.assertIsNone(sim.proc.poll())

    def test_crash_after(self) -> None:
        sim = self.start("--crash-after", "0.2", "--models-after", "-1")
        self.assertEqual(sim.wait_exit(3), 1)
        text = "\n".join(sim.lines())
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn("RuntimeError: CUDA error", text)

    def test_sigint_interrupted_by_user(self) -> None:
        sim = self.start("--models-after", "-1")
        os.kill(sim.proc.pid, signal.SIGINT)
        self.assertEqual(sim.wait_exit(3), 0)
        lines = sim.lines()
        self.assertTrue(any(l.endswith("Interrupted by user") for l in lines))
        self.assertTrue(any(l.endswith("Luna Daemon stopped") for l in lines))


class LoggingTests(SimTestCase):
    STARTUP = [
        "[Config] Attempting package import from .config",
        "[Config] Package import failed: attempted relative import with no known parent package",
        "[Config] Attempting fallback import from config file...",
        "[Config] [OK] Loaded config via fallback import (importlib)",
        "[Config] Source: fallback import",
        "[Config] CLIP_DEVICE=cuda:1, VAE_DEVICE=cuda:0",
        "[Config] DAEMON_HOST=127.0.0.1:{port}",
        "[WeightRegistry] Initialized on cuda:1",
        "[Daemon] Weight registry initialized on cuda:1",
        "[LoRACache] Initialized: max 8.0GB, 100 entries",
        "=" * 60,
        "Luna Daemon Starting...",
        "=" * 60,
        "[CLIP] Worker pool started on cuda:1",
        "[CLIP_VISION] No vision model configured, pool not started",
        "WebSocket monitoring server started on ws://127.0.0.1:{ws}",
        "[WS] Monitoring server started on ws://127.0.0.1:{ws}",
        "[Socket] Server listening on 127.0.0.1:{port}",
        "=" * 60,
        "Luna Daemon Ready!",
        "=" * 60,
    ]

    def test_direct_startup_sequence_and_format(self) -> None:
        started = time.monotonic()
        sim = self.start("--models-after", "-1", env={"LUNA_ATTENTION_MODE": "flash"})
        ready_after = time.monotonic() - started
        lines = sim.lines()
        parsed = [DIRECT_RE.match(l) for l in lines]
        self.assertTrue(all(parsed), lines)
        messages = [m.group(4) for m in parsed]
        expected = [e.format(port=sim.port, ws=sim.ws_port) for e in self.STARTUP]
        self.assertEqual(messages, expected)
        self.assertEqual(parsed[1].group(3), "WARNING")
        self.assertEqual(parsed[7].group(2), "luna_weight_registry")
        self.assertEqual({m.group(2) for i, m in enumerate(parsed) if i != 7}, {"LunaDaemon"})
        sim.wait_line("[Luna.Daemon] Using attention mode: flash", stream="stdout")
        self.assertLess(ready_after, 2.0)  # typically ~0.1 s with --startup-delay 0

    def test_default_startup_takes_about_one_second(self) -> None:
        started = time.monotonic()
        sim = self.start("--models-after", "-1", ready=False, fast_start=False)
        sim.wait_line("[Config] Attempting package import", timeout=5)
        self.assertGreaterEqual(time.monotonic() - started, 0.95)  # 'import torch' before the first line
        sim.wait_ready()

    def test_tray_format(self) -> None:
        sim = self.start("--log-format", "tray", "--models-after", "-1")
        lines = sim.lines()
        self.assertTrue(all(TRAY_RE.match(l) for l in lines), lines)
        self.assertTrue(lines[-2].endswith(" - INFO - Luna Daemon Ready!"))

    def test_log_lines_flood(self) -> None:
        sim = self.start("--log-lines", "20000", "--models-after", "-1")
        sim.wait_line("[Sim] flood done 20000", timeout=10)
        flood = [l for l in sim.lines() if "(sim flood " in l]
        self.assertEqual(len(flood), 20000)
        self.assertTrue(all(DIRECT_RE.match(l) for l in flood[:100]))
        self.assertTrue(90 <= len(flood[0]) + 1 <= 130, len(flood[0]))
        s = self.conn(sim)
        self.assertIs(call(s, {"cmd": "ping"})["pong"], True)  # keeps running normally
        self.assertEqual(call(s, {"cmd": "sim_flood", "lines": 500}), {"success": True})
        sim.wait_line("[Sim] flood done 500")

    def test_log_rate(self) -> None:
        sim = self.start("--log-rate", "50", "--models-after", "-1")
        time.sleep(0.6)
        noise = [l for l in sim.lines() if "clip_encode_sdxl" in l or "get_devices" in l]
        self.assertGreaterEqual(len(noise), 10)

    def test_log_rate_batched_keeps_rate_and_format(self) -> None:
        # Above 1,000/s the records of a tick go out in one write; they must still be whole,
        # well-formed log records at about the asked rate.
        sim = self.start("--log-rate", "5000", "--models-after", "-1")
        time.sleep(1.5)
        noise = [l for l in sim.lines() if "clip_encode_sdxl" in l or "get_devices" in l]
        self.assertGreaterEqual(len(noise), 3000)
        record = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - LunaDaemon - INFO - \[(Daemon|CLIP-0)\] ")
        self.assertEqual([l for l in noise if not record.match(l)], [])


class WebSocketTests(SimTestCase):
    def test_status_push_and_get_status(self) -> None:
        sim = self.start("--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        first = tolerant_json(ws.recv_text())
        self.assertEqual(first["type"], "status")
        self.assertEqual(first["data"]["service_type"], "FULL")
        ws.send_text(json.dumps({"type": "get_status"}))
        self.assertEqual(tolerant_json(ws.recv_text())["type"], "status")
        ws.send_text("not json")  # ignored
        started = time.monotonic()
        pushed = tolerant_json(ws.recv_text())  # periodic push, every 1.0 s
        self.assertEqual(pushed["type"], "status")
        self.assertLess(time.monotonic() - started, 1.6)
        sim.wait_line("WebSocket client connected:")

    def test_scaling_event_with_infinity(self) -> None:
        # The listener stays silent while it waits for the event: keep it (a test about events).
        sim = self.start("--scaling-events", "--ws-keep-idle", "--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        ws.recv_text()
        s = self.conn(sim)
        call(s, {"cmd": "sim_load_models"})
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            text = ws.recv_text()
            if '"type": "scaling"' in text:
                break
        else:
            self.fail("no scaling event")
        self.assertIn('"vram_available_gb": Infinity', text)
        event = tolerant_json(text)
        self.assertEqual(event["data"], {"pool": "clip", "worker_id": 0, "active_workers": 1,
                                         "vram_available_gb": float("inf")})

    def test_close_frame_closes_tcp_without_close_frame(self) -> None:
        sim = self.start("--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        ws.recv_text()
        ws.sock.sendall(bytes([0x88, 0x80]) + os.urandom(4))
        ws.sock.settimeout(3)
        data = b""
        while True:  # EOF or RST: the 4 mask bytes stay unread, so the close may be a reset
            try:
                chunk = ws.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        # Anything received must be whole status text frames, never a close frame (0x88).
        while data:
            self.assertEqual(data[0], 0x81)
            length = data[1] & 0x7F
            offset = 2
            if length == 126:
                length, offset = struct.unpack(">H", data[2:4])[0], 4
            elif length == 127:
                length, offset = struct.unpack(">Q", data[2:10])[0], 10
            data = data[offset + length:]

    def test_silent_client_is_dropped_after_about_one_second(self) -> None:
        sim = self.start("--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        started = time.monotonic()
        local_port = ws.sock.getsockname()[1]
        ws.recv_text()
        line = sim.wait_line("WebSocket client disconnected:", timeout=3)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 1.8)
        self.assertTrue(line.endswith(f"INFO - WebSocket client disconnected: ('127.0.0.1', {local_port})"), line)
        connected = sim.wait_line("WebSocket client connected:")
        self.assertTrue(connected.endswith(f"INFO - WebSocket client connected: ('127.0.0.1', {local_port})"))

    def test_get_status_every_half_second_keeps_the_client(self) -> None:
        sim = self.start("--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        ws.recv_text()
        deadline = time.monotonic() + 2.5
        replies = 0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            ws.send_text('{"type": "get_status"}')
            sent = time.monotonic()
            while True:  # the reply comes at once; periodic pushes may come first
                self.assertEqual(tolerant_json(ws.recv_text())["type"], "status")
                if time.monotonic() - sent < 0.3:
                    break
            replies += 1
        self.assertGreaterEqual(replies, 4)
        self.assertFalse(any("WebSocket client disconnected" in l for l in sim.lines()))

    def test_keep_idle_option(self) -> None:
        sim = self.start("--ws-keep-idle", "--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        for _ in range(3):  # initial status + two pushes, silent all along
            self.assertEqual(tolerant_json(ws.recv_text())["type"], "status")
        self.assertFalse(any("WebSocket client disconnected" in l for l in sim.lines()))

    def test_masked_ping_mask_key_is_left_unread(self) -> None:
        sim = self.start("--models-after", "-1")
        ws = WsClient(sim.ws_port)
        self.addCleanup(ws.close)
        ws.recv_text()
        # The mask key's first two bytes read as a close-frame header if the server leaves them
        # unread, which ends the connection at once instead of after the 1 s idle timeout.
        started = time.monotonic()
        ws.sock.sendall(bytes([0x89, 0x80]) + bytes([0x88, 0x80, 0x00, 0x00]))
        self.assertEqual(recv_exact(ws.sock, 2), bytes([0x8A, 0x00]))  # empty pong
        sim.wait_line("WebSocket client disconnected:", timeout=2)
        self.assertLess(time.monotonic() - started, 0.8)

    def test_ws_disabled(self) -> None:
        sim = self.start("--models-after", "-1", ws_port=0)
        self.assertFalse(any("WebSocket" in l for l in sim.lines()))


class LegacyTests(SimTestCase):
    def test_legacy_commands_and_banner(self) -> None:
        sim = self.start("--legacy", ready=False)
        line = sim.wait_line("Ready to accept connections!")
        self.assertRegex(line, LEGACY_RE)
        self.assertTrue(all(LEGACY_RE.match(l) for l in sim.lines()), sim.lines())
        sim.wait_line("  Luna VAE/CLIP Daemon v2.1 - Split Architecture", stream="stdout")
        sim.wait_line(f"  Socket: 127.0.0.1:{sim.port}", stream="stdout")
        reply, rest = legacy_call(sim.port, {"cmd": "health"})
        self.assertEqual(reply, {"status": "ok", "service_type": "full"})
        self.assertEqual(rest, b"")  # one request per connection: closed after the reply
        info, _ = legacy_call(sim.port, {"cmd": "info"})
        self.assertEqual((info["status"], info["version"], info["service_type"]), ("ok", "2.1-split", "full"))
        self.assertEqual(info["total_requests"], 2)
        self.assertEqual(legacy_call(sim.port, {"cmd": "ping"})[0], {"error": "Unknown command: ping"})
        reply, _ = legacy_call(sim.port, {"cmd": "shutdown"})
        self.assertEqual(reply, {"status": "ok", "message": "Shutdown initiated"})
        self.assertEqual(sim.wait_exit(3), 0)

    def test_service_types_clip_and_vae(self) -> None:
        """server.py --service-type: health/info name it, only its own pool, vae on VAE_DEVICE (§3.4)."""
        clip = self.start("--legacy", "--service-type", "clip", ready=False)
        vae = self.start("--legacy", "-t", "vae", ready=False)
        for sim, kind, device, pool, other in (
            (clip, "clip", "cuda:1", "clip_pool", "vae_pool"),
            (vae, "vae", "cuda:0", "vae_pool", "clip_pool"),
        ):
            sim.wait_line("Ready to accept connections!")
            sim.wait_line(f"  Service Type: {kind.upper()}", stream="stdout")
            self.assertEqual(legacy_call(sim.port, {"cmd": "health"})[0], {"status": "ok", "service_type": kind})
            info, _ = legacy_call(sim.port, {"cmd": "info"})
            self.assertEqual((info["service_type"], info["device"]), (kind, device))
            self.assertIn(pool, info)
            self.assertNotIn(other, info)

    def test_service_type_needs_legacy(self) -> None:
        proc = subprocess.run(
            [sys.executable, str(SIM), "--service-type", "clip"], capture_output=True, text=True, timeout=10
        )
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--service-type needs --legacy", proc.stderr)

    def test_current_framing_probe_gets_ran_out_of_input(self) -> None:
        sim = self.start("--legacy", ready=False)
        sim.wait_line("Ready to accept connections!")
        probe = pickle.dumps({"cmd": "ping"})
        replies = []
        for _ in range(5):  # the close may be a RST (§7); retry on a fresh connection
            try:
                with socket.create_connection(("127.0.0.1", sim.port), timeout=3) as s:
                    s.sendall(struct.pack(">Q", len(probe)) + probe)
                    length = struct.unpack(">I", recv_exact(s, 4))[0]
                    replies.append(pickle.loads(recv_exact(s, length)))
                    break
            except (ConnectionResetError, ConnectionError):
                continue
        self.assertEqual(replies, [{"error": "Ran out of input"}])
        sim.wait_line("Error handling request: Ran out of input")


if __name__ == "__main__":
    unittest.main()
