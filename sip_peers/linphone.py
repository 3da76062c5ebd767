"""A third real SIP stack on loopback: headless ``linphonec`` (apt ``linphone-cli``).

sipp and baresip are the other two (:mod:`sip_peers.peers`); running the same calls against
liblinphone/belle-sip proves the robot does not only work with peers that share its quirks.

linphonec has no sound card here: ``soundcard use files`` makes it send a WAV (``play``) instead of a
microphone and write what it receives to a WAV (``record``) instead of a speaker. It is driven over
its standard input, auto-answers (``-a``), and keeps everything (config, databases, logs) in its own
directory, with ``HOME`` pointed there so nothing touches the user's ``~/.linphonerc``.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
import wave
from pathlib import Path

from sip_peers.peers import HOST, _stop, _udp_free, free_udp_port, require, write_pcm_wav

log = logging.getLogger(__name__)

#: What linphonec prints once it has run the set-up commands (they run in order).
_READY = "Auto answer enabled."


class Linphone:
    """An auto-answering linphonec on ``127.0.0.1`` sending ``wav`` and recording what it hears.

    ``wav``: 16-bit mono PCM (8 kHz is what G.711 carries); ``None`` sends silence. The recording
    (:meth:`heard`) is 8 kHz 16-bit mono; linphonec finalises its WAV header when the call ends.
    """

    def __init__(self, workdir: Path, wav: Path | None = None, *, user: str = "linphone") -> None:
        self.binary = require("linphonec", "linphone-cli")
        self.user = user
        self.dir = workdir / f"linphone-{user}"
        self.dir.mkdir(parents=True, exist_ok=True)
        # liblinphone keeps its chat/call-history databases here and will not create the folder.
        (self.dir / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        if wav is None:
            wav = write_pcm_wav(self.dir / "silence.wav", bytes(8000 * 2 * 60))
        self.wav = wav
        self.record_path = self.dir / "heard.wav"
        self.config = self.dir / "linphonerc"
        self.log_file = self.dir / "linphone.log"
        self.out_file = self.dir / "linphonec.out"
        self.port = free_udp_port()
        self.rtp_port = free_udp_port(2)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """Where to dial it."""
        return f"sip:{self.user}@{HOST}:{self.port}"

    def uri_for(self, user: str) -> str:
        """A URI with a given user part (linphonec answers any)."""
        return f"sip:{user}@{HOST}:{self.port}"

    def _write_config(self) -> None:
        # TCP/TLS off (0): only the UDP port we picked is bound; bind_address keeps SIP and RTP on
        # loopback; a fixed RTP port (not a range) so a port picked as free is the one used.
        self.config.write_text(
            "\n".join(
                [
                    "[sip]",
                    f"sip_port={self.port}",
                    "sip_tcp_port=0",
                    "sip_tls_port=0",
                    "use_ipv6=0",
                    f"bind_address={HOST}",
                    "[rtp]",
                    f"audio_rtp_port={self.rtp_port}",
                    f"bind_address={HOST}",
                    "[sound]",
                    "echocancellation=0",
                    "[video]",
                    "enabled=0",
                ]
            )
            + "\n"
        )

    def __enter__(self) -> Linphone:
        for attempt in range(3):  # a port picked as free can be taken by someone else meanwhile
            try:
                return self._start()
            except RuntimeError:
                if attempt == 2:
                    raise
                log.warning("linphonec did not start, retrying on other ports: %s", self.output()[-500:])
                self.port, self.rtp_port = free_udp_port(), free_udp_port(2)
        raise AssertionError("unreachable")

    def _start(self) -> Linphone:
        self._write_config()
        out = self.out_file.open("wb")
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.config), "-a", "-d", "4", "-l", str(self.log_file)],
            cwd=self.dir,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(self.dir)},
        )
        out.close()
        # Files instead of a sound card; the last command's answer says all the others ran.
        for command in (
            "soundcard use files",
            f"play {self.wav}",
            f"record {self.record_path}",
            "autoanswer enable",
        ):
            self.send(command)
        deadline = time.monotonic() + 10
        while _udp_free(self.port) or _READY not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"linphonec did not start: {self.output()[-2000:]}{self.log()[-3000:]}")
            time.sleep(0.05)
        return self

    def send(self, command: str) -> None:
        """Type a console command, e.g. ``"terminate"`` (hang up) or ``"calls"``."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def output(self) -> str:
        """linphonec's console output so far (call states: ``Call 1 with … connected.``)."""
        return self.out_file.read_text(errors="replace") if self.out_file.exists() else ""

    def log(self) -> str:
        """liblinphone's own log: every SIP message in full, media set-up (for failure messages)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def wait_for(self, text: str, timeout_s: float = 10) -> bool:
        """Wait until ``text`` appears in the console output; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def received_header(self, name: str) -> list[str]:
        """Values of SIP header ``name`` in the messages linphonec received or sent (its log has
        every message in full), e.g. the transfer summary of the INVITE a seat got."""
        pattern = re.compile(rf"^{re.escape(name)}:[ \t]*(\S[^\r\n]*)", re.IGNORECASE | re.MULTILINE)
        return pattern.findall(self.log())

    def heard(self) -> bytes:
        """What linphonec received so far, as 8 kHz 16-bit mono PCM.

        Mid-call linphonec has only reserved the 44 bytes of the WAV header (it writes it when the
        call ends): then the bytes after them are the samples.
        """
        if not self.record_path.exists():
            return b""
        data = self.record_path.read_bytes()
        if data.startswith(b"RIFF"):
            with wave.open(str(self.record_path)) as w:
                return w.readframes(w.getnframes())
        data = data[44:]
        return data[: len(data) // 2 * 2]

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        # ``quit`` ends calls and closes the recording (its header gets the length) before exiting.
        try:
            if self.proc.poll() is None:
                self.send("quit")
                self.proc.wait(5)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            _stop(self.proc)
        finally:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
