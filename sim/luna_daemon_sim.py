#!/usr/bin/env python3
"""Luna daemon simulator (standard library only).

Stands in for the Python "Luna daemon" (``luna_daemon/daemon_server.py`` of
``LSDJesus/ComfyUI-Luna-Collection``) in the Luna Tray project's tests,
benchmarks and demo. It reproduces what a supervisor can observe: the wire
protocol (8-byte framing + pickle, or the legacy 4-byte generation), the
WebSocket monitor, the log lines and formats, and the lifecycle (start-up,
``shutdown``, signals, exit codes). Nothing here loads a model: the "models"
and "GPUs" are fake numbers that change like the real ones.

Section numbers (§N) refer to ``docs/daemon-protocol.md``, which keeps the numbering of
the daemon specification the simulator was written from.
Fault switches (``--crash-at-start``, ``--hang-after``, ...) and the ``sim_*``
commands are simulator-only; see ``sim/README.md``.

Run ``python3 sim/luna_daemon_sim.py --help`` for the flags.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import pickle
import random
import select
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

# =============================================================================
# Configuration values of the real daemon (§2, §3.6)
# =============================================================================

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19283
DEFAULT_VAE_PORT = 19284  # DAEMON_VAE_PORT: the legacy VAE-only daemon (--service-type vae)
DEFAULT_WS_PORT = 19285
CLIP_DEVICE = "cuda:1"  # config.py; SHARED_DEVICE and LLM_DEVICE have the same value
VAE_DEVICE = "cuda:0"
CLIP_PRECISION = "bf16"
VAE_PRECISION = "bf16"
MODEL_PRECISION = "bf16"
SERVICE_TYPE_NAME = "FULL"  # current daemon reports the enum *name* (§8.2)
LEGACY_SERVICE_TYPE = "full"  # the default; the legacy daemon reports the enum *value* (§8.4)
VALID_ATTENTION_MODES = ["auto", "flash", "split", "pytorch"]  # §8.1: sage/xformers rejected
LORA_CACHE_MAX_GB = 8.0
LORA_CACHE_MAX_ENTRIES = 100
LEGACY_LORA_REGISTRY_MB = 2048.0
LEGACY_MIN_VAE, LEGACY_MAX_VAE, LEGACY_MIN_CLIP, LEGACY_MAX_CLIP = 1, 4, 1, 2
LEGACY_IDLE_TIMEOUT_SEC = 60.0

# Fake model files. Paths in the style of a Windows ComfyUI install.
FAKE_VAE_PATH = "D:/AI/ComfyUI/models/vae/sdxl_vae.safetensors"
FAKE_CLIP_L_PATH = "D:/AI/ComfyUI/models/clip/clip_l.safetensors"
FAKE_CLIP_G_PATH = "D:/AI/ComfyUI/models/clip/clip_g.safetensors"
# Realistic sizes (bf16): SDXL VAE 83.65 M parameters, CLIP-L 123.06 M + CLIP-G 694.66 M.
FAKE_VAE_BYTES = 83_653_863 * 2
FAKE_VAE_TENSORS = 248
FAKE_CLIP_BYTES = (123_060_480 + 694_659_840) * 2
FAKE_CLIP_TENSORS = 713
FAKE_WORKER_CLIP_GB = 1.58  # VRAM held by one CLIP pool worker with clip_l + clip_g

# Fake GPUs: (name, total GB, baseline used GB). Cycled when --gpus > 4.
FAKE_GPUS: List[Tuple[str, float, float]] = [
    ("NVIDIA GeForce RTX 4090", 24.0, 2.15),
    ("NVIDIA GeForce RTX 3060", 12.0, 0.42),
    ("NVIDIA GeForce RTX 4080", 16.0, 0.38),
    ("NVIDIA GeForce RTX 3070", 8.0, 0.31),
]

LOG_FORMATS: Dict[str, Tuple[str, Optional[str]]] = {
    # §12 line formats
    "direct": ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", None),
    "tray": ("%(asctime)s - %(levelname)s - %(message)s", None),
    "legacy": ("[%(asctime)s] [Daemon] %(levelname)s: %(message)s", "%H:%M:%S"),
}

LOGGER = logging.getLogger("LunaDaemon")
# weight_registry.py uses logging.getLogger(__name__); loaded by file path its
# module name is "luna_weight_registry" (§3.8, §12).
WR_LOGGER = logging.getLogger("luna_weight_registry")

# One lock for everything written to stderr, so flood chunks written with
# sys.stderr.buffer and log records never interleave inside a line.
OUTPUT_LOCK = threading.RLock()

SEP = "=" * 60


def fresh_str(value: str) -> str:
    """Return an equal but distinct str object.

    pickle memoises by object identity. The real daemon creates some strings
    afresh (``str(torch.device(...))``, f-strings) and shares others (§6.2:
    ``devices.clip`` and ``devices.llm`` are one object). To emit the same
    opcodes (MEMOIZE/BINGET) byte for byte we control identity explicitly.
    """
    return (value + ".")[:-1]


def write_raw_stderr(text: str) -> None:
    """Write pre-formatted text to stderr in one go (used by floods)."""
    with OUTPUT_LOCK:
        try:
            sys.stderr.flush()
            buffer = getattr(sys.stderr, "buffer", None)
            if buffer is not None:
                buffer.write(text.encode("utf-8", "replace"))
                buffer.flush()
            else:  # pragma: no cover - stderr replaced by a text-only stream
                sys.stderr.write(text)
                sys.stderr.flush()
        except (OSError, ValueError):
            pass  # reader went away; keep running like a daemon would


def print_stdout(text: str = "") -> None:
    """print() to stdout, flushed immediately (independent of PYTHONUNBUFFERED)."""
    with OUTPUT_LOCK:
        try:
            print(text, flush=True)
        except (OSError, ValueError):
            pass


def hard_exit(code: int) -> None:
    """Flush both streams and terminate the process at once (no cleanup)."""
    with OUTPUT_LOCK:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(code)


def setup_logging(format_name: str) -> logging.Formatter:
    """Configure the root logger like ``logging.basicConfig`` in the daemon (§3.7, §12).

    The handler flushes after every record (StreamHandler does), so lines reach
    a pipe promptly without PYTHONUNBUFFERED.
    """
    fmt, datefmt = LOG_FORMATS[format_name]
    formatter = logging.Formatter(fmt, datefmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.lock = OUTPUT_LOCK  # share the stderr lock with raw floods
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)  # daemon_server.py hard-codes INFO
    logging.raiseExceptions = False  # a closed stderr must not kill the daemon
    return formatter


class AfterReply:
    """A command result plus an action to run once the reply has been sent."""

    def __init__(self, result: Any, action: Callable[[], None]) -> None:
        self.result = result
        self.action = action


def unwrap_result(value: Any) -> Tuple[Any, Optional[Callable[[], None]]]:
    """Split a handler's return value into (reply, after-reply action)."""
    if isinstance(value, AfterReply):
        return value.result, value.action
    return value, None


# =============================================================================
# Fake GPUs, worker pool, weight registry, LoRA cache
# =============================================================================


class FakeGPU:
    """One fake CUDA device; ``used_gb`` is computed from what is loaded on it."""

    def __init__(self, index: int) -> None:
        name, total, base = FAKE_GPUS[index % len(FAKE_GPUS)]
        self.index = index
        self.name = name
        self.total_gb = total
        self.base_used_gb = base


