"""Real SIP peers on loopback: sipp (apt ``sip-tester``) and baresip (apt ``baresip-core``).

Everything runs on 127.0.0.1 with free ports; every peer is a context manager that kills its
process (by pid) on exit, pass or fail.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from contextlib import suppress
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class PeerMissing(RuntimeError):
    """A SIP peer program is not installed (the message names the Debian package)."""


HOST = "127.0.0.1"


def require(binary: str, apt_package: str) -> str:
    """Path of ``binary`` or a test failure naming the apt package to install."""
    path = shutil.which(binary)
    if path is None:
        raise PeerMissing(
            f"{binary} not found: install it with `apt-get install -y {apt_package}` (make setup does)"
        )
    return path


def free_udp_port(span: int = 1) -> int:
    """A UDP (and TCP) port on 127.0.0.1 with ``span`` consecutive free ports after it."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            base = s.getsockname()[1]
        if base + span >= 65000:
            continue
        if all(_udp_free(base + i) for i in range(span)):
            return base
    raise RuntimeError("no free UDP port range")


def _udp_free(port: int) -> bool:
    """Free for UDP and TCP (baresip and pjsip with TCP enabled bind both)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                return False
    return True


def tone(freq: float, seconds: float, amplitude: float = 0.3, rate: int = 8000) -> bytes:
    """A sine tone as 16-bit mono PCM."""
    n = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n)
    )


def write_ulaw_for_sipp(path: Path, pcm16: bytes) -> Path:
    """8 kHz G.711 mu-law samples for sipp's ``rtp_stream``.

    sipp 3.6.1 streams the file's bytes as they are: a WAV header would be sent as audio (a burst
    of full-scale noise at every loop), so the file is headerless mu-law.
    """
    from tts.audio import ulaw_encode

    path.write_bytes(ulaw_encode(pcm16))
    return path


def write_pcm_wav(path: Path, pcm16: bytes, rate: int = 8000) -> Path:
    """A 16-bit mono PCM WAV."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16)
    return path


def dominant_hz(pcm16: bytes, rate: int = 8000) -> float:
    """The strongest frequency of 16-bit mono PCM."""
    import numpy as np

    x = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec[1:]) + 1) * rate / len(x)


def rms(pcm16: bytes) -> float:
    """RMS of 16-bit PCM (0..32767)."""
    import numpy as np

    x = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                proc.kill()
            proc.wait(3)


