"""Operator recordings in a campaign call: a bundle's WAV is what the customer hears.

Real pieces only: the flow stored with its recording in SQLite (the same bundle reader as the API),
the `waihu worker` process, a baresip customer on loopback recording what it receives. The recording
is a 550 Hz tone: the neural voice never produces a steady tone, so hearing it proves the recording,
not the synthesiser, reached the callee.
"""

from __future__ import annotations

import time
from pathlib import Path

from sip_peers.peers import Baresip, dominant_hz, rms, tone, write_pcm_wav
from tests.security.test_flow_bundles import make_zip
from tests.service.helpers import make_campaign
from tests.telephony.worker_process import call_until_finished
from tts.audio import read_wav, wav_bytes
from tts.base import Audio
from waihu.service.bundles import read_bundle
from waihu.service.db import open_database
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts

PHONE = "13800003001"
TONE_HZ = 550.0
FLOW = """\
flow: {id: recorded, name: Recorded greeting, language: zh, version: 1}
start: hello
nodes:
  hello:
    prompt: 您好，这是一段录音。
    audio: prompts/greeting.wav
    barge_in: false
    then: hangup
"""


def test_a_campaign_call_plays_the_bundles_recording(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'rec.db'}"
    _engine, factory = open_database(db_url)
    recording = wav_bytes(Audio(tone(TONE_HZ, 2.0, rate=16000), 16000))  # resampled to 8 kHz on play
    bundle = read_bundle(make_zip({"recorded.yaml": FLOW.encode(), "prompts/greeting.wav": recording}))
    with factory() as session:
        campaign = make_campaign(session)
        stored = store_flow(
            session, bundle.yaml_text, filename=bundle.yaml_name, recordings=bundle.recordings
        )
        campaign.flow_version_id, campaign.flow_id, campaign.flow_version = (
            stored.version.id, stored.version.flow_id, stored.version.version)  # fmt: skip
        session.commit()
        import_contacts(
            session, campaign.id, [RawRow(1, {"reference_id": "r1", "phone": PHONE, "name": "张先生"})]
        )
        session.commit()
    silence = write_pcm_wav(tmp_path / "silence.wav", bytes(8000 * 2 * 12))
    log = tmp_path / "worker.log"
    with Baresip(tmp_path, silence, user=PHONE) as customer:
        routes = tmp_path / "routes.yaml"
        routes.write_text(f'"+86{PHONE}": "{customer.uri}"\n')
        attempt = call_until_finished(db_url, factory, routes, log)
        time.sleep(0.5)  # baresip closes its recording after the BYE
        heard = [path for path in customer.recordings() if path.name.endswith("-dec.wav")]
    assert attempt.outcome == "answered", (attempt.outcome, attempt.sip_reason)
    assert heard, customer.output()[-2000:]
    pcm = read_wav(heard[-1]).pcm
    loud = [pcm[i : i + 3200] for i in range(0, len(pcm) - 3200, 3200) if rms(pcm[i : i + 3200]) > 500]
    assert len(loud) >= 8, f"only {len(loud) * 0.2:.1f} s of robot audio reached the customer"
    assert abs(dominant_hz(b"".join(loud)) - TONE_HZ) < 20, dominant_hz(b"".join(loud))