class FakeWorker:
    """A CLIP worker of the pool (``workers.ModelWorker``), already started."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id
        self.request_count = 0
        self.loaded_model_paths: Dict[str, str] = {}

    @property
    def is_loaded(self) -> bool:
        return bool(self.loaded_model_paths)

    def stop(self) -> None:
        """Log like ``ModelWorker.stop`` (unload, then 'Worker stopped')."""
        if self.is_loaded:
            LOGGER.info(f"[CLIP-{self.worker_id}] Unloading model...")
            self.loaded_model_paths = {}
        LOGGER.info(f"[CLIP-{self.worker_id}] Worker stopped")


class FakeClipPool:
    """The CLIP ``WorkerPool`` of ``workers.py`` @253ab933: lazy, no worker at start."""

    def __init__(self, device: str, on_scale_event: Callable[[str, Dict[str, Any]], None]) -> None:
        self.device = device
        self.workers: List[FakeWorker] = []
        self._next_worker_id = 0
        self._on_scale_event = on_scale_event
        self.lock = threading.Lock()

    def get_stats(self) -> Dict[str, Any]:
        """``WorkerPool.get_stats`` (§8.2 ``clip_pool``)."""
        with self.lock:
            loaded: List[str] = []
            for worker in self.workers:
                for path in worker.loaded_model_paths.values():
                    name = os.path.basename(path)  # new str objects, like the real code
                    if name not in loaded:
                        loaded.append(name)
            return {
                "type": "clip",
                "active_workers": len(self.workers),
                "queue_depth": 0,
                "total_requests": sum(w.request_count for w in self.workers),
                "worker_ids": [w.worker_id for w in self.workers],
                "workers_count": len(self.workers),
                # The real code builds this from a set (order varies between
                # runs); the simulator keeps clip_l before clip_g.
                "loaded_models": loaded,
            }

    def loaded_worker_count(self) -> int:
        with self.lock:
            return sum(1 for w in self.workers if w.is_loaded)

    def load_models(self) -> bool:
        """Lazy scale-up plus a ``preload`` request, with the real log lines.

        Returns False when a loaded worker already exists.
        """
        with self.lock:
            if any(w.is_loaded for w in self.workers):
                return False
            if self.workers:
                worker = self.workers[0]
            else:
                LOGGER.info("[CLIP] Lazy loading triggered")
                worker = FakeWorker(self._next_worker_id)
                self._next_worker_id += 1
                LOGGER.info(f"[CLIP-{worker.worker_id}] Worker started (lazy loading)")
                LOGGER.info(f"[CLIP-{worker.worker_id}] Worker started")
                self.workers.append(worker)
                # get_available_vram_gb() is float('inf') off-CUDA (§10); the
                # simulator always reports that quirk.
                vram_available = float("inf")
                LOGGER.info(
                    f"[CLIP] Scaled UP to {len(self.workers)} workers (VRAM: {vram_available:.2f} GB)"
                )
                self._on_scale_event(
                    "scale_up",
                    {
                        "pool": "clip",
                        "worker_id": worker.worker_id,
                        "active_workers": len(self.workers),
                        "vram_available_gb": round(vram_available, 2),
                    },
                )
            worker.request_count += 1
            LOGGER.info(f"[CLIP-{worker.worker_id}] Loading CLIP model...")
            worker.loaded_model_paths = {"clip_l": FAKE_CLIP_L_PATH, "clip_g": FAKE_CLIP_G_PATH}
            LOGGER.info(f"[CLIP-{worker.worker_id}] CLIP loaded from path ({CLIP_PRECISION})")
            LOGGER.info(f"[CLIP-{worker.worker_id}] Processing preload")
            LOGGER.info(f"[CLIP-{worker.worker_id}] Completed preload")
            return True

    def stop(self) -> List[int]:
        """``WorkerPool.stop``: stop and drop every worker. Returns their ids."""
        with self.lock:
            stopped = [w.worker_id for w in self.workers]
            for worker in self.workers:
                worker.stop()
            self.workers.clear()
            return stopped

    def set_device(self, new_device: str) -> bool:
        """``WorkerPool.set_device``: stop workers, wait 0.5 s, recreate lazily (§8.1)."""
        old_device = self.device
        self.device = new_device
        LOGGER.info(f"[CLIP] Device change requested: {old_device} -> {new_device}")
        with self.lock:
            for worker in self.workers:
                worker.stop()
            self.workers.clear()
        time.sleep(0.5)
        LOGGER.info(f"[CLIP] Device changed to {new_device}. Workers will be recreated on next request.")
        return True


class FakeWeightRegistry:
    """``weight_registry.WeightRegistry`` @90675b73 holding fake VAE/CLIP entries."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.weights: Dict[str, Dict[str, Any]] = {}
        self.lock = threading.Lock()
        WR_LOGGER.info(f"[WeightRegistry] Initialized on {device}")

    def load_fake_models(self) -> None:
        """Register the fake VAE and CLIP, logging like load_vae/load_clip."""
        with self.lock:
            vae_key = f"vae:{FAKE_VAE_PATH}"
            if vae_key not in self.weights:
                WR_LOGGER.info(f"[WeightRegistry] Loading VAE from {FAKE_VAE_PATH}")
                self.weights[vae_key] = {
                    "type": "vae",
                    "path": FAKE_VAE_PATH,
                    "device": fresh_str(self.device),  # str(torch.device) is a new object
                    "bytes": FAKE_VAE_BYTES,
                    "tensors": FAKE_VAE_TENSORS,
                }
                WR_LOGGER.info(f"[WeightRegistry] [OK] VAE loaded with {FAKE_VAE_TENSORS} weight tensors")
            clip_key = f"clip:{FAKE_CLIP_L_PATH}:{FAKE_CLIP_G_PATH}"
            if clip_key not in self.weights:
                WR_LOGGER.info(f"[WeightRegistry] Loading CLIP (L={FAKE_CLIP_L_PATH}, G={FAKE_CLIP_G_PATH})")
                self.weights[clip_key] = {
                    "type": "clip",
                    "clip_l_path": FAKE_CLIP_L_PATH,
                    "clip_g_path": FAKE_CLIP_G_PATH,
                    "device": fresh_str(self.device),
                    "bytes": FAKE_CLIP_BYTES,
                    "tensors": FAKE_CLIP_TENSORS,
                }
                WR_LOGGER.info(f"[WeightRegistry] [OK] CLIP loaded with {FAKE_CLIP_TENSORS} weight tensors")

    def get_model_details(self) -> List[Dict[str, Any]]:
        """§8.2 ``weight_registry_models`` entries, same keys and rounding as the real code."""
        with self.lock:
            models: List[Dict[str, Any]] = []
            for key, entry in self.weights.items():
                memory_mb = entry["bytes"] / (1024 * 1024)
                info: Dict[str, Any] = {
                    "key": key,
                    "type": entry["type"],
                    "device": entry["device"],
                    "memory_mb": round(memory_mb, 2),
                    "memory_gb": round(memory_mb / 1024, 3),
                    "tensor_count": entry["tensors"],
                }
                if entry["type"] == "vae":
                    info["path"] = entry.get("path", "unknown")
                elif entry["type"] == "clip":
                    info["clip_l_path"] = entry.get("clip_l_path", "unknown")
                    info["clip_g_path"] = entry.get("clip_g_path", "unknown")
                models.append(info)
            return models

    def list_loaded_models(self) -> List[str]:
        with self.lock:
            return list(self.weights.keys())

    def unload(self, model_key: str) -> bool:
        with self.lock:
            if model_key not in self.weights:
                return False
            del self.weights[model_key]
        WR_LOGGER.info(f"[WeightRegistry] Unloaded {model_key}")
        return True

    def unload_all(self) -> int:
        keys = self.list_loaded_models()
        for key in keys:
            self.unload(key)
        if keys:
            WR_LOGGER.info("[WeightRegistry] Unloaded all models")
        return len(keys)

    def vram_by_device(self) -> Dict[str, float]:
        with self.lock:
            usage: Dict[str, float] = {}
            for entry in self.weights.values():
                usage[entry["device"]] = usage.get(entry["device"], 0.0) + entry["bytes"] / 1024**3
            return usage


class FakeLoRACache:
    """``lora_cache.LoRACache`` @4c517585, always empty."""

    def __init__(self) -> None:
        self.max_size_bytes = int(LORA_CACHE_MAX_GB * 1024 * 1024 * 1024)
        self._hits = 0
        self._misses = 0
        LOGGER.info(f"[LoRACache] Initialized: max {LORA_CACHE_MAX_GB:.1f}GB, {LORA_CACHE_MAX_ENTRIES} entries")

    def get_stats(self) -> Dict[str, Any]:
        """§8.1 ``lora_cache_stats``. hit_rate_percent is the int 0 until a lookup happens, as in the real code."""
        total = self._hits + self._misses
        hit_rate = (self._hits / total * 100) if total > 0 else 0
        return {
            "entries": 0,
            "size_mb": 0 / (1024 * 1024),
            "max_size_mb": self.max_size_bytes / (1024 * 1024),
            "hits": self._hits,
            "misses": self._misses,
            "hit_rate_percent": hit_rate,
            "cached_loras": [],
        }

    def clear(self) -> int:
        LOGGER.info("[LoRACache] Cleared 0 entries")
        return 0


# =============================================================================
# WebSocket monitor (§10, monitoring.py @55fe7cc3)
# =============================================================================