class Sipp:
    """A sipp UAS running one scenario from ``scenarios/`` (``-m calls``, then it exits).

    ``wav``: mu-law audio (:func:`write_ulaw_for_sipp`) copied to ``callee.wav`` in ``workdir``,
    which the scenarios stream as RTP.
    """

    def __init__(
        self,
        scenario: str,
        workdir: Path,
        *,
        keys: dict[str, str] | None = None,
        wav: Path | None = None,
        calls: int | None = 1,
        timeout_s: int = 30,
        remote: str | None = None,
    ) -> None:
        self.binary = require("sipp", "sip-tester")
        self.remote = remote  # host:port for client (UAC) scenarios
        self.scenario = SCENARIOS / scenario
        self.workdir = workdir
        self.port = free_udp_port()
        self.media_port = free_udp_port(4)
        self.keys = keys or {}
        if wav is not None:  # the scenarios stream ``callee.wav`` from sipp's working directory
            shutil.copyfile(wav, workdir / "callee.wav")
        self.calls = calls
        self.timeout_s = timeout_s
        self.log_file = workdir / f"sipp-{self.port}.log"
        self.out_file = workdir / f"sipp-{self.port}.out"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """Where to dial it (any user part)."""
        return f"sip:13800001234@{HOST}:{self.port}"

    def uri_for(self, user: str) -> str:
        """A URI with a given user part."""
        return f"sip:{user}@{HOST}:{self.port}"

    def __enter__(self) -> Sipp:
        cmd = [
            self.binary,
            "-sf",
            str(self.scenario),
            "-i",
            HOST,
            "-p",
            str(self.port),
            "-mi",
            HOST,
            "-mp",
            str(self.media_port),
            "-nostdin",
            "-trace_logs",
            "-log_file",
            str(self.log_file),
            "-timeout",
            f"{self.timeout_s}s",
            "-max_recv_loops",
            "1000",
        ]
        if self.calls is not None:
            cmd += ["-m", str(self.calls)]
        if self.remote is not None:
            cmd.append(self.remote)
        for k, v in self.keys.items():
            cmd += ["-key", k, v]
        out = self.out_file.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 5
        while _udp_free(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"sipp did not start: {self.out_file.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)
        return self

    def wait(self, timeout_s: float = 10) -> int:
        """Wait for sipp to finish its calls; returns its exit status (0: every call passed)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return -1

    def logged(self) -> str:
        """What the scenario's ``<log>`` actions wrote."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            _stop(self.proc)


class Baresip:
    """An auto-answering baresip playing ``wav`` (8 kHz mono), recording both directions with sndfile.

    ``send(cmd)`` sends a console command over ``cons`` (TCP), e.g. ``"/sndcode 5"`` is not needed:
    DTMF is sent by writing the digit itself while a call is up.
    """

    def __init__(self, workdir: Path, wav: Path, *, user: str = "customer") -> None:
        self.binary = require("baresip", "baresip-core")
        self.dir = workdir / f"baresip-{user}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rec_dir = self.dir / "rec"
        self.rec_dir.mkdir(exist_ok=True)
        self.port = free_udp_port()
        self.cons_port = free_udp_port()
        self.rtp_port = free_udp_port(20)
        self.user = user
        self.wav = wav
        self.proc: subprocess.Popen[bytes] | None = None
        self.out_file = self.dir / "baresip.out"

    @property
    def uri(self) -> str:
        """Where to dial it."""
        return f"sip:{self.user}@{HOST}:{self.port}"

    def _write_config(self) -> None:
        modules = ["stdio", "cons", "g711", "aufile", "sndfile", "account", "menu"]
        alsa = Path("/usr/lib/baresip/modules/alsa.so").exists()
        if alsa:
            modules.append("alsa")
        lines = [
            f"sip_listen {HOST}:{self.port}",
            f"net_interface {HOST}",
            f"rtp_ports {self.rtp_port}-{self.rtp_port + 19}",
            f"audio_source aufile,{self.wav}",
            "audio_player aufile,/dev/null" if not alsa else "audio_player alsa,null",
            "audio_alert aufile,/dev/null" if not alsa else "audio_alert alsa,null",
            "audio_srate 8000",
            "audio_channels 1",
            f"cons_listen {HOST}:{self.cons_port}",
            f"snd_path {self.rec_dir}",
            "module_path /usr/lib/baresip/modules",
            *[f"module {m}.so" for m in modules if m not in ("account", "menu", "cons")],
            "module_app account.so",
            "module_app menu.so",
            "module cons.so",
            "sip_verify_server no",
            "dns_fallback 127.0.0.1:53",
        ]
        (self.dir / "config").write_text("\n".join(lines) + "\n")
        (self.dir / "accounts").write_text(
            f"<sip:{self.user}@{HOST}:{self.port}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n"
        )
        (self.dir / "contacts").write_text("")

    def __enter__(self) -> Baresip:
        for attempt in range(3):  # a port picked as free can be taken by someone else meanwhile
            try:
                return self._start()
            except RuntimeError as e:
                if "already in use" not in str(e) or attempt == 2:
                    raise
                self.port, self.cons_port, self.rtp_port = free_udp_port(), free_udp_port(), free_udp_port(20)
        raise AssertionError("unreachable")

    def _start(self) -> Baresip:
        self._write_config()
        out = self.out_file.open("wb")
        self.proc = subprocess.Popen(
            [self.binary, "-f", str(self.dir)],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(self.dir)},
        )
        out.close()
        deadline = time.monotonic() + 8
        while _udp_free(self.port) or not self._cons_ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"baresip did not start: {self.output()[-3000:]}")
            time.sleep(0.05)
        return self

    def _cons_ready(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((HOST, self.cons_port))
            except OSError:
                return True
        return False

    def send(self, command: str) -> None:
        """Send a console command (UDP to the cons module), e.g. a DTMF digit ``"5"``."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(command.encode(), (HOST, self.cons_port))

    def output(self) -> str:
        """baresip's console output so far."""
        return self.out_file.read_text(errors="replace") if self.out_file.exists() else ""

    def recordings(self) -> list[Path]:
        """WAV files written by sndfile (one per direction)."""
        return sorted(self.rec_dir.glob("*.wav"))

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            _stop(self.proc)
