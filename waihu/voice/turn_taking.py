"""Turn-taking decisions: which speech during a prompt is a false interruption."""

from __future__ import annotations

from nlu.normalize import normalize

#: Short acknowledgements that mean "go on" while the robot is still talking.
BACKCHANNELS = frozenset(
    {
        "嗯",
        "嗯嗯",
        "啊",
        "哦",
        "噢",
        "喔",
        "对",
        "对对",
        "对对对",
        "是",
        "是是",
        "好",
        "好好",
        "行",
        "哎",
        "诶",
        "唔",
        "mm",
        "mhm",
        "hmm",
        "uh huh",
        "yeah",
        "yes",
        "ok",
        "okay",
        "right",
        "sure",
        "i see",
    }
)
MAX_BACKCHANNEL_S = 0.9
#: Near the end of a prompt the question has been asked: "好" is then an answer, not a backchannel.
ANSWER_WINDOW_S = 1.0


def is_false_interruption(text: str, speech_s: float, prompt_left_s: float) -> bool:
    """True when speech over a prompt should not stop it: noise, a cough, or a short backchannel."""
    words = normalize(text)
    if not words:
        return True  # the recogniser heard no words: noise, a cough, a breath
    if prompt_left_s <= ANSWER_WINDOW_S:
        return False
    return speech_s <= MAX_BACKCHANNEL_S and words in BACKCHANNELS