class _WsClient:
    """A connected WebSocket client. The send lock keeps frames whole when the
    broadcast thread and the client thread write at the same time (the real
    code has no such lock)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = threading.Lock()

    def send(self, frame: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(frame)


class WebSocketMonitor:
    """Hand-written RFC 6455 subset, like ``monitoring.WebSocketServer``."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(
        self,
        status_provider: Callable[[], Dict[str, Any]],
        host: str,
        port: int,
        hung: threading.Event,
        log_stop: bool = True,
        drop_idle: bool = True,
    ) -> None:
        self.status_provider = status_provider
        self.host = host
        self.port = port
        self.hung = hung
        self.log_stop = log_stop  # the legacy WebSocketServer.stop() logs nothing
        self.drop_idle = drop_idle
        self.clients: Set[_WsClient] = set()
        self.clients_lock = threading.Lock()
        self._running = False
        self._stop_event = threading.Event()
        self._server_socket: Optional[socket.socket] = None

    def start(self) -> None:
        """Bind (SO_REUSEADDR, backlog 5, accept timeout 1 s) and start the threads."""
        self._running = True
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server_socket = srv
        srv.bind((self.host, self.port))  # a busy port raises here and aborts start-up (§3.8)
        srv.listen(5)
        srv.settimeout(1.0)
        threading.Thread(target=self._broadcast_loop, name="ws-broadcast", daemon=True).start()
        threading.Thread(target=self._accept_loop, name="ws-accept", daemon=True).start()
        LOGGER.info(f"WebSocket monitoring server started on ws://{self.host}:{self.port}")

    def stop(self) -> None:
        """Close clients (no close frame) and the listener."""
        self._running = False
        self._stop_event.set()
        with self.clients_lock:
            for client in self.clients:
                try:
                    client.sock.close()
                except OSError:
                    pass
            self.clients.clear()
        if self._server_socket is not None:
            close_listener(self._server_socket)
            self._server_socket = None
        if self.log_stop:
            LOGGER.info("WebSocket monitoring server stopped")

    # -- framing ---------------------------------------------------------------

    @classmethod
    def accept_key(cls, key: str) -> str:
        return base64.b64encode(hashlib.sha1((key + cls.GUID).encode()).digest()).decode()

    @staticmethod
    def encode_frame(data: str) -> bytes:
        """Unmasked FIN+text frame with a 7-, 16- or 64-bit length."""
        payload = data.encode("utf-8")
        length = len(payload)
        if length <= 125:
            return bytes([0x81, length]) + payload
        if length <= 65535:
            return bytes([0x81, 126]) + struct.pack(">H", length) + payload
        return bytes([0x81, 127]) + struct.pack(">Q", length) + payload

    def _handshake(self, conn: socket.socket) -> bool:
        """Single recv(4096); needs Upgrade: websocket and Sec-WebSocket-Key; any path."""
        try:
            data = conn.recv(4096).decode("utf-8")
            if not data:
                return False
            headers: Dict[str, str] = {}
            for line in data.split("\r\n")[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            if headers.get("upgrade", "").lower() != "websocket":
                return False
            client_key = headers.get("sec-websocket-key", "")
            if not client_key:
                return False
            response = (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {self.accept_key(client_key)}\r\n"
                "\r\n"
            )
            conn.sendall(response.encode())
            return True
        except Exception as e:  # noqa: BLE001 - mirror the real catch-all
            LOGGER.error(f"WebSocket handshake error: {e}")
            return False

    def _decode_frame(self, conn: socket.socket) -> Optional[str]:
        """Read one client frame. None means "close the connection".

        Quirks kept from the real code (§10): a close frame closes TCP without a
        close frame back; a ping gets an empty pong but its payload is not
        consumed; the payload is read with a single recv(length).
        The real code's catch-all also turns the 1 s socket timeout into None,
        so a client that sends nothing for 1 s is dropped (§10). With
        --ws-keep-idle the timeout propagates instead and the caller keeps
        polling (simulator-only, for tests about something else).
        """
        try:
            header = conn.recv(2)
        except socket.timeout:
            if self.drop_idle:
                return None
            raise
        except Exception:  # noqa: BLE001
            return None
        try:
            if len(header) < 2:
                return None
            opcode = header[0] & 0x0F
            if opcode == 0x08:
                return None
            if opcode == 0x09:
                conn.sendall(bytes([0x8A, 0]))
                return ""
            masked = (header[1] & 0x80) != 0
            length = header[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", conn.recv(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", conn.recv(8))[0]
            if masked:
                mask = conn.recv(4)
                data = bytearray(conn.recv(length))
                for i in range(length):
                    data[i] ^= mask[i % 4]
                return data.decode("utf-8")
            return conn.recv(length).decode("utf-8")
        except Exception:  # noqa: BLE001
            return None

    # -- threads ---------------------------------------------------------------

    def broadcast(self, message_type: str, data: Dict[str, Any]) -> None:
        """Send one message to every client; drop the ones that fail."""
        if self.hung.is_set():
            return
        # json.dumps writes float('inf') as the bare token Infinity (§10 pitfall).
        frame = self.encode_frame(json.dumps({"type": message_type, "data": data}))
        with self.clients_lock:
            dead: List[_WsClient] = []
            for client in self.clients:
                try:
                    client.send(frame)
                except Exception:  # noqa: BLE001
                    dead.append(client)
            for client in dead:
                self.clients.discard(client)
                try:
                    client.sock.close()
                except OSError:
                    pass

    def _send_status(self, client: _WsClient) -> None:
        client.send(self.encode_frame(json.dumps({"type": "status", "data": self.status_provider()})))

    def _handle_client(self, conn: socket.socket, addr: Tuple[str, int]) -> None:
        if self.hung.is_set():
            drain_until_closed(conn)  # --hang-after: accept and read, never answer
            return
        if not self._handshake(conn):
            conn.close()
            return
        client = _WsClient(conn)
        with self.clients_lock:
            self.clients.add(client)
        LOGGER.info(f"WebSocket client connected: {addr}")
        try:
            self._send_status(client)  # status immediately after the handshake
        except Exception as e:  # noqa: BLE001
            LOGGER.error(f"Error sending initial status: {e}")
        try:
            while self._running:
                conn.settimeout(1.0)  # idle clients are polled every second
                try:
                    data = self._decode_frame(conn)
                    if data is None:
                        break
                    if data and not self.hung.is_set():
                        try:
                            msg = json.loads(data)
                            # A non-object JSON value raises AttributeError here and
                            # ends the connection, as in the real code.
                            if msg.get("type") == "get_status":
                                self._send_status(client)
                        except json.JSONDecodeError:
                            pass
                except socket.timeout:
                    continue
                except Exception:  # noqa: BLE001
                    break
        finally:
            with self.clients_lock:
                self.clients.discard(client)
            try:
                conn.close()
            except OSError:
                pass
            LOGGER.info(f"WebSocket client disconnected: {addr}")

    def _broadcast_loop(self) -> None:
        """Status to all clients every 1.0 s while at least one is connected."""
        while self._running:
            if self._stop_event.wait(1.0):
                break
            if self.clients and not self.hung.is_set():
                try:
                    self.broadcast("status", self.status_provider())
                except Exception as e:  # noqa: BLE001
                    LOGGER.error(f"Broadcast error: {e}")

    def _accept_loop(self) -> None:
        while self._running:
            srv = self._server_socket
            if srv is None:
                break
            try:
                conn, addr = srv.accept()
            except socket.timeout:
                continue
            except Exception as e:  # noqa: BLE001
                if self._running:
                    LOGGER.error(f"WebSocket accept error: {e}")
                    time.sleep(0.1)
                continue
            conn.settimeout(None)
            threading.Thread(target=self._handle_client, args=(conn, addr), daemon=True).start()


def close_listener(srv: socket.socket) -> None:
    """Stop listening at once. A bare close() leaves the socket listening on Linux while
    another thread still waits in accept() on it (up to its 1 s timeout)."""
    try:
        srv.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        srv.close()
    except OSError:
        pass


def drain_until_closed(conn: socket.socket) -> None:
    """Read and discard until the peer closes (a hung daemon never answers)."""
    try:
        conn.settimeout(None)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


# =============================================================================
# Background output and fault injection shared by both generations
# =============================================================================

FLOOD_CHUNK_LINES = 16384
# --log-rate above this writes each tick's records in one batch (see SimRuntime._rate_loop).
RATE_BATCH_ABOVE = 1000
FLOOD_MESSAGE = "[CLIP-0] Processing clip_encode_sdxl (sim flood %09d)"


def emit_flood(count: int, formatter: logging.Formatter, done_marker: bool = True) -> None:
    """Write ``count`` log-formatted lines (~100 bytes each) as fast as possible.

    Lines are built in big batches and written with one raw write per batch
    (not one logging call per line). Ends with ``[Sim] flood done N``.
    """
    written = 0
    while written < count:
        batch = min(FLOOD_CHUNK_LINES, count - written)
        record = logging.LogRecord(LOGGER.name, logging.INFO, __file__, 0, "\x00", None, None)
        prefix, _, suffix = formatter.format(record).partition("\x00")
        template = prefix.replace("%", "%%") + FLOOD_MESSAGE + suffix.replace("%", "%%")
        block = "\n".join([template % n for n in range(written, written + batch)])
        write_raw_stderr(block + "\n")
        written += batch
    if done_marker:
        LOGGER.info(f"[Sim] flood done {count}")


class SimRuntime:
    """Simulator-only behaviour: timers, floods, hang and crash switches."""

    def __init__(self, args: argparse.Namespace, formatter: logging.Formatter) -> None:
        self.args = args
        self.formatter = formatter
        self.hung = threading.Event()

    def start_flood(self, count: int) -> None:
        threading.Thread(target=emit_flood, args=(count, self.formatter), name="sim-flood", daemon=True).start()

    def after_ready(
        self,
        load_models: Optional[Callable[[], Any]],
        noise: Callable[[int], str],
    ) -> None:
        """Start everything that runs "S seconds after ready"."""
        args = self.args
        if args.log_lines > 0:
            self.start_flood(args.log_lines)
        if args.log_rate > 0:
            threading.Thread(target=self._rate_loop, args=(args.log_rate, noise), name="sim-log-rate", daemon=True).start()
        if load_models is not None and args.models_after >= 0:
            self._timer(args.models_after, load_models)
        if args.hang_after is not None and args.hang_after >= 0:
            self._timer(args.hang_after, self.hung.set)
        if args.crash_after is not None and args.crash_after >= 0:
            self._timer(args.crash_after, simulated_crash)

    @staticmethod
    def _timer(delay: float, action: Callable[[], Any]) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        timer.start()

    def _rate_loop(self, rate: float, noise: Callable[[int], str]) -> None:
        """Emit ``rate`` realistic INFO records per second (spread over ticks).

        Above RATE_BATCH_ABOVE lines/s one logging call per line cannot keep up
        (CPython manages ~8,000/s on a loaded core), so each tick's records are
        formatted from one prefix (the tick's timestamp, same format) and written
        in one raw write, like a burst of real records within the same millisecond.
        """
        tick = max(1.0 / rate, 0.02)
        start = time.monotonic()
        emitted = 0
        stop = threading.Event()
        while not stop.wait(tick):
            if self.hung.is_set():
                continue  # a hung daemon stops logging its request noise
            due = int((time.monotonic() - start) * rate)
            if rate > RATE_BATCH_ABOVE and due > emitted:
                record = logging.LogRecord(LOGGER.name, logging.INFO, __file__, 0, "\x00", None, None)
                prefix, _, suffix = self.formatter.format(record).partition("\x00")
                write_raw_stderr("".join([f"{prefix}{noise(n)}{suffix}\n" for n in range(emitted, due)]))
                emitted = due
            while emitted < due:
                LOGGER.info(noise(emitted))
                emitted += 1


def _cuda_failure() -> None:
    """Raise the kind of error that kills a real worker."""
    raise RuntimeError(
        "CUDA error: an illegal memory access was encountered\n"
        "CUDA kernel errors might be asynchronously reported at some other API call, "
        "so the stacktrace below might be incorrect.\n"
        "For debugging consider passing CUDA_LAUNCH_BLOCKING=1"
    )


def simulated_crash() -> None:
    """--crash-after: log an error with a multi-line traceback, then exit 1 at once."""
    try:
        _cuda_failure()
    except RuntimeError as e:
        LOGGER.error(f"Error handling clip_encode_sdxl: {e}")
        LOGGER.error(traceback.format_exc())
    hard_exit(1)


def comfy_missing_traceback() -> str:
    """The uncaught traceback of a daemon started without ComfyUI on PYTHONPATH (§3.3)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "luna_daemon")
    server = os.path.join(root, "daemon_server.py")
    registry = os.path.join(root, "weight_registry.py")
    return (
        "Traceback (most recent call last):\n"
        f'  File "{server}", line 244, in __init__\n'
        "    from .weight_registry import WeightRegistry\n"
        "ImportError: attempted relative import with no known parent package\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        f'  File "{server}", line 1585, in <module>\n'
        "    main()\n"
        f'  File "{server}", line 1574, in main\n'
        "    daemon = LunaDaemon()\n"
        "             ^^^^^^^^^^^^\n"
        f'  File "{server}", line 253, in __init__\n'
        "    spec.loader.exec_module(registry_mod)\n"
        '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module\n'
        '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed\n'
        f'  File "{registry}", line 20, in <module>\n'
        "    import comfy.utils  # type: ignore\n"
        "    ^^^^^^^^^^^^^^^^^^\n"
        "ModuleNotFoundError: No module named 'comfy'\n"
    )


def sim_command(
    cmd: str,
    data: Dict[str, Any],
    runtime: SimRuntime,
    load_models: Optional[Callable[[], Dict[str, Any]]],
) -> Optional[Any]:
    """Simulator-only ``sim_*`` commands (NOT part of the real daemon).

    Returns None when ``cmd`` is not a sim command.
    """
    if cmd == "sim_log":
        level_name = str(data.get("level", "INFO")).upper()
        level = logging.getLevelName(level_name)
        if level_name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") or not isinstance(level, int):
            return {"error": f"sim_log: invalid level {level_name!r}"}
        LOGGER.log(level, str(data.get("text", "")))
        return {"success": True}
    if cmd == "sim_flood":
        lines = int(data.get("lines", 0))
        runtime.start_flood(max(lines, 0))
        return {"success": True}
    if cmd == "sim_crash":
        code = int(data.get("code", 1))
        return AfterReply({"success": True}, lambda: hard_exit(code))
    if cmd == "sim_load_models":
        if load_models is None:
            return {"error": "sim_load_models: not available in legacy mode"}
        return load_models()
    return None


# =============================================================================
# Current generation: LunaDaemon (daemon_server.py @90675b73)
# =============================================================================


class LunaDaemonSim:
    """The current daemon: 8-byte framing, persistent connections (§5.1, §8)."""

    def __init__(self, args: argparse.Namespace, runtime: SimRuntime) -> None:
        self.args = args
        self.runtime = runtime
        self.host: str = args.host
        self.port: int = args.port
        self.ws_port: int = args.ws_port
        self.gpus = [FakeGPU(i) for i in range(max(args.gpus, 0))]
        self.clip_device: str = CLIP_DEVICE
        self.vae_device: str = VAE_DEVICE
        # getattr(globals(), 'LLM_DEVICE', clip_device) always falls back, so the
        # LLM device *is* the CLIP device object: pickle emits BINGET (§6.2).
        self.llm_device: str = self.clip_device
        self.weight_registry = FakeWeightRegistry(self.clip_device)
        LOGGER.info(f"[Daemon] Weight registry initialized on {self.clip_device}")
        self.clip_pool: Optional[FakeClipPool] = None
        self.ws_server: Optional[WebSocketMonitor] = None
        self.lora_cache = FakeLoRACache()
        self.lock = threading.Lock()  # guards counters and device/model state
        self._running = False
        self._server_socket: Optional[socket.socket] = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop_lock = threading.Lock()
        self._shutdown_requested = False
        # Monotonic time of the shutdown request, and whether a client connected after it (§9.1).
        self._shutdown_at: Optional[float] = None
        self._connected_after_shutdown = False
        self._start_time = time.time()
        self._request_count = 0
        self._clip_request_count = 0
        self._vae_request_count = 0
        self._attention_mode = "auto"  # LUNA_ATTENTION_MODE does not change it (§3.5)
        self._commands: Dict[str, Callable[[Dict[str, Any]], Any]] = {
            "ping": self._cmd_ping,
            "get_info": self._cmd_get_info,
            "get_status": self._cmd_get_info,
            "shutdown": self._cmd_shutdown,
            "unload_models": self._cmd_unload_models,
            "get_devices": self._cmd_get_devices,
            "set_clip_device": self._cmd_set_clip_device,
            "set_vae_device": self._cmd_set_vae_device,
            "set_llm_device": self._cmd_set_llm_device,
            "set_attention_mode": self._cmd_set_attention_mode,
            "lora_cache_stats": lambda data: self.lora_cache.get_stats(),
            "lora_cache_check": self._cmd_lora_cache_check,
            "clear_loras": self._cmd_clear_loras,
            "negotiate_ipc": self._cmd_negotiate_ipc,
            "list_loaded_weights": lambda data: {"success": True, "models": self.weight_registry.list_loaded_models()},
            "unload_weights": self._cmd_unload_weights,
            "vision_status": lambda data: {"loaded": False, "available": False},
            "qwen3_status": self._cmd_qwen3_status,
            "unload_sam3": lambda data: {"success": True, "status": "not_loaded"},
        }

    # -- state ---------------------------------------------------------------

    def _on_scale_event(self, event_type: str, data: Dict[str, Any]) -> None:
        """Pool scale events go to the WebSocket as type "scaling" (§10).
        The real daemon always sends them; the simulator only with --scaling-events."""
        if self.args.scaling_events and self.ws_server is not None:
            self.ws_server.broadcast("scaling", data)

    def _vram(self) -> Dict[str, Dict[str, float]]:
        extra: Dict[str, float] = dict(self.weight_registry.vram_by_device())
        pool = self.clip_pool
        if pool is not None:
            extra[pool.device] = extra.get(pool.device, 0.0) + FAKE_WORKER_CLIP_GB * pool.loaded_worker_count()
        vram: Dict[str, Dict[str, float]] = {}
        for gpu in self.gpus:
            key = f"cuda:{gpu.index}"
            used = min(gpu.base_used_gb + extra.get(key, 0.0), gpu.total_gb)
            vram[key] = {"used_gb": round(used, 2), "total_gb": round(gpu.total_gb, 2)}
        return vram

    def get_info(self) -> Dict[str, Any]:
        """§8.2 info dict, same keys in the same order as the real get_info()."""
        with self.lock:
            info: Dict[str, Any] = {
                "status": "running" if self._running else "stopped",
                "uptime_sec": time.time() - self._start_time,
                "request_count": self._request_count,
                "clip_request_count": self._clip_request_count,
                "vae_request_count": self._vae_request_count,
                "service_type": SERVICE_TYPE_NAME,
                "attention_mode": self._attention_mode,
                "devices": {"clip": self.clip_device, "vae": self.vae_device, "llm": self.llm_device},
            }
            pool = self.clip_pool
        if pool is not None:
            info["clip_pool"] = pool.get_stats()
        if self.gpus:  # torch.cuda.is_available()
            info["vram"] = self._vram()
        info["weight_registry_models"] = self.weight_registry.get_model_details()
        return info

    def load_models(self) -> Dict[str, Any]:
        """Make the fake models appear (timer of --models-after, or sim_load_models)."""
        with self.lock:
            pool = self.clip_pool
            if pool is None:
                # The real daemon recreates the pool in get_model_proxies.
                pool = self.clip_pool = FakeClipPool(self.clip_device, self._on_scale_event)
                LOGGER.info("[Daemon] CLIP pool started")
        loaded = pool.load_models()
        self.weight_registry.load_fake_models()
        return {"success": True, "message": "Models loaded" if loaded else "Models already loaded"}

    def _device_count(self) -> int:
        return len(self.gpus)  # torch.cuda.device_count()

    def _validate_device(self, device: Any) -> Optional[Dict[str, str]]:
        """Device validation shared by set_*_device (§8.1 error strings, same order)."""
        if device.startswith("cuda:"):  # a non-str device raises -> {"error": str(e)}
            try:
                device_id = int(device.split(":")[-1])
                if device_id >= self._device_count():
                    return {"error": f"Invalid CUDA device: {device}. Available: 0-{self._device_count() - 1}"}
            except (ValueError, IndexError):
                return {"error": f"Invalid device format: {device}"}
        elif device != "cpu":
            return {"error": f"Invalid device: {device}. Use 'cpu' or 'cuda:N'"}
        return None

    # -- commands ---------------------------------------------------------------

    def _cmd_ping(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return {"pong": True, "time": time.time()}

    def _cmd_get_info(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return self.get_info()

    def _cmd_shutdown(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Reply at once; stop() runs 0.5 s later in a thread (§9.1)."""
        LOGGER.info("Shutdown command received")
        if not self.args.ignore_shutdown:
            self._shutdown_requested = True
            if self._shutdown_at is None:
                self._shutdown_at = time.monotonic()
            threading.Thread(target=self._delayed_shutdown, daemon=True).start()
        return {"success": True, "message": "Daemon shutting down"}

    def _delayed_shutdown(self) -> None:
        time.sleep(0.5)
        self.stop()

    def _cmd_unload_models(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Stop and drop the CLIP pool (§8.1). The simulator also empties the
        weight registry so a UI sees the models vanish (the real one keeps it)."""
        LOGGER.info("Unload models command received")
        unloaded: List[str] = []
        with self.lock:
            pool, self.clip_pool = self.clip_pool, None
        if pool is not None:
            stopped = pool.stop()
            unloaded.append("CLIP")
            if stopped:
                self._on_scale_event(
                    "scale_down",
                    {"pool": "clip", "worker_id": stopped[-1], "active_workers": 0, "vram_available_gb": float("inf")},
                )
        self.weight_registry.unload_all()
        return {
            "success": True,
            "unloaded": unloaded,
            "message": f"Unloaded: {', '.join(unloaded)}" if unloaded else "No models were loaded",
        }

    def _devices_response(self) -> Dict[str, Any]:
        with self.lock:
            return {
                "success": True,
                "devices": {"clip": self.clip_device, "vae": self.vae_device, "llm": self.llm_device},
                "available_gpus": [f"cuda:{gpu.index}" for gpu in self.gpus],
                "has_cuda": bool(self.gpus),
            }

    def _cmd_get_devices(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Two INFO lines per call (§8.1, §12 noise)."""
        LOGGER.info("[Daemon] Handling get_devices request")
        response = self._devices_response()
        LOGGER.info(f"[Daemon] Returning get_devices response: {response}")
        return response

    def _cmd_set_clip_device(self, data: Dict[str, Any]) -> Dict[str, Any]:
        device = data.get("device")
        if not device:
            return {"error": "device parameter required"}
        error = self._validate_device(device)
        if error:
            return error
        with self.lock:
            old_device = self.clip_device
            self.clip_device = device
            pool = self.clip_pool
        if pool is not None:
            try:
                pool.set_device(device)  # stops workers; they come back lazily
                LOGGER.info(f"[Daemon] CLIP device changed: {old_device} -> {device}")
                return {
                    "success": True,
                    "old_device": old_device,
                    "new_device": device,
                    "message": f"CLIP device changed to {device}",
                }
            except Exception as e:  # noqa: BLE001
                with self.lock:
                    self.clip_device = old_device
                return {"error": f"Failed to change CLIP device: {e}"}
        return {
            "success": True,
            "old_device": old_device,
            "new_device": device,
            "message": f"CLIP device set to {device} (will apply on next model load)",
        }

    def _set_plain_device(self, data: Dict[str, Any], attr: str, label: str, applies: str) -> Dict[str, Any]:
        """set_vae_device / set_llm_device (docs/daemon-protocol.md §8.1): validate, swap, log; no pool to restart."""
        device = data.get("device")
        if not device:
            return {"error": "device parameter required"}
        error = self._validate_device(device)
        if error:
            return error
        with self.lock:
            old_device = getattr(self, attr)
            setattr(self, attr, device)
        LOGGER.info(f"[Daemon] {label} device changed: {old_device} -> {device}")
        return {
            "success": True,
            "old_device": old_device,
            "new_device": device,
            "message": f"{label} device set to {device} (will apply on {applies})",
        }

    def _cmd_set_vae_device(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return self._set_plain_device(data, "vae_device", "VAE", "next operation")

    def _cmd_set_llm_device(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return self._set_plain_device(data, "llm_device", "LLM", "next model load")

    def _cmd_set_attention_mode(self, data: Dict[str, Any]) -> Dict[str, Any]:
        mode = data.get("mode", "auto")
        if mode not in VALID_ATTENTION_MODES:
            return {
                "success": False,
                "error": f"Invalid mode '{mode}'. Valid modes: {', '.join(VALID_ATTENTION_MODES)}",
            }
        with self.lock:
            self._attention_mode = mode
        LOGGER.info(f"Attention mode set to: {mode}")
        return {
            "success": True,
            "mode": mode,
            "message": f"Attention mode set to {mode} (will apply to newly loaded models)",
        }

    def _cmd_lora_cache_check(self, data: Dict[str, Any]) -> Dict[str, Any]:
        if not data.get("lora_name"):
            return {"error": "lora_name required"}
        return {"cached": False}

    def _cmd_clear_loras(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """The real one also blocks on a CLIP-pool job first; the simulator does not."""
        cleared = 0
        self.lora_cache.clear()
        return {"success": True, "cleared": cleared, "message": f"Cleared {cleared} LoRAs from cache"}

    def _cmd_negotiate_ipc(self, data: Dict[str, Any]) -> Dict[str, Any]:
        client_gpu_id = data.get("client_gpu_id")
        with self.lock:
            clip_device = self.clip_device
        daemon_gpu_id = int(clip_device.split(":")[-1]) if ":" in clip_device else 0
        ipc_enabled = (client_gpu_id == daemon_gpu_id) if client_gpu_id is not None else False
        return {"ipc_enabled": ipc_enabled, "daemon_gpu_id": daemon_gpu_id}

    def _cmd_unload_weights(self, data: Dict[str, Any]) -> Dict[str, Any]:
        model_key = data.get("model_key")
        if not model_key:
            return {"success": False, "error": "model_key required"}
        return {"success": self.weight_registry.unload(str(model_key))}

    def _cmd_qwen3_status(self, data: Dict[str, Any]) -> Dict[str, Any]:
        if self.clip_pool is None:
            return {"loaded": False, "error": "CLIP pool not available"}
        return {"loaded": False, "message": "Qwen3-VL not loaded"}

    def _noise(self, n: int) -> str:
        """Realistic request noise for --log-rate (§12)."""
        kind = n % 4
        if kind == 0:
            return "[Daemon] Handling get_devices request"
        if kind == 1:
            return f"[Daemon] Returning get_devices response: {self._devices_response()}"
        if kind == 2:
            return "[CLIP-0] Processing clip_encode_sdxl"
        return "[CLIP-0] Completed clip_encode_sdxl"

    def handle_request(self, cmd: Any, data: Dict[str, Any]) -> Any:
        """``_handle_request``: counting rule, then routing (§8.1)."""
        if cmd not in ("ping", "get_info", "status"):  # there is no "status" command
            with self.lock:
                self._request_count += 1
        handler = self._commands.get(cmd) if isinstance(cmd, str) else None
        if handler is not None:
            return handler(data)
        if isinstance(cmd, str) and cmd.startswith("sim_"):
            result = sim_command(cmd, data, self.runtime, self.load_models)
            if result is not None:
                return result
        # The real daemon answers without logging anything (use sim_log to
        # push text into the log).
        return {"error": f"Unknown command: {cmd}"}

    # -- sockets ---------------------------------------------------------------

    def _handle_client(self, conn: socket.socket, addr: Tuple[str, int]) -> None:
        """One thread per connection, looping over framed requests (§5.1, §5.3)."""
        try:
            while self._running:
                length_data = conn.recv(8)  # single recv: fewer than 8 bytes ends it
                if not length_data or len(length_data) < 8:
                    break
                msg_length = int.from_bytes(length_data, "big")
                chunks: List[bytes] = []
                received = 0
                while received < msg_length:
                    chunk = conn.recv(min(msg_length - received, 65536))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    received += len(chunk)
                if received < msg_length:
                    break
                if self.runtime.hung.is_set():
                    continue  # --hang-after: read, never reply
                try:
                    request = pickle.loads(b"".join(chunks))
                except Exception as e:  # noqa: BLE001
                    LOGGER.error(f"Failed to deserialize request: {e}")
                    continue  # no reply, connection kept
                cmd = request.get("cmd", "")  # not a dict -> "Client handler error", closed
                after: Optional[Callable[[], None]] = None
                try:
                    result, after = unwrap_result(self.handle_request(cmd, request))
                except Exception as e:  # noqa: BLE001
                    LOGGER.error(f"Error handling {cmd}: {e}")
                    LOGGER.error(traceback.format_exc())
                    result = {"error": str(e)}
                try:
                    response_data = pickle.dumps(result)  # default protocol, on purpose
                    conn.sendall(len(response_data).to_bytes(8, "big") + response_data)
                except Exception as e:  # noqa: BLE001
                    LOGGER.error(f"Failed to send response: {e}")
                    break
                if after is not None:
                    after()
        except Exception as e:  # noqa: BLE001
            LOGGER.error(f"Client handler error: {e}")
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def start(self) -> None:
        """``start()``: pools, WebSocket first, then the main socket (§3.7, §3.8)."""
        LOGGER.info(SEP)
        LOGGER.info("Luna Daemon Starting...")
        LOGGER.info(SEP)
        self._running = True
        self._start_time = time.time()
        self.clip_pool = FakeClipPool(self.clip_device, self._on_scale_event)
        LOGGER.info(f"[CLIP] Worker pool started on {self.clip_device}")
        LOGGER.info("[CLIP_VISION] No vision model configured, pool not started")
        if self.ws_port:
            self.ws_server = WebSocketMonitor(
                self.get_info, self.host, self.ws_port, self.runtime.hung, drop_idle=not self.args.ws_keep_idle
            )
            self.ws_server.start()
            LOGGER.info(f"[WS] Monitoring server started on ws://{self.host}:{self.ws_port}")
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server_socket = srv
        srv.bind((self.host, self.port))
        srv.listen(10)
        srv.settimeout(1.0)
        bound_port = srv.getsockname()[1]  # differs from --port only with --port 0
        LOGGER.info(f"[Socket] Server listening on {self.host}:{bound_port}")
        LOGGER.info(SEP)
        LOGGER.info("Luna Daemon Ready!")
        LOGGER.info(SEP)
        self.runtime.after_ready(self.load_models, self._noise)
        self._accept_loop(srv)

    def _accept_loop(self, srv: socket.socket) -> None:
        """Accept with a 1 s timeout; stop() also wakes it at once through a socketpair."""
        while self._running:
            try:
                readable, _, _ = select.select([srv, self._wake_r], [], [], 1.0)
            except (OSError, ValueError):
                if not self._running:
                    break
                continue
            if self._wake_r in readable or not self._running:
                self._linger_after_stop()
                break
            if srv not in readable:
                continue
            if self._shutdown_at is not None:
                self._connected_after_shutdown = True
            try:
                conn, addr = srv.accept()
            except socket.timeout:
                continue
            except Exception as e:  # noqa: BLE001
                if self._running:
                    LOGGER.error(f"Accept error: {e}")
                continue
            conn.settimeout(None)  # no server-side timeout (§5.4)
            threading.Thread(target=self._handle_client, args=(conn, addr), daemon=True).start()

    def _linger_after_stop(self) -> None:
        """After a ``shutdown``, exit when the real daemon would (§9.1).

        The real accept loop only notices ``stop()`` at its next 1 s accept
        timeout, and torch's teardown adds a little: the process exits about
        1.0-1.2 s after the request. A client that connected after the request
        wakes the loop early (observed ~0.65 s). Ctrl+C does not wait.
        """
        if self._shutdown_at is None:
            return
        if self._connected_after_shutdown:
            exit_at = time.monotonic() + 0.15
        else:
            exit_at = self._shutdown_at + 1.0 + random.uniform(0.0, 0.2)
        delay = exit_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def stop(self) -> None:
        """``stop()``: runs twice on shutdown, so its lines appear twice (§9.1)."""
        with self._stop_lock:
            LOGGER.info("Luna Daemon stopping...")
            self._running = False
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
            if self._shutdown_requested and self.args.slow_shutdown > 0:
                slow, self.args.slow_shutdown = self.args.slow_shutdown, 0.0
                time.sleep(slow)  # like a busy worker join
            if self.clip_pool is not None:
                self.clip_pool.stop()
            if self.ws_server is not None:
                self.ws_server.stop()
            if self._server_socket is not None:
                close_listener(self._server_socket)
            LOGGER.info("Luna Daemon stopped")


def log_config_lines(host: str, port: int) -> None:
    """§3.8 items 1-4: script mode always takes the fallback import path."""
    LOGGER.info("[Config] Attempting package import from .config")
    LOGGER.warning("[Config] Package import failed: attempted relative import with no known parent package")
    LOGGER.info("[Config] Attempting fallback import from config file...")
    LOGGER.info("[Config] [OK] Loaded config via fallback import (importlib)")
    LOGGER.info("[Config] Source: fallback import")
    LOGGER.info(f"[Config] CLIP_DEVICE={CLIP_DEVICE}, VAE_DEVICE={VAE_DEVICE}")
    LOGGER.info(f"[Config] DAEMON_HOST={host}:{port}")


def run_current(args: argparse.Namespace, runtime: SimRuntime) -> int:
    """``main()`` of daemon_server.py: start(), Ctrl+C, stop() in finally (§9.1, §9.4)."""
    log_config_lines(args.host, args.port)
    if args.crash_at_start is not None:
        write_raw_stderr(comfy_missing_traceback())
        return int(args.crash_at_start)
    daemon = LunaDaemonSim(args, runtime)
    try:
        daemon.start()
    except KeyboardInterrupt:
        LOGGER.info("Interrupted by user")
    finally:
        daemon.stop()
    return 0


# =============================================================================
# Legacy generation: DynamicDaemon v2.1-split (server_old.py @80ea718d)
# =============================================================================


class LegacyDaemonSim:
    """The legacy daemon: 4-byte framing, one request per connection (§5.2, §8.4)."""

    def __init__(self, args: argparse.Namespace, runtime: SimRuntime) -> None:
        self.args = args
        self.runtime = runtime
        self.host: str = args.host
        self.port: int = args.port
        self.ws_port: int = args.ws_port
        # server.py's --service-type: full and clip run on SHARED_DEVICE, vae on VAE_DEVICE (§3.4).
        self.service_type: str = args.service_type
        self.device = VAE_DEVICE if self.service_type == "vae" else CLIP_DEVICE
        self.gpus = [FakeGPU(i) for i in range(max(args.gpus, 0))]
        self.ws_server: Optional[WebSocketMonitor] = None
        self.lock = threading.Lock()
        self.start_time = time.time()
        self.request_count = 0
        self.work_request_count = 0
        self.shutdown_requested = False
        self._wake_r, self._wake_w = socket.socketpair()
        LOGGER.info(f"[LoRARegistry] Initialized with {LEGACY_LORA_REGISTRY_MB:.0f}MB cache limit")
        LOGGER.info(f"[ModelRegistry] Initialized on device {self.device} - awaiting model registration from clients")
        LOGGER.info(f"Daemon mode: {self.service_type}")

    def _request_shutdown(self) -> None:
        self.shutdown_requested = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _device_index(self) -> int:
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    @staticmethod
    def _pool_stats(kind: str) -> Dict[str, Any]:
        return {"type": kind, "active_workers": 0, "queue_depth": 0, "total_requests": 0, "worker_ids": []}

    def get_info(self) -> Dict[str, Any]:
        """Legacy ``info`` fields (§8.4)."""
        with self.lock:
            info: Dict[str, Any] = {
                "status": "ok",
                "version": "2.1-split",
                "service_type": self.service_type,
                "device": self.device,
                "precision": MODEL_PRECISION,
                "uptime_seconds": time.time() - self.start_time,
                "request_count": self.work_request_count,
                "total_requests": self.request_count,
            }
        # Only the pools this service type runs (a clip daemon has no VAE pool and vice versa).
        if self.service_type in ("full", "vae"):
            info["vae_pool"] = self._pool_stats("vae")
        if self.service_type in ("full", "clip"):
            info["clip_pool"] = self._pool_stats("clip")
        info["lora_registry"] = {
            "cached_loras": 0,
            "total_size_mb": 0 / 1024 / 1024,
            "max_size_mb": int(LEGACY_LORA_REGISTRY_MB * 1024 * 1024) / 1024 / 1024,
            "entries": [],
        }
        info.update(
            {
                "vae_loaded": False,
                "clip_loaded": False,
                "loaded_vae": None,
                "loaded_vae_path": None,
                "loaded_clip": None,
                "loaded_clip_paths": None,
            }
        )
        index = self._device_index()
        if "cuda" in self.device and index < len(self.gpus):  # the real one would raise without the GPU
            total = self.gpus[index].total_gb
            info["vram_used_gb"] = 0.0  # this process holds nothing: no model is ever loaded
            info["vram_allocated_gb"] = 0.0
            info["vram_total_gb"] = total
            info["vram_percent"] = round((0.0 / total) * 100, 1)
            info["gpu_count"] = len(self.gpus)
            info["gpus"] = [
                {
                    "id": gpu.index,
                    "name": gpu.name,
                    "allocated_gb": 0.0,
                    "reserved_gb": round(gpu.base_used_gb, 2),
                    "total_gb": round(gpu.total_gb, 1),
                    "percent": round((gpu.base_used_gb / gpu.total_gb) * 100, 1),
                    "is_daemon_device": gpu.index == index,
                }
                for gpu in self.gpus
            ]
        info["checkpoints"] = []
        return info

    def dispatch(self, cmd: Any, request: Dict[str, Any]) -> Any:
        """Route one legacy command."""
        if cmd == "health":
            return {"status": "ok", "service_type": self.service_type}
        if cmd == "info":
            return self.get_info()
        if cmd == "shutdown":
            LOGGER.info("Shutdown requested via command")
            reply = {"status": "ok", "message": "Shutdown initiated"}
            if self.args.ignore_shutdown:
                return reply
            # The real accept loop notices the flag within 1 s, long after the
            # reply is out; the simulator sets it once the reply is sent and
            # wakes the loop at once.
            return AfterReply(reply, self._request_shutdown)
        if cmd == "lora_stats":
            return {"cached_loras": 0, "total_size_mb": 0.0, "max_size_mb": LEGACY_LORA_REGISTRY_MB, "entries": []}
        if cmd == "clear_loras":
            LOGGER.info("[LoRARegistry] Cleared all cached LoRAs")
            return {"success": True}
        if cmd == "negotiate_ipc":
            client_gpu_id = request.get("client_gpu_id")
            daemon_gpu_id = self._device_index()
            can_ipc = client_gpu_id is not None and client_gpu_id == daemon_gpu_id
            if can_ipc:
                LOGGER.info(f"IPC enabled for client on GPU {client_gpu_id}")
            return {"ipc_enabled": can_ipc, "daemon_gpu_id": daemon_gpu_id, "client_gpu_id": client_gpu_id}
        if isinstance(cmd, str) and cmd.startswith("sim_"):
            result = sim_command(cmd, request, self.runtime, None)
            if result is not None:
                return result
        return {"error": f"Unknown command: {cmd}"}  # not logged, as in current mode

    def handle_request(self, conn: socket.socket, addr: Tuple[str, int]) -> None:
        """One request per connection; errors answered with {"error": ...} (§5.2, §7)."""
        try:
            header = b""
            while len(header) < 4:
                chunk = conn.recv(4 - len(header))
                if not chunk:
                    return
                header += chunk
            data_len = struct.unpack(">I", header)[0]
            chunks: List[bytes] = []
            received = 0
            while received < data_len:
                chunk = conn.recv(min(data_len - received, 1048576))
                if not chunk:
                    raise ConnectionError("Socket closed mid-stream")
                chunks.append(chunk)
                received += len(chunk)
            if self.runtime.hung.is_set():
                drain_until_closed(conn)
                return
            # §7: an 8-byte-framed probe reads as length 0 -> EOFError "Ran out of input".
            request = pickle.loads(b"".join(chunks))
            cmd = request.get("cmd", "unknown")
            with self.lock:
                self.request_count += 1
            result, after = unwrap_result(self.dispatch(cmd, request))
            response_data = pickle.dumps(result)
            conn.sendall(struct.pack(">I", len(response_data)) + response_data)
            if after is not None:
                after()
        except Exception as e:  # noqa: BLE001
            LOGGER.error(f"Error handling request: {e}")
            LOGGER.error(f"Traceback:\n{traceback.format_exc()}")
            try:
                err_data = pickle.dumps({"error": str(e)})
                conn.sendall(struct.pack(">I", len(err_data)) + err_data)
            except Exception:  # noqa: BLE001
                pass
        finally:
            conn.close()  # may be a TCP RST when unread bytes remain (§7)

    def start_pools(self) -> None:
        LOGGER.info("Starting worker pools...")
        LOGGER.info(f"  CLIP precision: {CLIP_PRECISION}, VAE precision: {VAE_PRECISION}")
        LOGGER.info(f"VAE pool configured on {VAE_DEVICE} ({VAE_PRECISION})")
        LOGGER.info(f"CLIP pool configured on {CLIP_DEVICE} ({CLIP_PRECISION})")
        LOGGER.info("Image save pool configured on CPU (up to 4 parallel workers)")
        index = self._device_index()
        if "cuda" in self.device and index < len(self.gpus):
            LOGGER.info(f"Initial VRAM usage: {0.0:.2f} / {self.gpus[index].total_gb:.2f} GB")

    def _noise(self, n: int) -> str:
        return "[CLIP-0] Processing clip_encode_sdxl" if n % 2 == 0 else "[CLIP-0] Completed clip_encode_sdxl"

    def run(self) -> None:
        """``DynamicDaemon.run``: pools, WebSocket, then the socket; accept until shutdown."""
        self.start_pools()
        if self.ws_port:
            self.ws_server = WebSocketMonitor(
                self.get_info, self.host, self.ws_port, self.runtime.hung,
                log_stop=False, drop_idle=not self.args.ws_keep_idle,
            )
            self.ws_server.start()  # not in the try: a busy port propagates, nothing logged
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((self.host, self.port))
            server.listen(16)  # MAX_WORKERS * 2
            bound_port = server.getsockname()[1]
            LOGGER.info(f"Socket server (work): {self.host}:{bound_port}")
            LOGGER.info(f"WebSocket server (monitoring): ws://{self.host}:{self.ws_port}")
            LOGGER.info(f"Service type: {self.service_type}")
            if self.service_type in ("full", "vae"):
                LOGGER.info(f"  VAE: {LEGACY_MIN_VAE}-{LEGACY_MAX_VAE} workers")
            if self.service_type in ("full", "clip"):
                LOGGER.info(f"  CLIP: {LEGACY_MIN_CLIP}-{LEGACY_MAX_CLIP} workers")
            LOGGER.info(f"  Idle timeout: {LEGACY_IDLE_TIMEOUT_SEC}s")
            LOGGER.info("Ready to accept connections!")
            LOGGER.info("Press Ctrl+C to stop")
            server.settimeout(1.0)
            self.runtime.after_ready(None, self._noise)
            while not self.shutdown_requested:
                readable, _, _ = select.select([server, self._wake_r], [], [], 1.0)
                if self.shutdown_requested or self._wake_r in readable:
                    break
                if server not in readable:
                    continue
                try:
                    conn, addr = server.accept()
                except socket.timeout:
                    continue
                conn.settimeout(None)
                threading.Thread(target=self.handle_request, args=(conn, addr), daemon=True).start()
        except KeyboardInterrupt:
            LOGGER.info("Shutting down...")
        finally:
            if self.ws_server is not None:
                self.ws_server.stop()
            if self.shutdown_requested and self.args.slow_shutdown > 0:
                time.sleep(self.args.slow_shutdown)
            server.close()


def run_legacy(args: argparse.Namespace, runtime: SimRuntime) -> int:
    """Legacy ``main()``: stdout banner, then the daemon (§3.8)."""
    if args.crash_at_start is not None:
        write_raw_stderr(comfy_missing_traceback())
        return int(args.crash_at_start)
    attention = os.environ.get("LUNA_ATTENTION_MODE", "auto")
    for line in (
        SEP,
        "  Luna VAE/CLIP Daemon v2.1 - Split Architecture",
        SEP,
        f"  Service Type: {args.service_type.upper()}",
        f"  Device: {VAE_DEVICE if args.service_type == 'vae' else CLIP_DEVICE}",
        f"  CLIP Precision: {CLIP_PRECISION}",
        f"  VAE Precision: {VAE_PRECISION}",
        f"  Attention Mode: {attention}",
        f"  Socket: {args.host}:{args.port}",
        f"  WebSocket: ws://{args.host}:{args.ws_port}",
        SEP,
        "",
    ):
        print_stdout(line)
    LegacyDaemonSim(args, runtime).run()
    return 0


# =============================================================================
# Entry point
# =============================================================================


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line flags (all simulator-only: the real daemon takes none, §3.4)."""
    parser = argparse.ArgumentParser(
        description="Luna daemon simulator (stdlib only). Reproduces the real daemon's wire "
        "protocol, WebSocket monitor, logs and lifecycle; see sim/README.md."
    )
    add = parser.add_argument
    add("--port", type=int, default=None,
        help="main socket port (default 19283, 19284 for --service-type vae; 0 = any free port, read it from the log)")
    add("--ws-port", type=int, default=DEFAULT_WS_PORT,
        help="WebSocket monitor port (default 19285; 0 disables the monitor)")
    add("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    add("--legacy", action="store_true", help="simulate the legacy v2.1-split generation (4-byte framing)")
    add("--service-type", "-t", choices=("full", "clip", "vae"), default=None,
        help="legacy server.py's service type (default full; needs --legacy: the current daemon takes no arguments)")
    add("--log-format", choices=sorted(LOG_FORMATS), default=None,
        help="stderr log format (default: direct, or legacy with --legacy)")
    add("--startup-delay", type=float, default=1.0, metavar="S",
        help="sleep S s before the first log line, like 'import torch' (default 1.0; 0 for fast tests)")
    add("--crash-at-start", type=int, default=None, metavar="CODE",
        help="print the missing-comfy traceback and exit CODE before binding any port")
    add("--crash-after", type=float, default=None, metavar="S",
        help="S s after ready: log a traceback, exit 1")
    add("--hang-after", type=float, default=None, metavar="S",
        help="S s after ready: keep ports open, read requests, never answer (both sockets)")
    add("--ignore-shutdown", action="store_true", help="answer shutdown but keep running")
    add("--slow-shutdown", type=float, default=0.0, metavar="S",
        help="take S extra seconds to exit after a shutdown command")
    add("--log-rate", type=float, default=0.0, metavar="N", help="emit N realistic INFO lines per second")
    add("--log-lines", type=int, default=0, metavar="N",
        help="right after ready, write N ~100-byte lines as fast as possible, then '[Sim] flood done N'")
    add("--models-after", type=float, default=3.0, metavar="S",
        help="load the fake models S s after ready (default 3; negative = only on sim_load_models)")
    add("--gpus", type=int, default=2, metavar="N", help="number of fake CUDA GPUs (default 2; 0 = no CUDA)")
    add("--scaling-events", action="store_true", help="send WebSocket 'scaling' events when models load/unload")
    add("--ws-keep-idle", action="store_true",
        help="keep WebSocket clients that send nothing (the real daemon drops them after ~1.1 s)")
    add("--no-cuda", action="store_true",
        help="a machine without a GPU (CPU torch): same as --gpus 0")
    args = parser.parse_args(argv)
    if args.service_type is not None and not args.legacy:
        parser.error("--service-type needs --legacy: only the legacy server.py has it (the current daemon takes no arguments)")
    args.service_type = args.service_type or LEGACY_SERVICE_TYPE
    if args.port is None:
        # server.py: the VAE-only daemon defaults to DAEMON_VAE_PORT (§3.4).
        args.port = DEFAULT_VAE_PORT if args.service_type == "vae" else DEFAULT_PORT
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the simulator; returns the exit code."""
    args = parse_args(argv)
    if args.no_cuda:
        args.gpus = 0
    formatter = setup_logging(args.log_format or ("legacy" if args.legacy else "direct"))
    if not args.legacy and "LUNA_ATTENTION_MODE" in os.environ:
        # daemon_server.py @90675b73 prints this at import time (§3.5).
        print_stdout(f"[Luna.Daemon] Using attention mode: {os.environ['LUNA_ATTENTION_MODE']}")
    if args.startup_delay > 0:
        time.sleep(args.startup_delay)  # stands for 'import torch'
    runtime = SimRuntime(args, formatter)
    if args.legacy:
        return run_legacy(args, runtime)
    return run_current(args, runtime)


if __name__ == "__main__":
    try:
        exit_code = main()
    except (SystemExit, KeyboardInterrupt):  # argparse errors, --help; Ctrl+C before start()
        raise
    except BaseException:  # noqa: BLE001 - e.g. OSError [Errno 98] from bind: traceback, exit 1
        with OUTPUT_LOCK:
            traceback.print_exc()
        hard_exit(1)
    # os._exit skips interpreter finalisation, so daemon threads still writing
    # to stderr cannot abort the exit; both streams are flushed first.
    hard_exit(exit_code)
